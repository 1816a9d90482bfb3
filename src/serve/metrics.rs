//! The metrics model: turns the latest full tick's figures (`Facts`) into
//! Prometheus families with the official `prometheus-client` crate, encoded
//! once per tick in both the Prometheus text format (0.0.4) and OpenMetrics.
//! The accept-queue peak is the one family that depends on who scrapes, so
//! it is encoded per scrape (`encode_peaks`) and spliced in.
//!
//! Naming: base units, `_total` on counters, node_exporter's tcpstat
//! spelling for states, and a `tcpwatch_kernel_` prefix on the kernel's own
//! counters so nobody mistakes them for node_exporter's `node_netstat_*`.
//!
//! Owns: `Facts`, `Exposition`, the metric names and help texts. Must not:
//! do I/O, read the clock, or decide which series fit (that is `select`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, prometheus_text, text};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::select::{
    ListenerRow, busiest_ports, fullest_listeners, listener_rows, most_severe_alerts, states_in,
};
use crate::alert::Alert;
use crate::model::{
    Aggregates, Counter as KernelCounter, Counters, Filter, PortStates, Settings, Sockstat,
    SourceKind, StateMask, TcpState,
};

/// The exposition formats a scraper can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`: what `promtool check metrics` reads.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// What an exposition is built from: the latest full tick, with the
/// exporter's own running totals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts {
    pub taken_at_ms: u64,
    pub sample_duration: Duration,
    pub source: SourceKind,
    pub namespace: String,
    pub filter: Filter,
    /// Non-LISTEN sockets that matched the filter.
    pub table_size: u64,
    pub aggregates: Aggregates,
    pub active_alerts: Vec<Alert>,
    /// The latest counters (a totals-only tick may be newer than the dump).
    pub counters: Counters,
    pub sockstat: Option<Sockstat>,
    pub settings: Settings,
    /// ListenOverflows growth blamed on each listening address so far.
    pub overflows: HashMap<SocketAddr, u64>,
    /// Full samples that failed since the start.
    pub failed_samples: u64,
}

/// How many series a family may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExportOptions {
    pub max_series: usize,
}

/// The labels of every `tcpwatch_listener_*` series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ListenerLabels {
    pub listen: String,
    pub port: String,
    /// The owning process's name; empty when unknown.
    pub process: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PortStateLabels {
    port: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    kind: &'static str,
    severity: &'static str,
    subject: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: &'static str,
}

/// Which namespace a series belongs to: no labels when one namespace is
/// watched; with `--all-namespaces`, `netns` (its `ip netns` name, `host`,
/// or its inode) and `container` where one is known.
pub(crate) type Scope = Vec<(&'static str, String)>;

/// A listening address in a namespace (`netns` 0 when only one is
/// watched): the key of the per-scraper peaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ListenerKey {
    pub netns: u64,
    pub local: SocketAddr,
}

impl ListenerKey {
    pub fn single(local: SocketAddr) -> ListenerKey {
        ListenerKey { netns: 0, local }
    }
}

/// One namespace's facts, and what says which namespace they are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    /// Its inode (0 when only one namespace is watched).
    pub netns: u64,
    pub scope: &'a Scope,
    pub facts: &'a Facts,
}

/// What `tcpwatch_watch_info` says: what is watched, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Watching {
    pub namespace: String,
    pub source: &'static str,
    pub filter: String,
    /// Full samples that failed since the start.
    pub failed_samples: u64,
}

impl Watching {
    pub fn of(facts: &Facts) -> Watching {
        Watching {
            namespace: facts.namespace.clone(),
            source: facts.source.name(),
            filter: facts.filter.describe(),
            failed_samples: facts.failed_samples,
        }
    }
}

/// A listener that is exported, for the per-scrape peak family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportedListener {
    pub labels: (Scope, ListenerLabels),
    pub key: ListenerKey,
    /// The queue at the tick: the peak is never below it.
    pub accept_queue: u32,
}

/// One tick, encoded: everything but the peaks, in both formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exposition {
    /// OpenMetrics without its closing `# EOF`.
    pub openmetrics: String,
    pub prometheus: String,
    pub listeners: Vec<ExportedListener>,
}

