//! The JSON contract, version 1: one schema for `--once`, each `--stream`
//! line and each recorded frame (assets/tcpwatch-v1.schema.json).
//!
//! Every document carries `schema_version`, the tool `version`, `type`,
//! `host` and `namespace`; every instant is a `time` (RFC 3339, UTC) beside
//! its `*_ms` (Unix milliseconds); durations are named with their unit; ports
//! are integers.
//!
//! The `--all-namespaces` documents (`namespaces`, `namespace`,
//! `namespace_rows`, and the `netns`/`last_table` keys of their entries and
//! of alert lines) are in `netns_doc`; the event line in `event_doc`.
//!
//! Owns: the document types (serde both ways), their making from the model
//! and their reading back into it (for replay). Must not: do I/O or read the
//! clock; change a key without bumping `SCHEMA_VERSION` or adding a
//! CHANGELOG entry.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertEvent, AlertKind, Severity};
use crate::format::timestamp::format_rfc3339;
use crate::model::transitions::{Change, Transition, intern_cause};
use crate::model::{
    Aggregates, Counter, CounterDeltas, Counters, Filter, IpFamily, IpPrefix, ListenerPeak,
    ListenerPeaks, ListenerSummary, PortStates, ProcessInfo, Settings, Snapshot, SocketRecord,
    Sockstat, SourceKind, StateCounts, StateMask, TcpState, TimeWaitSummary, TimerKind,
};

/// Bumped when a key changes meaning or disappears; additions keep it.
pub const SCHEMA_VERSION: u32 = 1;
/// The tool version written in every document.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a document could not be read back into the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("schema_version {found} is newer than this tcpwatch reads ({SCHEMA_VERSION})")]
    NewerSchema { found: u32 },
    #[error("unknown {what} {value:?}")]
    Unknown { what: &'static str, value: String },
}

fn unknown(what: &'static str, value: &str) -> ContractError {
    ContractError::Unknown {
        what,
        value: value.to_string(),
    }
}

/// What every document starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub schema_version: u32,
    pub version: String,
    #[serde(rename = "type")]
    pub doc_type: String,
    pub host: String,
    pub namespace: String,
}

