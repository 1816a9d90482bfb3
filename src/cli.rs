//! Command-line flags (clap derive) and their validation into a `Config`.
//!
//! Owns: `Args`, `Config` and the parsing of ports, addresses, states and
//! durations, and the usage checks clap cannot express (exit status 2).
//! Must not: touch the kernel or the terminal.

use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::alert::{Severity, Thresholds};
use crate::collect::SourceChoice;
use crate::collect::events::EventsChoice;
use crate::collect::namespace::NetnsTarget;
use crate::model::{Filter, IpFamily, IpPrefix, StateMask, TcpState};

/// Examples for `--help` and the man page: the command, what it does.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "tcpwatch demo",
        "the write-up's experiments on loopback, narrated (any machine)",
    ),
    (
        "tcpwatch --port 80",
        "the live dashboard for one service port",
    ),
    (
        "tcpwatch -l",
        "listeners only: accept queues against their backlog",
    ),
    (
        "tcpwatch --port 10000-10010,22 -4",
        "a port range and a port, IPv4 only",
    ),
    (
        "tcpwatch --addr 10.0.0.0/8",
        "connections with a local or remote address in 10/8",
    ),
    ("tcpwatch --once --format json", "one picture for scripts"),
    (
        "tcpwatch --once --for 5s --fail-on warning",
        "a health check: sample 5 s, exit 3 if a warning was raised",
    ),
    (
        "tcpwatch --interval 1s --count 5",
        "five pictures 1 s apart, like `vmstat 1 5`",
    ),
    (
        "tcpwatch --stream --port 443",
        "one JSON line per state change or alert",
    ),
    (
        "tcpwatch explain TIME_WAIT",
        "what a state means and how it is left",
    ),
    (
        "sudo \"$(command -v tcpwatch)\" --port 80",
        "as root: other users' process names too",
    ),
];

/// The exit statuses, for `--help` and the man page.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success (also when the output pipe is closed)"),
    (
        1,
        "runtime error: no permission, unknown PID or namespace, unreadable /proc",
    ),
    (2, "usage error: a bad flag or value"),
    (
        3,
        "--fail-on: an alert at that severity or worse was active (or raised during --for)",
    ),
];

/// What `--help` shows after the flags: examples and the exit codes.
pub fn after_help() -> String {
    let mut text = String::from("Examples:\n");
    for (command, what) in EXAMPLES {
        if command.len() > 36 {
            text.push_str(&format!("  {command}\n  {:38} {what}\n", ""));
        } else {
            text.push_str(&format!("  {command:38} {what}\n"));
        }
    }
    text.push_str("\nExit status:\n");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    text.trim_end().to_string()
}

/// Live TCP connection monitor: state counts per port, accept queues against
/// their backlog, TIME_WAIT build-up, and alerts that explain them.
#[derive(Debug, Parser)]
#[command(name = "tcpwatch", version, about, long_about = None, after_help = after_help())]
pub struct Args {
    /// Watch only connections on these ports (local or remote): 22, 22,80 or
    /// 10000-10010. Repeatable.
    #[arg(global = true, short = 'p', long = "port", value_name = "PORTS", value_parser = parse_port_list)]
    pub ports: Vec<PortList>,

    /// Count only sockets in this state (e.g. ESTABLISHED, SYN_SENT, TIME_WAIT). Repeatable.
    #[arg(global = true, long = "state", value_name = "STATE", value_parser = parse_state)]
    pub states: Vec<TcpState>,

    /// Listening sockets only (as --state LISTEN): accept queues and backlogs.
    #[arg(global = true, short = 'l', long)]
    pub listening: bool,

    /// IPv4 sockets only.
    #[arg(global = true, short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 sockets only (including IPv4-mapped ones on dual-stack sockets).
    #[arg(global = true, short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Watch only connections whose local or remote address is this address
    /// or lies in this network: 10.0.0.5, 10.0.0.0/8, ::1, fe80::/10. Comma
    /// lists and repeats are OR-ed. Listeners on a wildcard address stay.
    #[arg(global = true, long = "addr", value_name = "ADDR[/LEN]", value_parser = parse_addr_list)]
    pub addrs: Vec<AddrList>,

    /// Time between samples, e.g. 500ms, 1s, 2.5s, 1min (100ms to 1h).
    #[arg(global = true, short = 'i', long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Print the picture once and exit.
    #[arg(long)]
    pub once: bool,

