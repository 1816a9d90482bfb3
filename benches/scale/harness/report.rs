//! Results of the scale benchmark and how they are printed: a detail block
//! per size as it finishes, then the side-by-side table.
//!
//! Owns: `SizeResult`, `Timings`, `Census`, `DashboardResult`, medians,
//! percentiles, ratios and the table layout. Must not: measure or touch the system.

use tcpwatch::model::TcpState;

use super::options::Options;
use super::plan::{BUSY_PORT, Expected, FULL_QUEUE_ADDR, FULL_QUEUE_PORT};

/// Wall times in milliseconds, one entry per round.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub rounds: usize,
    pub bare_one: Vec<f64>,
    pub bare_two: Vec<f64>,
    /// One walk with TIME_WAIT masked out in the kernel.
    pub bare_no_time_wait: Vec<f64>,
    pub tick: Vec<f64>,
    /// The `Sampler::sample` part of `tick`.
    pub tick_sample: Vec<f64>,
    /// CPU (user + system, every thread of the process) of `bare_one` and
    /// of `tick`: the tick decodes big walks on a second thread, so its
    /// wall time alone would hide that work.
    pub bare_one_cpu: Vec<f64>,
    pub tick_cpu: Vec<f64>,
    pub port_tick: Vec<f64>,
    pub streamed: Vec<f64>,
    pub listeners: Vec<f64>,
    pub ss: Vec<f64>,
    pub ss_port: Vec<f64>,
    pub exec_true: Vec<f64>,
    /// `tcpwatch --netns NAME --once --format json` as a whole process.
    pub once: Vec<f64>,
    /// The CPU (user + system) of that process.
    pub once_cpu: Vec<f64>,
    /// The same with the binary `TCPWATCH_BENCH_ONCE_BEFORE` names, timed
    /// in the same rounds (empty when it is not set).
    pub once_before: Vec<f64>,
    pub once_before_cpu: Vec<f64>,
}

/// Sockets the kernel reported, by state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    counts: [u64; 11],
}

impl Census {
    pub fn add(&mut self, state: TcpState) {
        self.counts[state.index()] += 1;
    }