impl Exposition {
    /// The tick's text in `format`, with the peaks and (OpenMetrics) `# EOF`.
    pub fn with_peaks(&self, format: Format, peak_of: impl Fn(&ListenerKey) -> u32) -> String {
        let base = match format {
            Format::Prometheus => &self.prometheus,
            Format::OpenMetrics => &self.openmetrics,
        };
        let mut out = String::with_capacity(base.len() + self.listeners.len() * 96 + 256);
        out.push_str(base);
        encode_peaks(&self.listeners, peak_of, format, &mut out);
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        out
    }
}

/// The name (without `tcpwatch_kernel_` and `_total`) of a kernel counter.
pub(crate) fn kernel_metric_name(counter: KernelCounter) -> &'static str {
    match counter {
        KernelCounter::ListenOverflows => "listen_overflows",
        KernelCounter::ListenDrops => "listen_drops",
        KernelCounter::TcpTimeWaitOverflow => "time_wait_overflow",
        KernelCounter::TimeWaitClosed => "time_wait_closed",
        KernelCounter::TcpReqQFullDrop => "req_q_full_drop",
        KernelCounter::TcpReqQFullDoCookies => "req_q_full_do_cookies",
        KernelCounter::SyncookiesSent => "syncookies_sent",
        KernelCounter::TcpAbortOnOverflow => "abort_on_overflow",
        KernelCounter::ActiveOpens => "active_opens",
        KernelCounter::PassiveOpens => "passive_opens",
        KernelCounter::AttemptFails => "attempt_fails",
        KernelCounter::EstabResets => "estab_resets",
        KernelCounter::CurrEstab => "curr_estab",
        KernelCounter::RetransSegs => "retrans_segs",
        KernelCounter::OutRsts => "out_rsts",
    }
}

/// The state label value, as node_exporter's tcpstat collector spells it.
pub(crate) fn state_label(state: TcpState) -> &'static str {
    match state {
        TcpState::Established => "established",
        TcpState::SynSent => "syn_sent",
        TcpState::SynRecv => "syn_recv",
        TcpState::FinWait1 => "fin_wait1",
        TcpState::FinWait2 => "fin_wait2",
        TcpState::TimeWait => "time_wait",
        TcpState::Close => "close",
        TcpState::CloseWait => "close_wait",
        TcpState::LastAck => "last_ack",
        TcpState::Listen => "listen",
        TcpState::Closing => "closing",
    }
}

type GaugeF64 = Gauge<f64, AtomicU64>;

/// Encodes one tick of one namespace. Pure: the same facts give the same text.
pub(crate) fn render(facts: &Facts, options: ExportOptions) -> Exposition {
    let scope = Scope::new();
    render_members(
        &[Member {
            netns: 0,
            scope: &scope,
            facts,
        }],
        &Watching::of(facts),
        options,
    )
}

/// Encodes the latest facts of several namespaces into one exposition:
/// every family holds every namespace's series (told apart by their scope
/// labels), and `--max-series` caps each family across all of them.
pub(crate) fn render_members(
    members: &[Member<'_>],
    watching: &Watching,
    options: ExportOptions,
) -> Exposition {
    let max = options.max_series;
    let rows = members
        .iter()
        .enumerate()
        .flat_map(|(i, m)| listener_rows(i, &m.facts.aggregates))
        .collect();
    let (listener_rows, omitted_listeners) = fullest_listeners(rows, max);
    let aggregates: Vec<&Aggregates> = members.iter().map(|m| &m.facts.aggregates).collect();
    let filter = members.first().map(|m| &m.facts.filter);
    let (ports, omitted_ports) = busiest_ports(
        &aggregates,
        filter.map_or(&[][..], |f| &f.ports[..]),
        filter.map_or(StateMask::ALL, |f| f.states),
        max,
    );
    let (alerts, omitted_alerts) = most_severe_alerts(
        members
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.facts.active_alerts.iter().map(move |a| (i, a))),
        max,
    );
    let mut registry = Registry::with_prefix("tcpwatch");
    register_process_info(&mut registry, members, watching);
    let listeners = register_listeners(&mut registry, members, &listener_rows);
    register_sockets(&mut registry, members, &ports);
    register_time_wait(&mut registry, members);
    register_alerts(&mut registry, members, &alerts);
    register_omitted(
        &mut registry,
        [
            ("tcpwatch_listener", omitted_listeners),
            ("tcpwatch_sockets", omitted_ports),
            ("tcpwatch_alert_active", omitted_alerts),
        ],
    );
    register_kernel_counters(&mut registry, members);
    Exposition {
        openmetrics: encode_openmetrics(&registry),
        prometheus: encode_prometheus(&registry),
        listeners,
    }
}