    /// With --once: sample for this long at the interval, then print the
    /// picture with every alert raised meanwhile. Alerts that need several
    /// samples (CLOSE_WAIT leaks, TIME_WAIT growth, counter increases) only
    /// show with it. Expensive dumps are spaced out as in every mode; the
    /// picture notes how many samples were taken.
    #[arg(long = "for", value_name = "DURATION", requires = "once", value_parser = parse_for)]
    pub once_for: Option<Duration>,

    /// Print one JSON line per event (state change, alert raised or cleared) instead of pictures.
    #[arg(long, conflicts_with = "once")]
    pub stream: bool,

    /// Stop after this many pictures (line output) or samples (--stream),
    /// like `vmstat 1 5`; prints lines even on a terminal.
    #[arg(short = 'c', long, value_name = "N", conflicts_with = "once", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Output format for --once and for the line output (default table;
    /// --stream is always JSON).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,

    /// Where to read sockets from: netlink (sock_diag, knows backlogs), proc (/proc/net/tcp), or auto.
    #[arg(global = true, long, value_enum, default_value_t = SourceArg::Auto)]
    pub source: SourceArg,

    /// Exact kernel events from tracepoints (every state change, RST, drop and
    /// SYN-ACK retransmit): auto = on when root or CAP_PERFMON, else polling only.
    #[arg(long, value_enum, default_value_t = EventsArg::Auto)]
    pub events: EventsArg,

    /// Watch the network namespace of this process (e.g. a container's).
    #[arg(global = true, long, value_name = "PID", conflicts_with = "netns")]
    pub pid: Option<u32>,

    /// Watch the named network namespace (/run/netns/NAME).
    #[arg(global = true, long, value_name = "NAME")]
    pub netns: Option<String>,

    /// Watch every network namespace on the host (containers, pods, `ip netns`), labelled by container.
    #[arg(short = 'A', long, conflicts_with_all = ["pid", "netns"])]
    pub all_namespaces: bool,

    /// When to use colours in the dashboard.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// How often listeners are sampled between ticks, in Hz, to catch bursts.
    #[arg(global = true, long, value_name = "HZ", default_value_t = 10.0, value_parser = parse_rate)]
    pub listen_rate: f64,

    /// Ring the terminal bell when a warning or critical alert is raised.
    #[arg(long)]
    pub bell: bool,

    /// With --once: exit with status 3 when an alert this severe (or worse) is
    /// active (with --for: was raised during the run).
    #[arg(long, value_enum, value_name = "SEVERITY", requires = "once")]
    pub fail_on: Option<FailOnArg>,

    /// Alert when an accept queue reaches this % of what it holds (backlog + 1).
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = parse_percent, help_heading = "Alert thresholds", global = true)]
    pub backlog_warn: f64,

    /// Alert when a listener's SYN_RECV count reaches this % of its backlog.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = parse_percent, help_heading = "Alert thresholds", global = true)]
    pub syn_recv_warn: f64,

    /// Alert when TIME_WAIT reaches this % of net.ipv4.tcp_max_tw_buckets.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = parse_percent, help_heading = "Alert thresholds", global = true)]
    pub time_wait_warn: f64,

    /// Alert when one port gains this many TIME_WAIT sockets per second.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 100.0, value_parser = parse_positive, help_heading = "Alert thresholds", global = true)]
    pub time_wait_rate: f64,

    /// Alert when one destination uses this % of the ephemeral port range.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = parse_percent, help_heading = "Alert thresholds", global = true)]
    pub ports_warn: f64,

    /// Alert when CLOSE_WAIT sockets stay on a port for this many samples.
    #[arg(long, value_name = "SAMPLES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Alert thresholds", global = true)]
    pub close_wait_samples: u32,

    /// Also record every full tick to FILE (replay it with `tcpwatch replay FILE`).
    #[arg(long, value_name = "FILE", global = true, help_heading = "Recording")]
    pub record: Option<PathBuf>,

    /// Start a new recording segment past this size, e.g. 100MiB (the full one is renamed FILE.<start time>).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, global = true, help_heading = "Recording")]
    pub max_size: Option<u64>,

    /// Remove recording segments older than this, e.g. 24h (segments then span at most an hour).
    #[arg(long, value_name = "DURATION", value_parser = parse_keep, global = true, help_heading = "Recording")]
    pub keep: Option<Duration>,

    /// Connections kept per recorded frame (counts are always exact).
    #[arg(long, value_name = "N", default_value_t = crate::record::DEFAULT_MAX_CONNECTIONS, global = true, help_heading = "Recording")]
    pub max_connections: usize,

    #[command(subcommand)]
    pub command: Option<CommandArg>,
}