impl Envelope {
    pub fn new(doc_type: &str, host: &str, namespace: &str) -> Envelope {
        Envelope {
            schema_version: SCHEMA_VERSION,
            version: TOOL_VERSION.to_string(),
            doc_type: doc_type.to_string(),
            host: host.to_string(),
            namespace: namespace.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDoc {
    pub pid: u32,
    pub name: String,
}

impl ProcessDoc {
    fn of(info: &ProcessInfo) -> ProcessDoc {
        ProcessDoc {
            pid: info.pid,
            name: info.name.clone(),
        }
    }

    fn info(&self) -> ProcessInfo {
        ProcessInfo {
            pid: self.pid,
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterDoc {
    pub ports: Vec<u16>,
    pub states: Vec<String>,
    /// `-4` / `-6`: `"ipv4"`, `"ipv6"`, or null for both.
    #[serde(default)]
    pub family: Option<String>,
    /// `--addr`: addresses and networks, e.g. `"10.0.0.0/8"`.
    #[serde(default)]
    pub addrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerDoc {
    /// `127.0.0.1:10000` or `[::1]:10000`.
    pub local: String,
    pub port: u16,
    pub accept_queue: u32,
    pub backlog: Option<u32>,
    pub full: Option<bool>,
    pub syn_recv: u32,
    pub inode: u64,
    pub uid: u32,
    pub process: Option<ProcessDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortDoc {
    pub port: u16,
    pub total: u64,
    pub states: BTreeMap<String, u64>,
}

impl PortDoc {
    pub fn of(row: &PortStates) -> PortDoc {
        PortDoc {
            port: row.port,
            total: row.counts.total(),
            states: state_map(&row.counts),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortCount {
    pub port: u16,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeWaitDoc {
    pub total: u64,
    pub by_port: Vec<PortCount>,
    pub namespace_total: Option<u64>,
    pub max_tw_buckets: Option<u64>,
    pub headroom: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockstatDoc {
    pub inuse: u64,
    pub orphan: u64,
    pub tw: u64,
    pub alloc: u64,
    pub mem_pages: u64,
}

/// The sysctls, by their dotted names; absent when unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SysctlsDoc {
    #[serde(
        rename = "net.core.somaxconn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub somaxconn: Option<u32>,
    #[serde(
        rename = "net.ipv4.tcp_max_syn_backlog",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_max_syn_backlog: Option<u32>,
    #[serde(
        rename = "net.ipv4.tcp_syncookies",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_syncookies: Option<u32>,
    #[serde(
        rename = "net.ipv4.tcp_abort_on_overflow",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_abort_on_overflow: Option<u32>,
    #[serde(
        rename = "net.ipv4.tcp_max_tw_buckets",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_max_tw_buckets: Option<u64>,
    #[serde(
        rename = "net.ipv4.ip_local_port_range",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_local_port_range: Option<[u16; 2]>,
    #[serde(
        rename = "net.ipv4.tcp_tw_reuse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_tw_reuse: Option<u32>,
    #[serde(
        rename = "net.ipv4.tcp_fin_timeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_fin_timeout: Option<u32>,
}

impl SysctlsDoc {
    fn of(settings: &Settings) -> SysctlsDoc {
        SysctlsDoc {
            somaxconn: settings.somaxconn,
            tcp_max_syn_backlog: settings.tcp_max_syn_backlog,
            tcp_syncookies: settings.tcp_syncookies,
            tcp_abort_on_overflow: settings.tcp_abort_on_overflow,
            tcp_max_tw_buckets: settings.tcp_max_tw_buckets,
            ip_local_port_range: settings.ip_local_port_range.map(|(a, b)| [a, b]),
            tcp_tw_reuse: settings.tcp_tw_reuse,
            tcp_fin_timeout: settings.tcp_fin_timeout,
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            somaxconn: self.somaxconn,
            tcp_max_syn_backlog: self.tcp_max_syn_backlog,
            tcp_syncookies: self.tcp_syncookies,
            tcp_abort_on_overflow: self.tcp_abort_on_overflow,
            tcp_max_tw_buckets: self.tcp_max_tw_buckets,
            ip_local_port_range: self.ip_local_port_range.map(|[a, b]| (a, b)),
            tcp_tw_reuse: self.tcp_tw_reuse,
            tcp_fin_timeout: self.tcp_fin_timeout,
        }
    }
}

/// One alert. `since`/`last_seen` are RFC 3339 beside their `*_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDoc {
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub title: String,
    pub summary: String,
    pub cause: String,
    pub fix: String,
    pub since: String,
    pub since_ms: u64,
    pub last_seen: String,
    pub last_seen_ms: u64,
    pub fire_count: u32,
}

impl AlertDoc {
    pub fn of(alert: &Alert) -> AlertDoc {
        AlertDoc {
            kind: alert.kind.name().to_string(),
            severity: alert.severity.name().to_string(),
            subject: alert.subject.clone(),
            title: format!("{} on {}", alert.kind.title(), alert.subject),
            summary: alert.summary.clone(),
            cause: alert.cause.clone(),
            fix: alert.fix.clone(),
            since: format_rfc3339(alert.since_ms),
            since_ms: alert.since_ms,
            last_seen: format_rfc3339(alert.last_seen_ms),
            last_seen_ms: alert.last_seen_ms,
            fire_count: alert.fire_count,
        }
    }

    pub fn alert(&self) -> Result<Alert, ContractError> {
        let kind = AlertKind::ALL
            .into_iter()
            .find(|k| k.name() == self.kind)
            .ok_or_else(|| unknown("alert kind", &self.kind))?;
        let severity = [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.name() == self.severity)
            .ok_or_else(|| unknown("severity", &self.severity))?;
        Ok(Alert {
            kind,
            subject: self.subject.clone(),
            severity,
            summary: self.summary.clone(),
            cause: self.cause.clone(),
            fix: self.fix.clone(),
            since_ms: self.since_ms,
            last_seen_ms: self.last_seen_ms,
            fire_count: self.fire_count,
        })
    }
}

/// An alert raised or cleared, at `time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEventDoc {
    /// `raised` or `cleared`.
    pub event: String,
    pub time: String,
    pub time_ms: u64,
    #[serde(flatten)]
    pub alert: AlertDoc,
}

impl AlertEventDoc {
    pub fn of(event: &AlertEvent, at_ms: u64) -> AlertEventDoc {
        AlertEventDoc {
            event: if event.is_raised() {
                "raised"
            } else {
                "cleared"
            }
            .to_string(),
            time: format_rfc3339(at_ms),
            time_ms: at_ms,
            alert: AlertDoc::of(event.alert()),
        }
    }

    pub fn event(&self) -> Result<AlertEvent, ContractError> {
        let alert = self.alert.alert()?;
        match self.event.as_str() {
            "raised" => Ok(AlertEvent::Raised(alert)),
            "cleared" => Ok(AlertEvent::Cleared(alert)),
            other => Err(unknown("alert event", other)),
        }
    }
}

/// A connection's state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionDoc {
    /// `appeared`, `moved`, `gone` or `syn_retransmit`.
    pub event: String,
    pub time: String,
    pub time_ms: u64,
    pub local: String,
    pub remote: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub skipped: Vec<String>,
    pub after_ms: Option<u64>,
    pub cause: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_ms: Option<u32>,
}

impl TransitionDoc {
    pub fn of(transition: &Transition) -> TransitionDoc {
        let name = |s: &TcpState| s.name().to_string();
        let (event, from, to, skipped, retry) = match &transition.change {
            Change::Appeared(state) => ("appeared", None, Some(name(state)), Vec::new(), None),
            Change::Moved { from, to, skipped } => (
                "moved",
                Some(name(from)),
                Some(name(to)),
                skipped.iter().map(name).collect(),
                None,
            ),
            Change::Gone(state) => ("gone", Some(name(state)), None, Vec::new(), None),
            Change::SynRetransmit {
                count,
                next_retry_ms,
            } => (
                "syn_retransmit",
                Some(name(&TcpState::SynSent)),
                Some(name(&TcpState::SynSent)),
                Vec::new(),
                Some((*count, *next_retry_ms)),
            ),
        };
        TransitionDoc {
            event: event.to_string(),
            time: format_rfc3339(transition.at_ms),
            time_ms: transition.at_ms,
            local: transition.local.to_string(),
            remote: transition.remote.to_string(),
            from,
            to,
            skipped,
            after_ms: transition.after_ms,
            cause: transition.cause.to_string(),
            text: transition.describe(),
            retransmits: retry.map(|(count, _)| count),
            next_retry_ms: retry.map(|(_, next)| next),
        }
    }

    pub fn transition(&self) -> Result<Transition, ContractError> {
        let state = |name: &Option<String>| -> Result<TcpState, ContractError> {
            let name = name.as_deref().unwrap_or("");
            name.parse().map_err(|_| unknown("state", name))
        };
        let change = match self.event.as_str() {
            "appeared" => Change::Appeared(state(&self.to)?),
            "moved" => Change::Moved {
                from: state(&self.from)?,
                to: state(&self.to)?,
                skipped: self
                    .skipped
                    .iter()
                    .map(|s| s.parse().map_err(|_| unknown("state", s)))
                    .collect::<Result<_, _>>()?,
            },
            "gone" => Change::Gone(state(&self.from)?),
            "syn_retransmit" => Change::SynRetransmit {
                count: self.retransmits.unwrap_or(0),
                next_retry_ms: self.next_retry_ms.unwrap_or(0),
            },
            other => return Err(unknown("transition event", other)),
        };
        Ok(Transition {
            at_ms: self.time_ms,
            local: address(&self.local)?,
            remote: address(&self.remote)?,
            change,
            after_ms: self.after_ms,
            cause: intern_cause(&self.cause),
        })
    }
}

fn address(text: &str) -> Result<SocketAddr, ContractError> {
    text.parse().map_err(|_| unknown("socket address", text))
}

/// One kept connection (recorded frames only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionDoc {
    pub state: String,
    pub local: String,
    pub remote: String,
    pub recv_queue: u32,
    pub send_queue: u32,
    pub inode: u64,
    pub uid: u32,
    pub timer: String,
    pub timer_expires_ms: u32,
    pub retransmits: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessDoc>,
}

const TIMERS: [TimerKind; 5] = [
    TimerKind::None,
    TimerKind::Retransmit,
    TimerKind::KeepAlive,
    TimerKind::TimeWait,
    TimerKind::Probe,
];

impl ConnectionDoc {
    fn of(record: &SocketRecord, owners: &HashMap<u64, ProcessInfo>) -> ConnectionDoc {
        ConnectionDoc {
            state: record.state.name().to_string(),
            local: record.local.to_string(),
            remote: record.remote.to_string(),
            recv_queue: record.recv_queue,
            send_queue: record.send_queue,
            inode: record.inode,
            uid: record.uid,
            timer: record.timer.name().to_string(),
            timer_expires_ms: record.timer_expires_ms,
            retransmits: record.retransmits,
            process: owners.get(&record.inode).map(ProcessDoc::of),
        }
    }

    fn record(&self, backlog_known: bool) -> Result<SocketRecord, ContractError> {
        Ok(SocketRecord {
            state: self
                .state
                .parse()
                .map_err(|_| unknown("state", &self.state))?,
            local: address(&self.local)?,
            remote: address(&self.remote)?,
            recv_queue: self.recv_queue,
            send_queue: self.send_queue,
            backlog_known,
            inode: self.inode,
            uid: self.uid,
            timer: TIMERS
                .into_iter()
                .find(|t| t.name() == self.timer)
                .ok_or_else(|| unknown("timer", &self.timer))?,
            timer_expires_ms: self.timer_expires_ms,
            retransmits: self.retransmits,
        })
    }
}

/// What the 10 Hz listener samples saw of one listener during the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakDoc {
    pub local: String,
    pub inode: u64,
    pub max_queue: u32,
    pub backlog: Option<u32>,
    pub full_samples: u32,
    pub samples: u32,
    pub first_full_ms: Option<u64>,
    pub last_seen_ms: u64,
}

/// The interval's listener peaks (recorded frames only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeaksDoc {
    pub samples: u32,
    pub first_ms: Option<u64>,
    pub last_ms: Option<u64>,
    pub listeners: Vec<PeakDoc>,
}

impl PeaksDoc {
    fn of(peaks: &ListenerPeaks) -> PeaksDoc {
        PeaksDoc {
            samples: peaks.samples(),
            first_ms: peaks.span_ms().map(|(first, _)| first),
            last_ms: peaks.span_ms().map(|(_, last)| last),
            listeners: peaks
                .iter()
                .map(|p| PeakDoc {
                    local: p.local.to_string(),
                    inode: p.inode,
                    max_queue: p.max_queue,
                    backlog: p.backlog,
                    full_samples: p.full_samples,
                    samples: p.samples,
                    first_full_ms: p.first_full_ms,
                    last_seen_ms: p.last_seen_ms,
                })
                .collect(),
        }
    }

    fn peaks(&self) -> Result<ListenerPeaks, ContractError> {
        let listeners = self
            .listeners
            .iter()
            .map(|p| {
                Ok(ListenerPeak {
                    local: address(&p.local)?,
                    inode: p.inode,
                    max_queue: p.max_queue,
                    backlog: p.backlog,
                    full_samples: p.full_samples,
                    samples: p.samples,
                    first_full_ms: p.first_full_ms,
                    last_seen_ms: p.last_seen_ms,
                })
            })
            .collect::<Result<Vec<_>, ContractError>>()?;
        Ok(ListenerPeaks::from_parts(
            listeners,
            self.samples,
            self.first_ms.zip(self.last_ms),
        ))
    }
}

/// The table the sample came from: how many sockets matched the filter and
/// whether every one was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDoc {
    pub size: u64,
    pub complete: bool,
    pub owners_complete: bool,
}

/// The picture at one instant: `--once`, the first `--stream` line, each
/// line of `--format json`, and (with `connections`, `alert_events`,
/// `transitions` and `listener_peaks`) each recorded frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub time: String,
    pub time_ms: u64,
    /// How long taking the sample took, rounded to microseconds.
    pub sample_ms: f64,
    pub source: String,
    pub notes: Vec<String>,
    pub filter: FilterDoc,
    pub table: TableDoc,
    pub listeners: Vec<ListenerDoc>,
    pub ports: Vec<PortDoc>,
    pub totals: BTreeMap<String, u64>,
    pub time_wait: TimeWaitDoc,
    pub sockstat: Option<SockstatDoc>,
    pub counters: BTreeMap<String, u64>,
    pub counter_deltas: Option<BTreeMap<String, u64>>,
    pub sysctls: SysctlsDoc,
    /// Active alerts, most severe first.
    pub alerts: Vec<AlertDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_events: Option<Vec<AlertEventDoc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<TransitionDoc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_peaks: Option<PeaksDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConnectionDoc>>,
}

pub(crate) fn state_map(counts: &StateCounts) -> BTreeMap<String, u64> {
    TcpState::ALL
        .iter()
        .map(|s| (s.name().to_string(), counts.get(*s)))
        .collect()
}

fn state_counts(map: &BTreeMap<String, u64>) -> Result<StateCounts, ContractError> {
    let mut counts = StateCounts::default();
    for (name, count) in map {
        let state: TcpState = name.parse().map_err(|_| unknown("state", name))?;
        counts.add(state, *count);
    }
    Ok(counts)
}

fn counter_by_name(name: &str) -> Option<Counter> {
    Counter::ALL.into_iter().find(|c| c.kernel_name() == name)
}

/// What a frame adds to the picture: the interval's events and the records.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameParts<'a> {
    pub alert_events: Option<&'a [AlertEvent]>,
    pub transitions: Option<&'a [Transition]>,
    pub peaks: Option<&'a ListenerPeaks>,
    /// The connections kept (already chosen and capped by the caller).
    pub connections: Option<&'a [SocketRecord]>,
}

impl SnapshotDoc {
    pub fn of(
        host: &str,
        snapshot: &Snapshot,
        aggregates: &Aggregates,
        deltas: Option<&CounterDeltas>,
        alerts: &[Alert],
        frame: FrameParts<'_>,
    ) -> SnapshotDoc {
        // `--state` without LISTEN lists no listener (the snapshot keeps
        // them anyway, to attribute SYN_RECV and service ports).
        let listed = if snapshot.filter.states.contains(TcpState::Listen) {
            aggregates.listeners.as_slice()
        } else {
            &[]
        };
        let listeners = listed
            .iter()
            .map(|l| ListenerDoc {
                local: l.local.to_string(),
                port: l.local.port(),
                accept_queue: l.accept_queue,
                backlog: l.backlog,
                full: l.is_full(),
                syn_recv: l.syn_recv,
                inode: l.inode,
                uid: l.uid,
                process: l.process.as_ref().map(ProcessDoc::of),
            })
            .collect();
        let ports = aggregates.ports.iter().map(PortDoc::of).collect();
        let time_wait = &aggregates.time_wait;
        let counters = snapshot
            .counters
            .iter()
            .filter_map(|(c, v)| v.map(|v| (c.kernel_name().to_string(), v)))
            .collect();
        let counter_deltas = deltas.map(|d| {
            Counter::ALL
                .iter()
                .filter_map(|c| d.get(*c).map(|g| (c.kernel_name().to_string(), g)))
                .collect()
        });
        let micros = u64::try_from(snapshot.elapsed.as_micros()).unwrap_or(u64::MAX);
        SnapshotDoc {
            envelope: Envelope::new("snapshot", host, &snapshot.namespace),
            time: format_rfc3339(snapshot.taken_at_ms),
            time_ms: snapshot.taken_at_ms,
            sample_ms: micros as f64 / 1000.0,
            source: snapshot.source.name().to_string(),
            notes: snapshot.notes.clone(),
            filter: FilterDoc {
                ports: snapshot.filter.ports.clone(),
                states: TcpState::ALL
                    .iter()
                    .filter(|s| snapshot.filter.states.contains(**s))
                    .map(|s| s.name().to_string())
                    .collect(),
                family: snapshot.filter.family.map(|family| {
                    match family {
                        IpFamily::V4 => "ipv4",
                        IpFamily::V6 => "ipv6",
                    }
                    .to_string()
                }),
                addrs: snapshot
                    .filter
                    .addrs
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            table: TableDoc {
                size: snapshot.table_size,
                complete: snapshot.sockets_complete,
                owners_complete: snapshot.owners_complete,
            },
            listeners,
            ports,
            totals: state_map(&aggregates.totals),
            time_wait: TimeWaitDoc {
                total: time_wait.total,
                by_port: time_wait
                    .by_port
                    .iter()
                    .map(|(port, count)| PortCount {
                        port: *port,
                        count: *count,
                    })
                    .collect(),
                namespace_total: time_wait.sockstat_total,
                max_tw_buckets: time_wait.max_tw_buckets,
                headroom: time_wait.headroom(),
            },
            sockstat: snapshot.sockstat.map(|s| SockstatDoc {
                inuse: s.inuse,
                orphan: s.orphan,
                tw: s.tw,
                alloc: s.alloc,
                mem_pages: s.mem_pages,
            }),
            counters,
            counter_deltas,
            sysctls: SysctlsDoc::of(&snapshot.settings),
            alerts: alerts.iter().map(AlertDoc::of).collect(),
            alert_events: frame.alert_events.map(|events| {
                events
                    .iter()
                    .map(|e| AlertEventDoc::of(e, snapshot.taken_at_ms))
                    .collect()
            }),
            transitions: frame
                .transitions
                .map(|t| t.iter().map(TransitionDoc::of).collect()),
            listener_peaks: frame.peaks.map(PeaksDoc::of),
            connections: frame.connections.map(|records| {
                records
                    .iter()
                    .map(|r| ConnectionDoc::of(r, &snapshot.owners))
                    .collect()
            }),
        }
    }

    /// Reads the document back into the model, for replay: the snapshot
    /// (with the recorded aggregates, exact even where connections were left
    /// out), its counter deltas and its active alerts.
    pub fn decode(&self) -> Result<DecodedSnapshot, ContractError> {
        if self.envelope.schema_version > SCHEMA_VERSION {
            return Err(ContractError::NewerSchema {
                found: self.envelope.schema_version,
            });
        }
        let source = match self.source.as_str() {
            "netlink" => SourceKind::Netlink,
            "proc" => SourceKind::Proc,
            other => return Err(unknown("source", other)),
        };
        let mut snapshot = Snapshot::empty(self.time_ms, source);
        snapshot.elapsed = Duration::from_micros((self.sample_ms * 1000.0).round().max(0.0) as u64);
        snapshot.notes = self.notes.clone();
        snapshot.namespace = self.envelope.namespace.clone();
        let states = self
            .filter
            .states
            .iter()
            .map(|s| s.parse().map_err(|_| unknown("state", s)))
            .collect::<Result<Vec<TcpState>, _>>()?;
        let family = match self.filter.family.as_deref() {
            None => None,
            Some("ipv4") => Some(IpFamily::V4),
            Some("ipv6") => Some(IpFamily::V6),
            Some(other) => return Err(unknown("family", other)),
        };
        let addrs = self
            .filter
            .addrs
            .iter()
            .map(|a| a.parse().map_err(|_| unknown("address", a)))
            .collect::<Result<Vec<IpPrefix>, _>>()?;
        snapshot.filter = Filter {
            ports: self.filter.ports.clone(),
            states: StateMask::of(&states),
            family,
            addrs,
        };
        snapshot.table_size = self.table.size;
        snapshot.sockets_complete = self.table.complete;
        snapshot.owners_complete = self.table.owners_complete;
        let mut summaries = Vec::with_capacity(self.listeners.len());
        for doc in &self.listeners {
            let local = address(&doc.local)?;
            let remote: SocketAddr = if local.is_ipv6() {
                SocketAddr::from(([0u16; 8], 0))
            } else {
                SocketAddr::from(([0u8; 4], 0))
            };
            snapshot.listeners.push(SocketRecord {
                state: TcpState::Listen,
                local,
                remote,
                recv_queue: doc.accept_queue,
                send_queue: doc.backlog.unwrap_or(0),
                backlog_known: doc.backlog.is_some(),
                inode: doc.inode,
                uid: doc.uid,
                timer: TimerKind::None,
                timer_expires_ms: 0,
                retransmits: 0,
            });
            if let Some(process) = &doc.process {
                snapshot.owners.insert(doc.inode, process.info());
            }
            summaries.push(ListenerSummary {
                local,
                accept_queue: doc.accept_queue,
                backlog: doc.backlog,
                syn_recv: doc.syn_recv,
                inode: doc.inode,
                uid: doc.uid,
                process: doc.process.as_ref().map(ProcessDoc::info),
            });
        }
        let backlog_known = source.knows_backlog();
        for doc in self.connections.iter().flatten() {
            let record = doc.record(backlog_known)?;
            if let Some(process) = &doc.process {
                snapshot.owners.insert(record.inode, process.info());
            }
            snapshot.sockets.push(record);
        }
        for (name, value) in &self.counters {
            if let Some(counter) = counter_by_name(name) {
                snapshot.counters.set(counter, *value);
            }
        }
        snapshot.sockstat = self.sockstat.as_ref().map(|s| Sockstat {
            inuse: s.inuse,
            orphan: s.orphan,
            tw: s.tw,
            alloc: s.alloc,
            mem_pages: s.mem_pages,
        });
        snapshot.settings = self.sysctls.settings();
        let ports = self
            .ports
            .iter()
            .map(|p| {
                Ok(PortStates {
                    port: p.port,
                    counts: state_counts(&p.states)?,
                })
            })
            .collect::<Result<Vec<_>, ContractError>>()?;
        let aggregates = Aggregates {
            ports,
            listeners: summaries,
            time_wait: TimeWaitSummary {
                total: self.time_wait.total,
                by_port: self
                    .time_wait
                    .by_port
                    .iter()
                    .map(|p| (p.port, p.count))
                    .collect(),
                sockstat_total: self.time_wait.namespace_total,
                max_tw_buckets: self.time_wait.max_tw_buckets,
            },
            totals: state_counts(&self.totals)?,
            // The document does not carry the rules' aggregates: rebuilt
            // from the records it kept (the whole table when it was small).
            rules: crate::model::aggregate(&snapshot).rules,
        };
        let deltas = self.counter_deltas.as_ref().map(|map| {
            let mut zero = Counters::default();
            let mut grown = Counters::default();
            for (name, value) in map {
                if let Some(counter) = counter_by_name(name) {
                    zero.set(counter, 0);
                    grown.set(counter, *value);
                }
            }
            grown.delta_since(&zero)
        });
        let alerts = self
            .alerts
            .iter()
            .map(AlertDoc::alert)
            .collect::<Result<Vec<_>, _>>()?;
        let alert_events = self
            .alert_events
            .iter()
            .flatten()
            .map(AlertEventDoc::event)
            .collect::<Result<Vec<_>, _>>()?;
        let transitions = self
            .transitions
            .iter()
            .flatten()
            .map(TransitionDoc::transition)
            .collect::<Result<Vec<_>, _>>()?;
        let peaks = match &self.listener_peaks {
            Some(doc) => doc.peaks()?,
            None => ListenerPeaks::new(),
        };
        Ok(DecodedSnapshot {
            host: self.envelope.host.clone(),
            snapshot,
            aggregates,
            deltas,
            alerts,
            alert_events,
            transitions,
            peaks,
        })
    }
}

/// A document read back into the model.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSnapshot {
    pub host: String,
    pub snapshot: Snapshot,
    pub aggregates: Aggregates,
    pub deltas: Option<CounterDeltas>,
    pub alerts: Vec<Alert>,
    pub alert_events: Vec<AlertEvent>,
    pub transitions: Vec<Transition>,
    pub peaks: ListenerPeaks,
}

/// One `--stream` line about a connection's state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionLine {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `poll`: inferred by comparing two samples. Exact kernel events have
    /// lines of their own (`type` `event`, `source` `event`).
    #[serde(default = "poll_source")]
    pub source: String,
    #[serde(flatten)]
    pub transition: TransitionDoc,
}

fn poll_source() -> String {
    "poll".to_string()
}

/// One `--stream` line about an alert raised or cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub event: AlertEventDoc,
}

impl TransitionLine {
    pub fn of(host: &str, namespace: &str, transition: &Transition) -> TransitionLine {
        TransitionLine {
            envelope: Envelope::new("transition", host, namespace),
            source: poll_source(),
            transition: TransitionDoc::of(transition),
        }
    }
}

impl AlertLine {
    pub fn of(host: &str, namespace: &str, event: &AlertEvent, at_ms: u64) -> AlertLine {
        AlertLine {
            envelope: Envelope::new("alert", host, namespace),
            event: AlertEventDoc::of(event, at_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::scenarios::linux_defaults;
    use crate::model::aggregate;
    use crate::model::socket::fixtures::{listener, record};

    fn transition(change: Change) -> Transition {
        Transition {
            at_ms: 1_795_470_012_345,
            local: "127.0.0.1:5000".parse().expect("addr"),
            remote: "127.0.0.1:10000".parse().expect("addr"),
            change,
            after_ms: Some(1000),
            cause: "close(): send FIN",
        }
    }

    #[test]
    fn a_move_carries_from_to_skipped_time_and_cause() {
        let moved = transition(Change::Moved {
            from: TcpState::Established,
            to: TcpState::TimeWait,
            skipped: vec![TcpState::FinWait1, TcpState::FinWait2],
        });
        let value = serde_json::to_value(TransitionLine::of("box", "host", &moved)).expect("json");
        assert_eq!(value["type"], "transition");
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["event"], "moved");
        assert_eq!(value["from"], "ESTABLISHED");
        assert_eq!(value["to"], "TIME_WAIT");
        assert_eq!(
            value["skipped"],
            serde_json::json!(["FIN_WAIT1", "FIN_WAIT2"])
        );
        assert_eq!(value["time"], "2026-11-23T21:40:12.345Z");
        assert_eq!(value["time_ms"], 1_795_470_012_345u64);
        let back: TransitionLine = serde_json::from_value(value).expect("reads back");
        assert_eq!(back.transition.transition(), Ok(moved));
    }

    #[test]
    fn a_retransmit_carries_the_next_retry_and_reads_back() {
        let retry = Transition {
            cause: SYN_CAUSE_FOR_TEST,
            ..transition(Change::SynRetransmit {
                count: 2,
                next_retry_ms: 3900,
            })
        };
        let value = serde_json::to_value(TransitionDoc::of(&retry)).expect("json");
        assert_eq!(value["retransmits"], 2);
        assert_eq!(value["next_retry_ms"], 3900);
        let back: TransitionDoc = serde_json::from_value(value).expect("reads back");
        assert_eq!(back.transition(), Ok(retry));
    }

    const SYN_CAUSE_FOR_TEST: &str =
        "no SYN-ACK: the peer's accept queue is full or the peer is unreachable";

    #[test]
    fn a_frame_reads_back_into_the_same_model() {
        let mut snapshot = Snapshot::empty(1_795_470_012_000, SourceKind::Netlink);
        snapshot.settings = linux_defaults();
        snapshot.elapsed = Duration::from_nanos(106_560_177);
        snapshot.listeners.push(listener("127.0.0.1:10000", 2, 1));
        snapshot.sockets.push(SocketRecord {
            inode: 77,
            timer: TimerKind::KeepAlive,
            timer_expires_ms: 7000,
            ..record(TcpState::CloseWait, "127.0.0.1:10000", "127.0.0.1:40000")
        });
        snapshot.sockets.push(record(
            TcpState::TimeWait,
            "127.0.0.1:40001",
            "127.0.0.1:10000",
        ));
        snapshot.table_size = 2;
        snapshot.owners.insert(
            1000,
            ProcessInfo {
                pid: 42,
                name: "python3".to_string(),
            },
        );
        snapshot.counters.set(Counter::ListenOverflows, 7);
        let aggregates = aggregate(&snapshot);
        let mut later = snapshot.counters;
        later.set(Counter::ListenOverflows, 9);
        let deltas = later.delta_since(&snapshot.counters);
        let alert = Alert {
            kind: AlertKind::BacklogFull,
            subject: "127.0.0.1:10000".to_string(),
            severity: Severity::Critical,
            summary: "2/1".to_string(),
            cause: "no accept()".to_string(),
            fix: "accept()".to_string(),
            since_ms: 1_795_470_011_000,
            last_seen_ms: 1_795_470_012_000,
            fire_count: 1,
        };
        let events = vec![AlertEvent::Raised(alert.clone())];
        let mut peaks = ListenerPeaks::new();
        peaks.observe(&snapshot.listeners, 1_795_470_011_500);
        let moved = transition(Change::Gone(TcpState::LastAck));
        let moved = Transition {
            cause: intern_cause("recv ACK of our FIN"),
            ..moved
        };
        let doc = SnapshotDoc::of(
            "box",
            &snapshot,
            &aggregates,
            Some(&deltas),
            std::slice::from_ref(&alert),
            FrameParts {
                alert_events: Some(&events),
                transitions: Some(std::slice::from_ref(&moved)),
                peaks: Some(&peaks),
                connections: Some(&snapshot.sockets),
            },
        );
        assert_eq!(doc.sample_ms, 106.56);
        let text = serde_json::to_string(&doc).expect("json");
        let read: SnapshotDoc = serde_json::from_str(&text).expect("reads back");
        let decoded = read.decode().expect("decodes");
        assert_eq!(decoded.host, "box");
        assert_eq!(decoded.aggregates, aggregates);
        assert_eq!(aggregate(&decoded.snapshot), aggregates);
        assert_eq!(decoded.snapshot.sockets, snapshot.sockets);
        assert_eq!(decoded.snapshot.listeners, snapshot.listeners);
        assert_eq!(decoded.snapshot.counters, snapshot.counters);
        assert_eq!(decoded.snapshot.settings, snapshot.settings);
        assert_eq!(decoded.snapshot.owners, snapshot.owners);
        assert_eq!(decoded.snapshot.elapsed, Duration::from_micros(106_560));
        assert_eq!(decoded.deltas, Some(deltas));
        assert_eq!(decoded.alerts, vec![alert]);
        assert_eq!(decoded.alert_events, events);
        assert_eq!(decoded.transitions, vec![moved]);
        assert_eq!(decoded.peaks, peaks);
    }

    #[test]
    fn a_newer_schema_is_refused_by_name() {
        let snapshot = Snapshot::empty(0, SourceKind::Netlink);
        let aggregates = aggregate(&snapshot);
        let mut doc = SnapshotDoc::of(
            "box",
            &snapshot,
            &aggregates,
            None,
            &[],
            FrameParts::default(),
        );
        doc.envelope.schema_version = 2;
        assert_eq!(
            doc.decode().map(|_| ()),
            Err(ContractError::NewerSchema { found: 2 })
        );
    }
}