fn encode_openmetrics(registry: &Registry) -> String {
    let mut out = String::new();
    if text::encode_registry(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

fn encode_prometheus(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

/// The accept-queue peak family for one scrape.
pub(crate) fn encode_peaks(
    listeners: &[ExportedListener],
    peak_of: impl Fn(&ListenerKey) -> u32,
    format: Format,
    out: &mut String,
) {
    let mut registry = Registry::with_prefix("tcpwatch");
    let peaks = Family::<(Scope, ListenerLabels), Gauge>::default();
    for listener in listeners {
        let peak = peak_of(&listener.key).max(listener.accept_queue);
        peaks.get_or_create(&listener.labels).set(i64::from(peak));
    }
    registry.register(
        "listener_accept_queue_peak",
        "Highest accept queue the 10 Hz listener sampler saw since this scraper's previous \
         scrape (never below the current queue); a burst that filled and drained between two \
         scrapes shows here and not in tcpwatch_listener_accept_queue",
        peaks,
    );
    let encoded = match format {
        Format::OpenMetrics => encode_openmetrics(&registry),
        Format::Prometheus => encode_prometheus(&registry),
    };
    out.push_str(&encoded);
}

fn scoped<L>(member: &Member<'_>, labels: L) -> (Scope, L) {
    (member.scope.clone(), labels)
}

fn register_process_info(registry: &mut Registry, members: &[Member<'_>], watching: &Watching) {
    registry.register(
        "build",
        "tcpwatch's version",
        Info::new(vec![(
            "version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        )]),
    );
    registry.register(
        "watch",
        "What is watched: the network namespace (all with --all-namespaces), the socket \
         source (netlink knows backlogs, proc does not) and the filter",
        Info::new(vec![
            ("namespace".to_string(), watching.namespace.clone()),
            ("source".to_string(), watching.source.to_string()),
            ("filter".to_string(), watching.filter.clone()),
        ]),
    );
    let duration = Family::<Scope, GaugeF64>::default();
    let timestamp = Family::<Scope, GaugeF64>::default();
    let table = Family::<Scope, Gauge>::default();
    for member in members {
        let facts = member.facts;
        duration
            .get_or_create(member.scope)
            .set(facts.sample_duration.as_secs_f64());
        timestamp
            .get_or_create(member.scope)
            .set(facts.taken_at_ms as f64 / 1000.0);
        table
            .get_or_create(member.scope)
            .set(i64::try_from(facts.table_size).unwrap_or(i64::MAX));
    }
    registry.register_with_unit(
        "sample_duration",
        "How long the latest sample of the socket table took",
        Unit::Seconds,
        duration,
    );
    registry.register_with_unit(
        "sample_timestamp",
        "When the latest sample was taken, in Unix time",
        Unit::Seconds,
        timestamp,
    );
    registry.register(
        "sample_failures",
        "Full samples of the socket table that failed",
        ConstCounter::new(watching.failed_samples),
    );
    registry.register(
        "table_sockets",
        "Non-LISTEN sockets that matched the filter in the latest whole-table sample",
        table,
    );
}

fn register_listeners(
    registry: &mut Registry,
    members: &[Member<'_>],
    rows: &[ListenerRow],
) -> Vec<ExportedListener> {
    let queue = Family::<(Scope, ListenerLabels), Gauge>::default();
    let backlog = Family::<(Scope, ListenerLabels), Gauge>::default();
    let syn_recv = Family::<(Scope, ListenerLabels), Gauge>::default();
    let overflows = Family::<(Scope, ListenerLabels), Counter>::default();
    let mut exported = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(member) = members.get(row.member) else {
            continue;
        };
        let labels = scoped(
            member,
            ListenerLabels {
                listen: row.local.to_string(),
                port: row.local.port().to_string(),
                process: row.process.clone().unwrap_or_default(),
            },
        );
        queue
            .get_or_create(&labels)
            .set(i64::from(row.accept_queue));
        if let Some(b) = row.backlog {
            backlog.get_or_create(&labels).set(i64::from(b));
        }
        syn_recv.get_or_create(&labels).set(i64::from(row.syn_recv));
        overflows
            .get_or_create(&labels)
            .inc_by(member.facts.overflows.get(&row.local).copied().unwrap_or(0));
        exported.push(ExportedListener {
            labels,
            key: ListenerKey {
                netns: member.netns,
                local: row.local,
            },
            accept_queue: row.accept_queue,
        });
    }
    registry.register(
        "listener_accept_queue",
        "Connections the kernel completed that wait for accept() on this listener, at the \
         latest sample; the queue is full when it exceeds the backlog (listen(N) holds N+1)",
        queue,
    );
    registry.register(
        "listener_backlog",
        "The listener's effective backlog, min(listen() argument, net.core.somaxconn); absent \
         when the source cannot tell (/proc)",
        backlog,
    );
    registry.register(
        "listener_syn_recv",
        "Half-open connections (SYN_RECV) waiting for the client's ACK on this listener",
        syn_recv,
    );
    registry.register(
        "listener_overflows",
        "Increases of the kernel's ListenOverflows blamed on this listener: the namespace-wide \
         growth of each interval in which it was seen full (shared when several were)",
        overflows,
    );
    exported
}

fn register_omitted(registry: &mut Registry, omitted: [(&'static str, usize); 3]) {
    let family = Family::<FamilyLabels, Gauge>::default();
    for (name, count) in omitted {
        family
            .get_or_create(&FamilyLabels { family: name })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    registry.register(
        "series_omitted",
        "Series left out of a family by --max-series (the fullest listeners, busiest ports and \
         most severe alerts are kept); for tcpwatch_listener, listeners left out",
        family,
    );
}

/// The states a port row exports: those the filter counts.
fn counted_states(members: &[Member<'_>]) -> Vec<TcpState> {
    let states = members
        .first()
        .map_or(StateMask::ALL, |m| m.facts.filter.states);
    let counted: Vec<TcpState> = TcpState::ALL
        .iter()
        .copied()
        .filter(|s| states.contains(*s))
        .collect();
    debug_assert_eq!(counted.len(), states_in(states));
    counted
}

fn register_sockets(
    registry: &mut Registry,
    members: &[Member<'_>],
    ports: &[(usize, &PortStates)],
) {
    let sockets = Family::<(Scope, PortStateLabels), Gauge>::default();
    let counted = counted_states(members);
    for (index, row) in ports {
        let Some(member) = members.get(*index) else {
            continue;
        };
        let port = row.port.to_string();
        for state in &counted {
            sockets
                .get_or_create(&scoped(
                    member,
                    PortStateLabels {
                        port: port.clone(),
                        state: state_label(*state),
                    },
                ))
                .set(i64::try_from(row.counts.get(*state)).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "sockets",
        "Sockets per service port and state (a connection counts under the port of the \
         listener it belongs to, both ends); only listener ports and --port ports are labels",
        sockets,
    );
    let by_state = Family::<(Scope, StateLabels), Gauge>::default();
    for member in members {
        for state in &counted {
            by_state
                .get_or_create(&scoped(
                    member,
                    StateLabels {
                        state: state_label(*state),
                    },
                ))
                .set(i64::try_from(member.facts.aggregates.totals.get(*state)).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "sockets_by_state",
        "Sockets per state over every port that matched the filter",
        by_state,
    );
}

fn register_time_wait(registry: &mut Registry, members: &[Member<'_>]) {
    let sockets = Family::<Scope, Gauge>::default();
    let buckets = Family::<Scope, Gauge>::default();
    for member in members {
        let facts = member.facts;
        let tw = facts
            .sockstat
            .map_or(facts.aggregates.time_wait.total, |s| s.tw);
        sockets
            .get_or_create(member.scope)
            .set(i64::try_from(tw).unwrap_or(i64::MAX));
        if let Some(max) = facts.settings.tcp_max_tw_buckets {
            buckets
                .get_or_create(member.scope)
                .set(i64::try_from(max).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "time_wait_sockets",
        "TIME_WAIT sockets in the namespace (/proc/net/sockstat tw), the count \
         net.ipv4.tcp_max_tw_buckets limits",
        sockets,
    );
    registry.register(
        "time_wait_max_buckets",
        "net.ipv4.tcp_max_tw_buckets: past it, closing sockets skip TIME_WAIT \
         (TCPTimeWaitOverflow)",
        buckets,
    );
}

fn register_alerts(registry: &mut Registry, members: &[Member<'_>], alerts: &[(usize, &Alert)]) {
    let active = Family::<(Scope, AlertLabels), Gauge>::default();
    let since = Family::<(Scope, AlertLabels), GaugeF64>::default();
    for (index, alert) in alerts {
        let Some(member) = members.get(*index) else {
            continue;
        };
        let labels = scoped(
            member,
            AlertLabels {
                kind: alert.kind.name(),
                severity: alert.severity.name(),
                subject: alert.subject.clone(),
            },
        );
        active.get_or_create(&labels).set(1);
        since
            .get_or_create(&labels)
            .set(alert.since_ms as f64 / 1000.0);
    }
    registry.register(
        "alert_active",
        "1 while tcpwatch's alert of this kind is active on this subject (a listener, a port, \
         a destination or the namespace); run tcpwatch on the host for its explanation",
        active,
    );
    registry.register_with_unit(
        "alert_since_timestamp",
        "When the active alert's condition was first seen, in Unix time",
        Unit::Seconds,
        since,
    );
}

fn register_kernel_counters(registry: &mut Registry, members: &[Member<'_>]) {
    let kernel = registry.sub_registry_with_prefix("kernel");
    for counter in KernelCounter::ALL {
        let values: Vec<(&Scope, u64)> = members
            .iter()
            .filter_map(|m| Some((m.scope, m.facts.counters.get(counter)?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        let name = kernel_metric_name(counter);
        let table = match counter.table() {
            crate::model::counters::CounterTable::TcpExt => "TcpExt in /proc/net/netstat",
            crate::model::counters::CounterTable::Tcp => "Tcp in /proc/net/snmp",
        };
        let mut help = String::new();
        let _ = write!(
            help,
            "The kernel's {} ({table}) of the watched namespace, as tcpwatch read it",
            counter.kernel_name()
        );
        // CurrEstab is a level, not a count of events.
        if counter == KernelCounter::CurrEstab {
            let family = Family::<Scope, Gauge>::default();
            for (scope, value) in values {
                family
                    .get_or_create(scope)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            }
            kernel.register(name, help, family);
        } else {
            let family = Family::<Scope, Counter>::default();
            for (scope, value) in values {
                family.get_or_create(scope).inc_by(value);
            }
            kernel.register(name, help, family);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::listen_one::ListenOne;
    use crate::model::socket::fixtures::listener;
    use crate::model::{Snapshot, aggregate};

    /// The write-up's experiment: listen(1), no accept(), 5 clients.
    pub(crate) fn listen_one_facts() -> Facts {
        let mut snap = ListenOne::experiment().snapshot(1_000);
        snap.counters.set(KernelCounter::ListenOverflows, 7);
        snap.counters.set(KernelCounter::CurrEstab, 4);
        let mut overflows = HashMap::new();
        overflows.insert(snap.listeners[0].local, 3);
        Facts {
            taken_at_ms: snap.taken_at_ms,
            sample_duration: Duration::from_millis(2),
            source: snap.source,
            namespace: snap.namespace.clone(),
            filter: snap.filter.clone(),
            table_size: 7,
            aggregates: aggregate(&snap),
            active_alerts: Vec::new(),
            counters: snap.counters,
            sockstat: Some(Sockstat {
                tw: 5,
                ..Sockstat::default()
            }),
            settings: Settings {
                tcp_max_tw_buckets: Some(262_144),
                ..Settings::default()
            },
            overflows,
            failed_samples: 0,
        }
    }

    fn line_of<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix} in\n{text}"))
    }

    #[test]
    fn the_listen_one_experiment_in_both_formats() {
        let exposition = render(&listen_one_facts(), ExportOptions { max_series: 2000 });
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let text = exposition.with_peaks(format, |_| 2);
            let labels = r#"{listen="127.0.0.1:10000",port="10000",process="python3"}"#;
            assert!(text.contains(&format!("tcpwatch_listener_accept_queue{labels} 2\n")));
            assert!(text.contains(&format!("tcpwatch_listener_backlog{labels} 1\n")));
            assert!(text.contains(&format!("tcpwatch_listener_accept_queue_peak{labels} 2\n")));
            assert!(text.contains(&format!("tcpwatch_listener_overflows_total{labels} 3\n")));
            assert!(text.contains("tcpwatch_sockets{port=\"10000\",state=\"syn_sent\"} 3\n"));
            assert!(text.contains("tcpwatch_sockets{port=\"10000\",state=\"established\"} 4\n"));
            assert!(text.contains("tcpwatch_time_wait_sockets 5\n"));
            assert!(text.contains("tcpwatch_time_wait_max_buckets 262144\n"));
            assert!(text.contains("tcpwatch_kernel_listen_overflows_total 7\n"));
            assert!(text.contains("tcpwatch_kernel_curr_estab 4\n"));
            assert!(
                !text.contains("port=\"40001\""),
                "client ports are no labels"
            );
            assert!(line_of(&text, "tcpwatch_build_info{").contains("version="));
        }
        let om = exposition.with_peaks(Format::OpenMetrics, |_| 0);
        assert!(om.ends_with("# EOF\n"));
        assert_eq!(om.matches("# EOF").count(), 1);
        let prom = exposition.with_peaks(Format::Prometheus, |_| 0);
        assert!(!prom.contains("# EOF"));
        assert!(prom.contains("# TYPE tcpwatch_kernel_listen_overflows_total counter"));
    }

    #[test]
    fn the_peak_is_never_below_the_current_queue() {
        let exposition = render(&listen_one_facts(), ExportOptions { max_series: 2000 });
        let text = exposition.with_peaks(Format::Prometheus, |_| 0);
        assert!(text.contains("tcpwatch_listener_accept_queue_peak{listen=\"127.0.0.1:10000\""));
        assert!(
            line_of(&text, "tcpwatch_listener_accept_queue_peak{").ends_with(" 2"),
            "{text}"
        );
        let text = exposition.with_peaks(Format::Prometheus, |_| 9);
        assert!(line_of(&text, "tcpwatch_listener_accept_queue_peak{").ends_with(" 9"));
    }

    #[test]
    fn max_series_caps_each_family_and_says_what_was_left_out() {
        let mut facts = listen_one_facts();
        let mut snap = Snapshot::empty(1_000, SourceKind::Netlink);
        for port in 20000..20010u16 {
            snap.listeners
                .push(listener(&format!("127.0.0.1:{port}"), 0, 128));
        }
        snap.listeners.push(listener("127.0.0.1:10000", 2, 1));
        facts.aggregates = aggregate(&snap);
        let exposition = render(&facts, ExportOptions { max_series: 3 });
        let text = exposition.with_peaks(Format::Prometheus, |_| 0);
        assert_eq!(exposition.listeners.len(), 3);
        assert_eq!(
            exposition.listeners[0].key.local.port(),
            10000,
            "the full one"
        );
        assert_eq!(text.matches("tcpwatch_listener_accept_queue{").count(), 3);
        assert!(text.contains("tcpwatch_series_omitted{family=\"tcpwatch_listener\"} 8\n"));
        assert_eq!(
            text.matches("tcpwatch_sockets{").count(),
            0,
            "eleven states per port do not fit three series"
        );
        assert!(text.contains("tcpwatch_series_omitted{family=\"tcpwatch_sockets\"} 121\n"));
    }

    #[test]
    fn alerts_are_one_while_active() {
        use crate::alert::{AlertKind, Severity};
        let mut facts = listen_one_facts();
        facts.active_alerts.push(Alert {
            kind: AlertKind::BacklogFull,
            subject: "127.0.0.1:10000".to_string(),
            severity: Severity::Critical,
            summary: String::new(),
            cause: String::new(),
            fix: String::new(),
            since_ms: 1_500,
            last_seen_ms: 2_000,
            fire_count: 1,
        });
        let text = render(&facts, ExportOptions { max_series: 2000 })
            .with_peaks(Format::Prometheus, |_| 0);
        assert!(text.contains(
            "tcpwatch_alert_active{kind=\"backlog_full\",severity=\"critical\",subject=\"127.0.0.1:10000\"} 1\n"
        ));
        assert!(text.contains("tcpwatch_alert_since_timestamp_seconds{kind=\"backlog_full\""));
    }
}