/// One `--port` value: a port, a range, or a comma list of both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

/// One `--addr` value: an address or network, or a comma list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrList(pub Vec<IpPrefix>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CommandArg {
    /// Explain a TCP state (or, with no state, print the whole state diagram):
    /// what it means, which call leads in and out, how long it lasts.
    Explain {
        /// A state name such as CLOSE_WAIT, syn-sent or TIME_WAIT.
        #[arg(value_parser = parse_state)]
        state: Option<TcpState>,
    },
    /// Print the shell completion script, e.g.
    /// `tcpwatch completions bash > /etc/bash_completion.d/tcpwatch`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff), e.g. `tcpwatch man | man -l -`.
    Man,
    /// Run the write-up's experiments on loopback (listen(1) without accept(),
    /// TIME_WAIT, CLOSE_WAIT, a refused connect) and watch them.
    Demo {
        /// Print the narration and a picture after each step instead of the dashboard.
        #[arg(long)]
        no_tui: bool,
    },
    /// Record the watched sockets to FILE until stopped (Ctrl-C, SIGTERM):
    /// every tick, compressed; the usual filters, --pid and --netns apply.
    Record {
        /// The recording to create (it must not exist).
        file: PathBuf,
    },
    /// Replay a recording: the dashboard with play/pause (space), speed
    /// (1-64x), seek (arrows) and jump to the next alert (n); or one picture
    /// (--once --at TIME) or the events again (--stream).
    Replay {
        /// A file made by `tcpwatch record` or `--record`.
        file: PathBuf,
        /// Print the picture at --at (default: the start) and exit.
        #[arg(long)]
        once: bool,
        /// Print the recorded events as JSON lines, as `--stream` did live.
        #[arg(long, conflicts_with = "once")]
        stream: bool,
        /// When: RFC 3339 (2026-11-23T21:40:12Z) or an offset from the start (+90s, +1h).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Output format for --once.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Playback speed of the dashboard, 1 to 64.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        speed: u32,
    },
    /// Serve Prometheus metrics over HTTP: each listener's accept queue against
    /// its backlog (with the peak between scrapes), states per port, TIME_WAIT,
    /// alerts and kernel counters. Takes the same watch flags as the dashboard.
    Serve {
        /// Address to listen on. The default keeps it on this machine; use
        /// 0.0.0.0:9478 to let other hosts scrape it.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9478", value_parser = parse_listen)]
        listen: std::net::SocketAddr,
        /// At most this many series per metric family; past it the fullest
        /// listeners and busiest ports are kept (see tcpwatch_series_omitted).
        #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        max_series: u32,
        /// Export every network namespace on the host (containers, pods, `ip
        /// netns`): each series gains `netns` and, where known, `container`.
        #[arg(short = 'A', long, conflicts_with_all = ["pid", "netns"])]
        all_namespaces: bool,
    },
}

/// `tcpwatch replay`: what to show of which recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayConfig {
    pub file: PathBuf,
    pub once: bool,
    pub stream: bool,
    pub at: Option<String>,
    pub format: OutputFormat,
    pub speed: u32,
}

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Watch the sockets (live, or once).
    Watch,
    /// Print the explanation of one state, or of all of them.
    Explain(Option<TcpState>),
    /// Run the experiments of the write-up and show them.
    Demo { no_tui: bool },
    /// Record to `Config::record` until stopped.
    Record,
    /// Replay `Config::replay`.
    Replay,
    /// Export metrics for Prometheus on `listen`.
    Serve {
        listen: std::net::SocketAddr,
        max_series: u32,
    },
    /// Print a shell completion script.
    Completions(Shell),
    /// Print the man page.
    ManPage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsArg {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    Auto,
    Netlink,
    Proc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// What the user asked for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub action: Action,
    pub filter: Filter,
    pub interval: Duration,
    pub once: bool,
    /// `--once --for D`: sample this long before printing.
    pub once_for: Option<Duration>,
    pub stream: bool,
    /// `--count N`: stop after N pictures (line output) or samples (stream).
    pub count: Option<u64>,
    pub format: OutputFormat,
    pub source: SourceChoice,
    /// `--events`: exact kernel events from tracepoints.
    pub events: EventsChoice,
    pub target: NetnsTarget,
    /// `--all-namespaces`: every network namespace at once.
    pub all_namespaces: bool,
    pub color: ColorArg,
    /// Time between listener-only samples.
    pub listen_interval: Duration,
    pub thresholds: Thresholds,
    pub bell: bool,
    /// `--fail-on`: the least severe alert that makes `--once` exit 3.
    pub fail_on: Option<Severity>,
    /// Where to record every full tick, with how.
    pub record: Option<crate::record::RecordOptions>,
    /// `tcpwatch replay`.
    pub replay: Option<ReplayConfig>,
}