    pub fn get(&self, state: TcpState) -> u64 {
        self.counts[state.index()]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// One line per state that is short of the plan; lines starting with
    /// "FAIL" mean the table is not what the benchmark claims to measure.
    pub fn shortfalls(&self, expected: &Expected) -> Vec<String> {
        let wanted = [
            (TcpState::Established, expected.established),
            (TcpState::TimeWait, expected.time_wait),
            (TcpState::FinWait2, expected.fin_wait2),
            (TcpState::CloseWait, expected.close_wait),
            (TcpState::Listen, expected.listen),
        ];
        wanted
            .iter()
            .filter_map(|&(state, want)| {
                let got = self.get(state);
                let want = want as u64;
                if got * 100 < want * 90 {
                    Some(format!("FAIL: {} {got}, planned {want}", state.name()))
                } else if got < want {
                    Some(format!("{} {got}, planned {want}", state.name()))
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn describe(&self) -> String {
        TcpState::ALL
            .iter()
            .filter(|s| self.get(**s) > 0)
            .map(|s| format!("{} {}", s.name(), self.get(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything measured at one size.
#[derive(Debug, Clone, Default)]
pub struct SizeResult {
    /// N as asked.
    pub size: usize,
    pub holders: usize,
    pub census: Census,
    pub held_build_secs: f64,
    pub tw_build_secs: f64,
    /// One-walk dump of the namespace before it was populated.
    pub empty_walk_ms: f64,
    /// Seconds waited for an earlier namespace's teardown before building.
    pub teardown_wait_secs: f64,
    pub timings: Timings,
    pub reps_asked: usize,
    /// Sockets a full tick counted, and a `--port` tick's.
    pub tick_sockets: usize,
    /// Records the full tick's snapshot kept (the sampler's retention
    /// limit caps it).
    pub tick_kept: usize,
    pub port_sockets: usize,
    /// The first full tick, which also scans /proc/*/fd for owners.
    pub first_tick_ms: f64,
    pub rss_base_kib: u64,
    pub rss_peak_kib: u64,
    pub listener_cpu_percent: f64,
    pub listener_calls: usize,
    pub listener_secs: f64,
    /// sockstat's TIME_WAIT count, lowest and highest seen at the start and
    /// end of every round.
    pub time_wait_min: Option<u64>,
    pub time_wait_max: Option<u64>,
    /// TIME_WAIT generations built (rounds outlasting one wait and rebuild).
    pub generations: usize,
    /// Seconds from the start of the TIME_WAIT build to the last round.
    pub measured_secs: f64,
    pub notes: Vec<String>,
    /// What the alert rules found in the table, checked against the plan.
    pub checks: Vec<String>,
    /// The live dashboard, when measured at this size.
    pub dashboard: Option<DashboardResult>,
    /// Why the dashboard measurement failed (the rest of the size stands).
    pub dashboard_error: Option<String>,
    /// `tcpwatch serve` scraped every second, when measured at this size.
    pub serve: Option<ServeResult>,
    pub serve_error: Option<String>,
    /// `--live-only`: no collector figures (timings, checks, probes).
    pub live_only: bool,
}

/// The real binary's `serve`, scraped once a second over loopback.
#[derive(Debug, Clone, Default)]
pub struct ServeResult {
    pub binary: String,
    /// From spawning to the first 200 on /metrics.
    pub startup_secs: f64,
    pub window_secs: f64,
    /// utime + stime of the process over the window, % of one core.
    pub cpu_percent: f64,
    pub hwm_kib: u64,
    /// VmRSS at the start of the window, every 5 s, and at its end.
    pub rss_kib: Vec<u64>,
    /// Each scrape, connect to last byte.
    pub scrape_ms: Vec<f64>,
    /// The scrapes sent while serve's sampling thread was running (a dump
    /// in progress): they would be slow if a scrape waited for a dump.
    pub busy_scrape_ms: Vec<f64>,
    /// sockstat's TIME_WAIT count before and after the run.
    pub time_wait_before: Option<u64>,
    pub time_wait_after: Option<u64>,
    /// The last scrape's size and sample lines.
    pub body_bytes: usize,
    pub series: usize,
    /// The listen(1) listener's accept-queue line in the last scrape.
    pub full_listener_line: Option<String>,
    pub clean_exit: bool,
    pub ended: String,
}

/// One key press sent to the dashboard.
#[derive(Debug, Clone, Copy, Default)]
pub struct Press {
    /// From writing the key to the parsed screen showing its effect; `None`
    /// when it did not show within the limit.
    pub latency_ms: Option<f64>,
    /// Whether the binary's sampling thread was running just before (a
    /// dump in progress, nearly always).
    pub sampler_busy: bool,
    /// Whether its UI thread was running just before.
    pub ui_busy: bool,
}

/// The real binary's dashboard in a pty, watching the table.
#[derive(Debug, Clone, Default)]
pub struct DashboardResult {
    pub binary: String,
    /// From spawning to the first full sample on screen.
    pub startup_secs: f64,
    pub warmup_secs: f64,
    pub window_asked_secs: f64,
    /// The CPU window as measured (shorter than asked when the TIME_WAIT
    /// generation would not have lasted it).
    pub window_secs: f64,
    /// utime + stime of the process over the window, % of one core.
    pub cpu_percent: f64,
    /// VmHWM at the end of the window.
    pub hwm_kib: u64,
    /// VmRSS at the start of the window, every 5 s, and at its end.
    pub rss_kib: Vec<u64>,
    pub presses: Vec<Press>,
    /// The first two screen lines at the end (help closed).
    pub header: Vec<String>,
    pub screen: String,
    /// sockstat's TIME_WAIT count before and after the run.
    pub time_wait_before: Option<u64>,
    pub time_wait_after: Option<u64>,
    pub clean_exit: bool,
    pub ended: String,
}

impl DashboardResult {
    /// Latencies of the presses that showed, sorted.
    pub fn latencies(&self) -> Vec<f64> {
        let mut shown: Vec<f64> = self.presses.iter().filter_map(|p| p.latency_ms).collect();
        shown.sort_by(f64::total_cmp);
        shown
    }

    pub fn missed(&self) -> usize {
        self.presses
            .iter()
            .filter(|p| p.latency_ms.is_none())
            .count()
    }

    /// How the full `listen(1)` listener shows on the final screen: its
    /// queue, `2/1 FULL`, in the listeners panel, or else the alert
    /// `backlog full on 127.3.0.1:7000` (large tables fill the screen with
    /// alerts and push the panel off it).
    pub fn full_listener_shown(&self) -> Option<&'static str> {
        let alert = format!("backlog full on {FULL_QUEUE_ADDR}:{FULL_QUEUE_PORT}");
        if self.screen.contains(FULL_QUEUE_MARK) {
            Some("2/1 FULL in the listeners panel")
        } else if self.screen.contains(&alert) {
            Some("only as the alert, backlog full on its address")
        } else {
            None
        }
    }
}

/// The full listener's queue as the listeners panel shows it.
pub const FULL_QUEUE_MARK: &str = "2/1 FULL";

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// 10000 → "10k", 1000000 → "1M".
pub fn human_count(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(100_000) {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn duration_ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0} ms")
    } else if value >= 1.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

pub fn print_preamble(options: &Options) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "tcpwatch scale benchmark: sizes {}, {} rounds, {cores} cores, Linux {}",
        options
            .sizes
            .iter()
            .map(|s| human_count(*s))
            .collect::<Vec<_>>()
            .join(","),
        options.reps,
        kernel.trim()
    );
    println!(
        "SocketRecord is {} bytes; a full tick keeps two snapshots (current and previous).",
        std::mem::size_of::<tcpwatch::model::SocketRecord>()
    );
    println!(
        "Each size gets a fresh namespace. TIME_WAIT is built last and every round runs within its 60 s lifetime;\n\
         when rounds outlast it, they wait for it to expire and have it rebuilt (a new generation)."
    );
}

pub fn print_size_detail(r: &SizeResult) {
    println!(
        "  table: {} sockets ({})",
        r.census.total(),
        r.census.describe()
    );
    println!(
        "  {} holders; held sockets built in {:.1} s, TIME_WAIT in {:.1} s; empty-namespace walk {} (after waiting {:.0} s for earlier tables' teardown)",
        r.holders,
        r.held_build_secs,
        r.tw_build_secs,
        duration_ms(r.empty_walk_ms),
        r.teardown_wait_secs
    );
    if r.live_only {
        println!("  --live-only: no collector rounds");
    } else {
        print_collector_detail(r);
    }
    if let Some(d) = &r.dashboard {
        print_dashboard_detail(d);
    }
    if let Some(error) = &r.dashboard_error {
        println!("  dashboard: FAILED: {error}");
    }
    if let Some(serve) = &r.serve {
        print_serve_detail(serve);
    }
    if let Some(error) = &r.serve_error {
        println!("  serve: FAILED: {error}");
    }
    for note in &r.notes {
        println!("  note: {note}");
    }
}

fn print_collector_detail(r: &SizeResult) {
    let t = &r.timings;
    let m = median;
    println!(
        "  {} of {} rounds over {} TIME_WAIT generation(s), done {:.0} s after the first build began; sockstat tw during rounds {}–{}",
        t.rounds,
        r.reps_asked,
        r.generations,
        r.measured_secs,
        r.time_wait_min.map_or("?".to_string(), |v| v.to_string()),
        r.time_wait_max.map_or("?".to_string(), |v| v.to_string())
    );
    println!(
        "  full tick {} = sample {} + aggregate/diff/drop {}; {} sockets counted, {} records kept ({} counted with --port {BUSY_PORT})",
        duration_ms(m(&t.tick)),
        duration_ms(m(&t.tick_sample)),
        duration_ms(m(&t.tick) - m(&t.tick_sample)),
        r.tick_sockets,
        r.tick_kept,
        r.port_sockets
    );
    println!(
        "  CPU of every thread: full tick {} against {} for the bare 1-walk ({:.2}×; the walk is decoded beside the kernel's, so the tick's wall time is less than its CPU)",
        duration_ms(m(&t.tick_cpu)),
        duration_ms(m(&t.bare_one_cpu)),
        m(&t.tick_cpu) / m(&t.bare_one_cpu)
    );
    println!(
        "  first full tick (cold, with the /proc/*/fd owner scan) {}; bare 1-walk with TIME_WAIT masked out in the kernel {}",
        duration_ms(r.first_tick_ms),
        duration_ms(m(&t.bare_no_time_wait))
    );
    println!(
        "  streamed tick (aggregate while receiving, no Vec) {}; ip netns exec true {}",
        duration_ms(m(&t.streamed)),
        duration_ms(m(&t.exec_true))
    );
    println!(
        "  tcpwatch --once --format json (the whole process: start, namespace, dump, counters, owners, rules, JSON) {} = {:.2}× bare 1-walk; CPU {}",
        duration_ms(m(&t.once)),
        m(&t.once) / m(&t.bare_one),
        duration_ms(m(&t.once_cpu))
    );
    if !t.once_before.is_empty() {
        println!(
            "  the same with the TCPWATCH_BENCH_ONCE_BEFORE binary, in the same rounds: {} = {:.2}× bare 1-walk; CPU {}",
            duration_ms(m(&t.once_before)),
            m(&t.once_before) / m(&t.bare_one),
            duration_ms(m(&t.once_before_cpu))
        );
    }
    for check in &r.checks {
        println!("  check: {check}");
    }
    println!(
        "  peak RSS of full ticks {:.1} MiB (process baseline {:.1} MiB); listener sampler at 10 Hz: {:.2}% of a core ({} calls in {:.0} s)",
        r.rss_peak_kib as f64 / 1024.0,
        r.rss_base_kib as f64 / 1024.0,
        r.listener_cpu_percent,
        r.listener_calls,
        r.listener_secs
    );
}

fn print_serve_detail(s: &ServeResult) {
    let mut sorted = s.scrape_ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "  serve: {} serve --netns NAME --interval {}, scraped every 1 s; first 200 after {:.1} s; {:.1}% of a core over {:.0} s; VmHWM {} MiB (VmRSS {})",
        s.binary,
        super::serve::INTERVAL,
        s.startup_secs,
        s.cpu_percent,
        s.window_secs,
        mib(s.hwm_kib),
        s.rss_kib
            .iter()
            .map(|k| mib(*k))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  serve: {} scrapes, p50 {} p90 {} max {}; {} bytes, {} samples; {}; {}",
        sorted.len(),
        duration_ms(percentile(&sorted, 50.0)),
        duration_ms(percentile(&sorted, 90.0)),
        duration_ms(sorted.last().copied().unwrap_or(f64::NAN)),
        s.body_bytes,
        s.series,
        s.full_listener_line
            .as_deref()
            .unwrap_or("the listen(1) listener was NOT in the scrape"),
        s.ended
    );
    println!(
        "  serve: {} scrapes sent while its sampler was dumping (max {}); sockstat tw before/after {}/{}",
        s.busy_scrape_ms.len(),
        s.busy_scrape_ms
            .iter()
            .copied()
            .reduce(f64::max)
            .map_or("-".to_string(), duration_ms),
        s.time_wait_before
            .map_or("?".to_string(), |v| v.to_string()),
        s.time_wait_after.map_or("?".to_string(), |v| v.to_string()),
    );
}

/// serve beside the dashboard (Markdown), where either was measured.
fn print_serve_table(results: &[SizeResult]) {
    if !results.iter().any(|r| r.serve.is_some()) {
        return;
    }
    println!(
        "
`tcpwatch serve --interval 1s`, scraped every second, beside the dashboard:\n"
    );
    println!(
        "| N | serve cpu | dash cpu | serve/dash | scrape p50/p90/max | during a dump (max) | scrape size | serve VmHWM | dash VmHWM |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let Some(s) = &r.serve else { continue };
        let mut sorted = s.scrape_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let (dash_cpu, ratio, dash_hwm) = r.dashboard.as_ref().map_or_else(
            || ("-".to_string(), "-".to_string(), "-".to_string()),
            |d| {
                (
                    format!("{:.1}%", d.cpu_percent),
                    format!("{:.2}×", s.cpu_percent / d.cpu_percent),
                    format!("{} MiB", mib(d.hwm_kib)),
                )
            },
        );
        let during_dump = format!(
            "{} ({})",
            s.busy_scrape_ms.len(),
            s.busy_scrape_ms
                .iter()
                .copied()
                .reduce(f64::max)
                .map_or("-".to_string(), |ms| format!("{ms:.2} ms"))
        );
        println!(
            "| {} | {:.1}% | {dash_cpu} | {ratio} | {:.2}/{:.2}/{:.2} ms | {during_dump} | {:.0} KiB | {} MiB | {dash_hwm} |",
            human_count(r.size),
            s.cpu_percent,
            percentile(&sorted, 50.0),
            percentile(&sorted, 90.0),
            sorted.last().copied().unwrap_or(f64::NAN),
            s.body_bytes as f64 / 1024.0,
            mib(s.hwm_kib),
        );
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

fn print_dashboard_detail(d: &DashboardResult) {
    println!(
        "  dashboard: {} --netns NAME --interval {} in a {}x{} pty; first full sample on screen after {:.1} s",
        d.binary,
        super::dashboard::INTERVAL,
        super::dashboard::COLS,
        super::dashboard::ROWS,
        d.startup_secs
    );
    let shortened = if d.window_secs + 0.5 < d.window_asked_secs {
        format!(
            " (asked {:.0} s; cut to fit the TIME_WAIT generation)",
            d.window_asked_secs
        )
    } else {
        String::new()
    };
    println!(
        "    CPU {:.1}% of one core over {:.1} s{shortened} after a {:.0} s warm-up; VmHWM {} MiB; VmRSS every 5 s: {} MiB",
        d.cpu_percent,
        d.window_secs,
        d.warmup_secs,
        mib(d.hwm_kib),
        d.rss_kib
            .iter()
            .map(|k| mib(*k))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let shown = d.latencies();
    let busy: Vec<f64> = d
        .presses
        .iter()
        .filter(|p| p.sampler_busy)
        .filter_map(|p| p.latency_ms)
        .collect();
    let ui_busy = d.presses.iter().filter(|p| p.ui_busy).count();
    println!(
        "    keys ('?' toggles the help overlay; {} presses at random phases): p50 {}, p90 {}, max {}{}; {} pressed while the sampling thread ran (max {}), {} while the UI thread did",
        d.presses.len(),
        duration_ms(percentile(&shown, 50.0)),
        duration_ms(percentile(&shown, 90.0)),
        duration_ms(percentile(&shown, 100.0)),
        match d.missed() {
            0 => String::new(),
            n => format!(", {n} never showed"),
        },
        busy.len(),
        if busy.is_empty() {
            "-".to_string()
        } else {
            duration_ms(busy.iter().copied().fold(0.0, f64::max))
        },
        ui_busy
    );
    println!(
        "    sockstat tw before/after {}/{}; {}; the full listen(1) listener on screen: {}",
        d.time_wait_before
            .map_or("?".to_string(), |v| v.to_string()),
        d.time_wait_after.map_or("?".to_string(), |v| v.to_string()),
        d.ended,
        d.full_listener_shown().unwrap_or("NO")
    );
    for line in &d.header {
        println!("    | {line}");
    }
}

/// 0.61, 3.3, 41: key latencies are often under a millisecond.
fn two_digits(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2}")
    } else if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// The three dashboard cells of the table: cpu, rss, keys.
fn dashboard_cells(r: &SizeResult) -> [String; 3] {
    let Some(d) = &r.dashboard else {
        let why = if r.dashboard_error.is_some() {
            "failed"
        } else {
            "–"
        };
        return [why.to_string(), why.to_string(), why.to_string()];
    };
    let shown = d.latencies();
    let first = d.rss_kib.first().copied().unwrap_or(0);
    let last = d.rss_kib.last().copied().unwrap_or(0);
    let missed = match d.missed() {
        0 => String::new(),
        n => format!(" ({n} missed)"),
    };
    [
        format!("{:.1}%", d.cpu_percent),
        format!("{} MiB ({}→{})", mib(d.hwm_kib), mib(first), mib(last)),
        format!(
            "{}/{}/{} ms{missed}",
            two_digits(percentile(&shown, 50.0)),
            two_digits(percentile(&shown, 90.0)),
            two_digits(percentile(&shown, 100.0))
        ),
    ]
}

/// The side-by-side table (Markdown), medians of the rounds.
pub fn print_table(results: &[SizeResult]) {
    if results.iter().all(|r| r.live_only) {
        print_serve_table(results);
        return;
    }
    println!(
        "\nMedians; ss runs through `ip netns exec` (its own overhead is listed in the detail above). port = {BUSY_PORT}.\n"
    );
    println!(
        "| N | bare 1-walk | bare 2-walk | full tick | tick/1-walk | --once | once/1-walk | ss -tan | tick/ss | port tick | ss filtered | ratio | streamed | listeners | RSS | dash cpu | dash rss | key p50/p90/max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results.iter().filter(|r| !r.live_only) {
        let t = &r.timings;
        let m = median;
        let [dash_cpu, dash_rss, keys] = dashboard_cells(r);
        println!(
            "| {} | {} | {} | {} | {:.2}× | {} | {:.2}× | {} | {:.2}× | {} | {} | {:.2}× | {} | {} | {:.0} MiB | {dash_cpu} | {dash_rss} | {keys} |",
            human_count(r.size),
            duration_ms(m(&t.bare_one)),
            duration_ms(m(&t.bare_two)),
            duration_ms(m(&t.tick)),
            m(&t.tick) / m(&t.bare_one),
            duration_ms(m(&t.once)),
            m(&t.once) / m(&t.bare_one),
            duration_ms(m(&t.ss)),
            m(&t.tick) / m(&t.ss),
            duration_ms(m(&t.port_tick)),
            duration_ms(m(&t.ss_port)),
            m(&t.port_tick) / m(&t.ss_port),
            duration_ms(m(&t.streamed)),
            duration_ms(m(&t.listeners)),
            r.rss_peak_kib as f64 / 1024.0
        );
    }
    print_serve_table(results);
}
