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
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::select::{
    ListenerRow, busiest_ports, fullest_listeners, listener_rows, most_severe_alerts, states_in,
};
use crate::alert::Alert;
use crate::model::{
    Aggregates, Counter as KernelCounter, Counters, Filter, PortStates, Settings, Sockstat,
    SourceKind, TcpState,
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

/// A listener that is exported, for the per-scrape peak family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportedListener {
    pub labels: ListenerLabels,
    pub local: SocketAddr,
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
    pub fn with_peaks(&self, format: Format, peak_of: impl Fn(&SocketAddr) -> u32) -> String {
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

/// Encodes one tick. Pure: the same facts give the same text.
pub(crate) fn render(facts: &Facts, options: ExportOptions) -> Exposition {
    let max = options.max_series;
    let (listener_rows, omitted_listeners) =
        fullest_listeners(listener_rows(&facts.aggregates), max);
    let (ports, omitted_ports) = busiest_ports(
        &facts.aggregates,
        &facts.filter.ports,
        facts.filter.states,
        max,
    );
    let (alerts, omitted_alerts) = most_severe_alerts(&facts.active_alerts, max);
    let mut registry = Registry::with_prefix("tcpwatch");
    register_process_info(&mut registry, facts);
    let listeners = register_listeners(&mut registry, facts, &listener_rows);
    register_sockets(&mut registry, facts, &ports);
    register_time_wait(&mut registry, facts);
    register_alerts(&mut registry, &alerts);
    register_omitted(
        &mut registry,
        [
            ("tcpwatch_listener", omitted_listeners),
            ("tcpwatch_sockets", omitted_ports),
            ("tcpwatch_alert_active", omitted_alerts),
        ],
    );
    register_kernel_counters(&mut registry, &facts.counters);
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
    peak_of: impl Fn(&SocketAddr) -> u32,
    format: Format,
    out: &mut String,
) {
    let mut registry = Registry::with_prefix("tcpwatch");
    let peaks = Family::<ListenerLabels, Gauge>::default();
    for listener in listeners {
        let peak = peak_of(&listener.local).max(listener.accept_queue);
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

fn register_process_info(registry: &mut Registry, facts: &Facts) {
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
        "What is watched: the network namespace, the socket source (netlink knows backlogs, \
         proc does not) and the filter",
        Info::new(vec![
            ("namespace".to_string(), facts.namespace.clone()),
            ("source".to_string(), facts.source.name().to_string()),
            ("filter".to_string(), facts.filter.describe()),
        ]),
    );
    registry.register_with_unit(
        "sample_duration",
        "How long the latest full sample of the socket table took",
        Unit::Seconds,
        ConstGauge::new(facts.sample_duration.as_secs_f64()),
    );
    registry.register_with_unit(
        "sample_timestamp",
        "When the latest full sample was taken, in Unix time",
        Unit::Seconds,
        ConstGauge::new(facts.taken_at_ms as f64 / 1000.0),
    );
    registry.register(
        "sample_failures",
        "Full samples of the socket table that failed",
        ConstCounter::new(facts.failed_samples),
    );
    registry.register(
        "table_sockets",
        "Non-LISTEN sockets that matched the filter in the latest sample",
        ConstGauge::new(facts.table_size),
    );
}

fn register_listeners(
    registry: &mut Registry,
    facts: &Facts,
    rows: &[ListenerRow],
) -> Vec<ExportedListener> {
    let queue = Family::<ListenerLabels, Gauge>::default();
    let backlog = Family::<ListenerLabels, Gauge>::default();
    let syn_recv = Family::<ListenerLabels, Gauge>::default();
    let overflows = Family::<ListenerLabels, Counter>::default();
    let mut exported = Vec::with_capacity(rows.len());
    for row in rows {
        let labels = ListenerLabels {
            listen: row.local.to_string(),
            port: row.local.port().to_string(),
            process: row.process.clone().unwrap_or_default(),
        };
        queue
            .get_or_create(&labels)
            .set(i64::from(row.accept_queue));
        if let Some(b) = row.backlog {
            backlog.get_or_create(&labels).set(i64::from(b));
        }
        syn_recv.get_or_create(&labels).set(i64::from(row.syn_recv));
        overflows
            .get_or_create(&labels)
            .inc_by(facts.overflows.get(&row.local).copied().unwrap_or(0));
        exported.push(ExportedListener {
            labels,
            local: row.local,
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

fn register_sockets(registry: &mut Registry, facts: &Facts, ports: &[&PortStates]) {
    let sockets = Family::<PortStateLabels, Gauge>::default();
    let counted: Vec<TcpState> = TcpState::ALL
        .iter()
        .copied()
        .filter(|s| facts.filter.states.contains(*s))
        .collect();
    debug_assert_eq!(counted.len(), states_in(facts.filter.states));
    for row in ports {
        let port = row.port.to_string();
        for state in &counted {
            sockets
                .get_or_create(&PortStateLabels {
                    port: port.clone(),
                    state: state_label(*state),
                })
                .set(i64::try_from(row.counts.get(*state)).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "sockets",
        "Sockets per service port and state (a connection counts under the port of the \
         listener it belongs to, both ends); only listener ports and --port ports are labels",
        sockets,
    );
    let by_state = Family::<StateLabels, Gauge>::default();
    for state in &counted {
        by_state
            .get_or_create(&StateLabels {
                state: state_label(*state),
            })
            .set(i64::try_from(facts.aggregates.totals.get(*state)).unwrap_or(i64::MAX));
    }
    registry.register(
        "sockets_by_state",
        "Sockets per state over every port that matched the filter",
        by_state,
    );
}

fn register_time_wait(registry: &mut Registry, facts: &Facts) {
    let tw = facts
        .sockstat
        .map_or(facts.aggregates.time_wait.total, |s| s.tw);
    registry.register(
        "time_wait_sockets",
        "TIME_WAIT sockets in the namespace (/proc/net/sockstat tw), the count \
         net.ipv4.tcp_max_tw_buckets limits",
        ConstGauge::new(tw),
    );
    if let Some(max) = facts.settings.tcp_max_tw_buckets {
        registry.register(
            "time_wait_max_buckets",
            "net.ipv4.tcp_max_tw_buckets: past it, closing sockets skip TIME_WAIT \
             (TCPTimeWaitOverflow)",
            ConstGauge::new(max),
        );
    }
}

fn register_alerts(registry: &mut Registry, alerts: &[&Alert]) {
    let active = Family::<AlertLabels, Gauge>::default();
    for alert in alerts {
        active
            .get_or_create(&AlertLabels {
                kind: alert.kind.name(),
                severity: alert.severity.name(),
                subject: alert.subject.clone(),
            })
            .set(1);
    }
    registry.register(
        "alert_active",
        "1 while tcpwatch's alert of this kind is active on this subject (a listener, a port, \
         a destination or the namespace); run tcpwatch on the host for its explanation",
        active,
    );
    let since = Family::<AlertLabels, GaugeF64>::default();
    for alert in alerts {
        since
            .get_or_create(&AlertLabels {
                kind: alert.kind.name(),
                severity: alert.severity.name(),
                subject: alert.subject.clone(),
            })
            .set(alert.since_ms as f64 / 1000.0);
    }
    registry.register_with_unit(
        "alert_since_timestamp",
        "When the active alert's condition was first seen, in Unix time",
        Unit::Seconds,
        since,
    );
}

fn register_kernel_counters(registry: &mut Registry, counters: &Counters) {
    let kernel = registry.sub_registry_with_prefix("kernel");
    for (counter, value) in counters.iter() {
        let Some(value) = value else { continue };
        let name = kernel_metric_name(counter);
        let mut help = String::new();
        let table = match counter.table() {
            crate::model::counters::CounterTable::TcpExt => "TcpExt in /proc/net/netstat",
            crate::model::counters::CounterTable::Tcp => "Tcp in /proc/net/snmp",
        };
        let _ = write!(
            help,
            "The kernel's {} ({table}) of the watched namespace, as tcpwatch read it",
            counter.kernel_name()
        );
        // CurrEstab is a level, not a count of events.
        if counter == KernelCounter::CurrEstab {
            kernel.register(name, help, ConstGauge::new(value));
        } else {
            kernel.register(name, help, ConstCounter::new(value));
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
        assert_eq!(exposition.listeners[0].local.port(), 10000, "the full one");
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