impl Args {
    /// Parses the process's arguments; a usage error prints clap's message
    /// and exits with status 2.
    pub fn parse_config() -> Config {
        Args::parse()
            .try_into_config()
            .unwrap_or_else(|error| error.exit())
    }

    /// Checks what clap cannot express, then builds the `Config`.
    pub fn try_into_config(self) -> Result<Config, clap::Error> {
        if self.stream && self.format == Some(OutputFormat::Table) {
            return Err(Args::command().error(
                ErrorKind::ArgumentConflict,
                "--stream prints JSON lines only: drop --format table, or use --format table without --stream for pictures",
            ));
        }
        let serve_all = matches!(
            self.command,
            Some(CommandArg::Serve {
                all_namespaces: true,
                ..
            })
        );
        let records =
            self.record.is_some() || matches!(self.command, Some(CommandArg::Record { .. }));
        if (self.all_namespaces || serve_all) && records {
            return Err(Args::command().error(
                ErrorKind::ArgumentConflict,
                "--all-namespaces cannot be recorded: record one namespace at a time (--pid PID or --netns NAME instead of -A), or drop --record",
            ));
        }
        if self.all_namespaces && (self.once_for.is_some() || self.count.is_some()) {
            return Err(Args::command().error(
                ErrorKind::ArgumentConflict,
                "--all-namespaces takes one picture or watches until stopped: drop --for and --count, or watch one namespace (--pid PID or --netns NAME) for a window",
            ));
        }
        Ok(self.into_config())
    }

    /// Builds the `Config` without the checks of `try_into_config`.
    pub fn into_config(self) -> Config {
        let mut ports: Vec<u16> = self.ports.into_iter().flat_map(|list| list.0).collect();
        ports.sort_unstable();
        ports.dedup();
        let mut addrs: Vec<IpPrefix> = self.addrs.into_iter().flat_map(|list| list.0).collect();
        addrs.dedup();
        let mut asked_states = self.states;
        if self.listening {
            asked_states.push(TcpState::Listen);
        }
        let states = if asked_states.is_empty() {
            StateMask::ALL
        } else {
            StateMask::of(&asked_states)
        };
        let family = match (self.ipv4, self.ipv6) {
            (true, _) => Some(IpFamily::V4),
            (false, true) => Some(IpFamily::V6),
            (false, false) => None,
        };
        let target = match (self.pid, self.netns) {
            (Some(pid), _) => NetnsTarget::Pid(pid),
            (None, Some(name)) => NetnsTarget::Named(name),
            (None, None) => NetnsTarget::Host,
        };
        let mut record_path = self.record;
        let mut replay = None;
        let mut all_namespaces = self.all_namespaces;
        let action = match self.command {
            Some(CommandArg::Explain { state }) => Action::Explain(state),
            Some(CommandArg::Demo { no_tui }) => Action::Demo { no_tui },
            Some(CommandArg::Record { file }) => {
                record_path = Some(file);
                Action::Record
            }
            Some(CommandArg::Replay {
                file,
                once,
                stream,
                at,
                format,
                speed,
            }) => {
                replay = Some(ReplayConfig {
                    file,
                    once,
                    stream,
                    at,
                    format,
                    speed,
                });
                Action::Replay
            }
            Some(CommandArg::Serve {
                listen,
                max_series,
                all_namespaces: serve_all,
            }) => {
                all_namespaces |= serve_all;
                Action::Serve { listen, max_series }
            }
            Some(CommandArg::Completions { shell }) => Action::Completions(shell),
            Some(CommandArg::Man) => Action::ManPage,
            None => Action::Watch,
        };
        let record = record_path.map(|path| crate::record::RecordOptions {
            path,
            max_connections: self.max_connections,
            max_size: self.max_size,
            keep: self.keep,
        });
        let thresholds = Thresholds {
            backlog_nearly_full_ratio: self.backlog_warn / 100.0,
            syn_recv_ratio: self.syn_recv_warn / 100.0,
            time_wait_near_limit_ratio: self.time_wait_warn / 100.0,
            time_wait_growth_per_sec: self.time_wait_rate,
            port_exhaustion_ratio: self.ports_warn / 100.0,
            close_wait_min_ticks: self.close_wait_samples,
            ..Thresholds::default()
        };
        Config {
            action,
            filter: Filter {
                ports,
                states,
                family,
                addrs,
            },
            interval: self.interval,
            once: self.once,
            once_for: self.once_for,
            stream: self.stream,
            count: self.count,
            format: self.format.unwrap_or(OutputFormat::Table),
            source: match self.source {
                SourceArg::Auto => SourceChoice::Auto,
                SourceArg::Netlink => SourceChoice::Netlink,
                SourceArg::Proc => SourceChoice::Proc,
            },
            events: match self.events {
                EventsArg::Auto => EventsChoice::Auto,
                EventsArg::On => EventsChoice::On,
                EventsArg::Off => EventsChoice::Off,
            },
            target,
            all_namespaces,
            color: self.color,
            listen_interval: Duration::from_secs_f64(1.0 / self.listen_rate),
            thresholds,
            bell: self.bell,
            fail_on: self.fail_on.map(|level| match level {
                FailOnArg::Warning => Severity::Warning,
                FailOnArg::Critical => Severity::Critical,
            }),
            record,
            replay,
        }
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    match text.trim().parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() >= 4096 => Ok(size.as_u64()),
        _ => Err(format!(
            "'{text}' is not a size of at least 4KiB: use e.g. 100MiB, 1GiB"
        )),
    }
}

fn parse_keep(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(keep) if keep >= Duration::from_secs(60) => Ok(keep),
        _ => Err(format!(
            "'{text}' is not a duration of at least a minute: use e.g. 24h, 7days"
        )),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(0) => Err("port 0 is not a real port: use 1-65535".to_string()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("'{text}' is not a port number: use 1-65535")),
    }
}

fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("'{text}' is not an address to listen on: write IP:PORT, e.g. 127.0.0.1:9478 or [::1]:9478")
    })
}

/// `22`, `22,80`, `10000-10010`, `22,10000-10010`: the ports, in order.
fn parse_port_list(text: &str) -> Result<PortList, String> {
    let mut ports = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!(
                "'{text}' has an empty item: write e.g. 22,80 or 10000-10010"
            ));
        }
        match item.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (parse_port(low)?, parse_port(high)?);
                if low > high {
                    return Err(format!(
                        "the range '{item}' runs backwards: write {high}-{low}"
                    ));
                }
                ports.extend(low..=high);
            }
            None => ports.push(parse_port(item)?),
        }
    }
    Ok(PortList(ports))
}

/// `10.0.0.5`, `10.0.0.0/8,::1`: the prefixes, in order.
fn parse_addr_list(text: &str) -> Result<AddrList, String> {
    text.split(',')
        .map(|item| item.parse::<IpPrefix>())
        .collect::<Result<Vec<_>, _>>()
        .map(AddrList)
}

fn parse_state(text: &str) -> Result<TcpState, String> {
    text.parse::<TcpState>().map_err(|e| e.to_string())
}

fn parse_percent(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(percent) if percent > 0.0 && percent <= 100.0 => Ok(percent),
        _ => Err(format!("'{text}' is not a percentage between 1 and 100")),
    }
}

fn parse_positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("'{text}' is not a positive number")),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(hz) if (0.1..=100.0).contains(&hz) => Ok(hz),
        _ => Err(format!("'{text}' is not a rate between 0.1 and 100 Hz")),
    }
}

pub use crate::duration::parse_duration;

fn parse_interval(text: &str) -> Result<Duration, String> {
    crate::duration::parse_duration_within(
        text,
        "interval",
        Duration::from_millis(100),
        Duration::from_secs(3600),
    )
}

/// `--for`: from 100ms to a day.
fn parse_for(text: &str) -> Result<Duration, String> {
    crate::duration::parse_duration_within(
        text,
        "--for",
        Duration::from_millis(100),
        Duration::from_secs(24 * 3600),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut argv = vec!["tcpwatch"];
        argv.extend_from_slice(args);
        Args::try_parse_from(argv).and_then(Args::try_into_config)
    }

    #[test]
    fn defaults_watch_everything_every_second() {
        let config = parse(&[]).expect("no flags is valid");
        assert_eq!(config.interval, Duration::from_secs(1));
        assert!(config.filter.ports.is_empty());
        assert!(config.filter.states.is_all());
        assert_eq!(config.target, NetnsTarget::Host);
        assert_eq!(config.listen_interval, Duration::from_millis(100));
    }

    #[test]
    fn ports_and_states_are_collected() {
        let config = parse(&[
            "--port", "10000", "-p", "22", "--port", "22", "--state", "syn-sent",
        ])
        .expect("valid");
        assert_eq!(config.filter.ports, vec![22, 10000]);
        assert_eq!(config.filter.states, StateMask::of(&[TcpState::SynSent]));
    }

    #[test]
    fn bad_values_name_the_fix() {
        for (args, needle) in [
            (vec!["--port", "abc"], "use 1-65535"),
            (vec!["--port", "70000"], "use 1-65535"),
            (vec!["--port", "0"], "port 0"),
            (vec!["--state", "SYN_WAIT"], "use one of"),
            (vec!["--interval", "fast"], "500ms"),
            (vec!["--interval", "10ms"], "between 100ms"),
            (vec!["--pid", "1", "--netns", "x"], "cannot be used with"),
            (
                vec!["--all-namespaces", "--pid", "1"],
                "cannot be used with",
            ),
            (vec!["-A", "--netns", "x"], "cannot be used with"),
        ] {
            let err = parse(&args).expect_err("must be rejected").to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn port_lists_and_ranges_are_expanded_sorted_and_deduplicated() {
        let config =
            parse(&["--port", "22,80", "--port", "10000-10003", "-p", "80"]).expect("valid");
        assert_eq!(
            config.filter.ports,
            vec![22, 80, 10000, 10001, 10002, 10003]
        );
        assert_eq!(config.filter.describe(), "port 22,80,10000-10003");
        for (args, needle) in [
            (
                vec!["--port", "10010-10000"],
                "runs backwards: write 10000-10010",
            ),
            (vec!["--port", "22,"], "empty item"),
            (vec!["--port", "0-10"], "port 0"),
            (vec!["--port", "1-70000"], "use 1-65535"),
        ] {
            let err = parse(&args).expect_err("must be rejected").to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn family_listening_and_address_flags_fill_the_filter() {
        let config = parse(&[
            "-4",
            "-l",
            "--addr",
            "10.0.0.0/8,192.168.1.5",
            "--addr",
            "::1",
        ])
        .expect("valid");
        assert_eq!(config.filter.family, Some(IpFamily::V4));
        assert_eq!(config.filter.states, StateMask::of(&[TcpState::Listen]));
        let addrs: Vec<String> = config
            .filter
            .addrs
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(addrs, ["10.0.0.0/8", "192.168.1.5", "::1"]);
        assert_eq!(
            parse(&["-6"]).expect("valid").filter.family,
            Some(IpFamily::V6)
        );
        assert_eq!(parse(&[]).expect("valid").filter.family, None);
        let both = parse(&["-l", "--state", "SYN_RECV"]).expect("valid");
        assert_eq!(
            both.filter.states,
            StateMask::of(&[TcpState::SynRecv, TcpState::Listen])
        );
        for (args, needle) in [
            (vec!["-4", "-6"], "cannot be used with"),
            (vec!["--addr", "10.0.0.0/40"], "0-32"),
            (vec!["--addr", "example.com"], "not an IP address"),
        ] {
            let err = parse(&args).expect_err("must be rejected").to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn count_for_and_the_stream_format_are_checked() {
        assert_eq!(parse(&["--count", "5"]).expect("valid").count, Some(5));
        let once_for = parse(&["--once", "--for", "3s"]).expect("valid");
        assert_eq!(once_for.once_for, Some(Duration::from_secs(3)));
        assert_eq!(
            parse(&["--stream", "--format", "json"])
                .expect("valid")
                .format,
            OutputFormat::Json
        );
        for (args, needle) in [
            (vec!["--count", "0"], "0"),
            (vec!["--once", "--count", "2"], "cannot be used with"),
            (vec!["--for", "3s"], "--once"),
            (vec!["--once", "--for", "1e3"], "not a duration"),
            (
                vec!["--stream", "--format", "table"],
                "--stream prints JSON lines only",
            ),
            (
                vec!["-A", "--once", "--for", "3s"],
                "drop --for and --count",
            ),
            (vec!["-A", "--count", "3"], "drop --for and --count"),
        ] {
            let err = parse(&args).expect_err("must be rejected");
            assert_eq!(err.exit_code(), 2, "{args:?}: usage errors exit 2");
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn completions_and_man_are_subcommands() {
        assert_eq!(
            parse(&["completions", "zsh"]).expect("valid").action,
            Action::Completions(Shell::Zsh)
        );
        assert_eq!(parse(&["man"]).expect("valid").action, Action::ManPage);
        let err = parse(&["completions", "tcsh"]).expect_err("unknown shell");
        assert!(err.to_string().contains("bash"), "{err}");
    }

    #[test]
    fn serve_takes_the_watch_flags_and_its_own() {
        let config = parse(&["serve"]).expect("valid");
        assert_eq!(
            config.action,
            Action::Serve {
                listen: "127.0.0.1:9478".parse().expect("addr"),
                max_series: 2000
            }
        );
        let config = parse(&[
            "serve",
            "--listen",
            "[::1]:9100",
            "--port",
            "10000",
            "--interval",
            "2s",
            "--backlog-warn",
            "90",
            "--max-series",
            "50",
        ])
        .expect("watch flags after the subcommand");
        assert_eq!(config.filter.ports, vec![10000]);
        assert_eq!(config.interval, Duration::from_secs(2));
        assert!(!config.all_namespaces);
        for args in [
            &["serve", "--all-namespaces"][..],
            &["-A", "serve"],
            &["serve", "-A"],
        ] {
            assert!(parse(args).expect("valid").all_namespaces, "{args:?}");
        }
        assert!((config.thresholds.backlog_nearly_full_ratio - 0.9).abs() < 1e-9);
        assert_eq!(
            config.action,
            Action::Serve {
                listen: "[::1]:9100".parse().expect("addr"),
                max_series: 50
            }
        );
        for (args, needle) in [
            (vec!["serve", "--listen", "9478"], "IP:PORT"),
            (
                vec!["serve", "--listen", "localhost:9478"],
                "127.0.0.1:9478",
            ),
            (vec!["serve", "--max-series", "0"], "0"),
            (vec!["serve", "-A", "--netns", "blue"], "--netns"),
        ] {
            let err = parse(&args).expect_err("must be rejected").to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn explain_takes_an_optional_state() {
        assert_eq!(
            parse(&["explain"]).expect("valid").action,
            Action::Explain(None)
        );
        assert_eq!(
            parse(&["explain", "close-wait"]).expect("valid").action,
            Action::Explain(Some(TcpState::CloseWait))
        );
        let err = parse(&["explain", "WAITING"])
            .expect_err("bad state")
            .to_string();
        assert!(err.contains("CLOSE_WAIT"), "{err}");
    }

    #[test]
    fn thresholds_and_fail_on_are_validated() {
        let config = parse(&[
            "--once",
            "--fail-on",
            "warning",
            "--backlog-warn",
            "90%",
            "--close-wait-samples",
            "5",
        ])
        .expect("valid");
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert!((config.thresholds.backlog_nearly_full_ratio - 0.9).abs() < 1e-9);
        assert_eq!(config.thresholds.close_wait_min_ticks, 5);
        for (args, needle) in [
            (vec!["--fail-on", "critical"], "--once"),
            (vec!["--once", "--fail-on", "info"], "warning"),
            (vec!["--backlog-warn", "0"], "between 1 and 100"),
            (vec!["--time-wait-rate", "0"], "positive"),
            (vec!["--close-wait-samples", "0"], "0"),
        ] {
            let err = parse(&args).expect_err("must be rejected").to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("-1s").is_err());
    }
}
