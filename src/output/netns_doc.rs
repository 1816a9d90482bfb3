//! The `--all-namespaces` documents of the JSON contract v1
//! (assets/tcpwatch-v1.schema.json): who a namespace is (`netns`), what its
//! latest whole table showed and how old it is (`last_table`), the
//! `namespace` line (appeared, vanished), the `namespace_rows` line and
//! the `namespaces` document's envelope.
//!
//! Owns: `NetnsDoc`, `LastTableDoc`, `NamespaceLineDoc`, `NamespaceRowDoc`,
//! `NamespaceRowsDoc`, `NamespacesDoc`. Must not: do I/O or read the clock
//! (ages are measured against a time given in).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contract::{AlertDoc, Envelope, PortDoc, state_map};
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::collect::namespaces::reader::Access;
use crate::fleet::rows::{Fullest, NamespaceRow};
use crate::fleet::table::TableFigures;
use crate::format::timestamp::format_rfc3339;

/// `entered (setns)`, `/proc/PID/net from outside`, `own namespace`, or
/// `unreadable: why`.
pub fn access_text(access: &Result<Access, String>) -> String {
    match access {
        Ok(Access::Own) => "own namespace".to_string(),
        Ok(Access::Entered) => "entered (setns)".to_string(),
        Ok(Access::Outside { pid }) => format!("/proc/{pid}/net from outside"),
        Err(why) => format!("unreadable: {why}"),
    }
}

/// Who a namespace is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetnsDoc {
    /// The namespace's inode (`netns:[ID]`).
    pub id: u64,
    /// `host`, `netns NAME`, `docker 3f2a9c1b7d0e`, `pid 1234 (nginx)`.
    pub label: String,
    /// Whether it is the host's own namespace.
    pub host: bool,
    /// Its `ip netns` name.
    pub name: Option<String>,
    /// The container ID from `/proc/PID/cgroup`.
    pub container: Option<String>,
    /// `docker`, `containerd`, `cri-o`, `podman`.
    pub runtime: Option<String>,
    pub pod_uid: Option<String>,
    pub systemd_unit: Option<String>,
    /// The lowest PID in it, and its command.
    pub pid: Option<u32>,
    pub command: Option<String>,
    /// How it is read, or why it cannot be.
    pub access: String,
    pub readable: bool,
}

impl NetnsDoc {
    pub fn of(status: &NamespaceStatus) -> NetnsDoc {
        let found = &status.found;
        let container = found.origin.container.as_ref();
        NetnsDoc {
            id: found.id.0,
            label: found.label(),
            host: found.is_host,
            name: found.name.clone(),
            container: container.map(|c| c.id.clone()),
            runtime: container.map(|c| c.runtime.name().to_string()),
            pod_uid: found.origin.pod_uid.clone(),
            systemd_unit: found.origin.systemd_unit.clone(),
            pid: found.pid,
            command: found.command.clone(),
            access: access_text(&status.access),
            readable: status.access.is_ok(),
        }
    }
}

/// A namespace's latest whole table: round-robin, or its own when opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastTableDoc {
    pub time: String,
    pub time_ms: u64,
    /// How old it was when this document was written.
    pub age_ms: u64,
    /// The opened namespace's table (else round-robin).
    pub opened: bool,
    /// Sockets in it, every state.
    pub sockets: u64,
    /// What the dump took, rounded to microseconds.
    pub sample_ms: f64,
    pub totals: BTreeMap<String, u64>,
    /// Ports with CLOSE_WAIT or SYN_RECV first, then the busiest (8 at most).
    pub ports: Vec<PortDoc>,
    pub ports_left_out: usize,
}

impl LastTableDoc {
    pub fn of(figures: &TableFigures, now_ms: u64) -> LastTableDoc {
        let micros = u64::try_from(figures.cost.as_micros()).unwrap_or(u64::MAX);
        LastTableDoc {
            time: format_rfc3339(figures.at_ms),
            time_ms: figures.at_ms,
            age_ms: figures.age_ms(now_ms),
            opened: figures.opened,
            sockets: figures.sockets,
            sample_ms: micros as f64 / 1000.0,
            totals: state_map(&figures.totals),
            ports: figures.ports.iter().map(PortDoc::of).collect(),
            ports_left_out: figures.ports_left_out,
        }
    }
}

/// `--stream`: a namespace appeared or vanished (`type: namespace`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceLineDoc {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `appeared` or `vanished`.
    pub event: String,
    pub time: String,
    pub time_ms: u64,
    pub netns: NetnsDoc,
}

impl NamespaceLineDoc {
    pub fn of(host: &str, event: &str, status: &NamespaceStatus, at_ms: u64) -> NamespaceLineDoc {
        NamespaceLineDoc {
            envelope: Envelope::new("namespace", host, &status.found.label()),
            event: event.to_string(),
            time: format_rfc3339(at_ms),
            time_ms: at_ms,
            netns: NetnsDoc::of(status),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullestDoc {
    pub port: u16,
    pub accept_queue: u32,
    pub backlog: Option<u32>,
    pub full: bool,
}

/// One namespace's row (`namespace_rows`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceRowDoc {
    #[serde(flatten)]
    pub netns: NetnsDoc,
    /// sockstat `inuse` and `tw`.
    pub sockets: Option<u64>,
    pub time_wait: Option<u64>,
    pub listener_count: usize,
    pub fullest_queue: Option<FullestDoc>,
    pub listen_overflows_per_sec: Option<f64>,
    /// From its light samples and its latest whole table.
    pub alerts: Vec<AlertDoc>,
    pub error: Option<String>,
    pub last_table: Option<LastTableDoc>,
}

impl NamespaceRowDoc {
    pub fn of(row: &NamespaceRow, now_ms: u64) -> NamespaceRowDoc {
        NamespaceRowDoc {
            netns: NetnsDoc::of(&row.status),
            sockets: row.sockets,
            time_wait: row.time_wait,
            listener_count: row.listeners,
            fullest_queue: row.fullest.map(|f: Fullest| FullestDoc {
                port: f.port,
                accept_queue: f.queue,
                backlog: f.backlog,
                full: f.is_full(),
            }),
            listen_overflows_per_sec: row.overflows_per_sec,
            alerts: row.alerts.iter().map(AlertDoc::of).collect(),
            error: row.error.clone(),
            last_table: row.table.as_ref().map(|t| LastTableDoc::of(t, now_ms)),
        }
    }
}

/// Every namespace's row, worst first, once an interval (`namespace_rows`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceRowsDoc {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub time: String,
    pub time_ms: u64,
    pub namespaces: Vec<NamespaceRowDoc>,
}

impl NamespaceRowsDoc {
    pub fn of(host: &str, at_ms: u64, rows: &[NamespaceRow]) -> NamespaceRowsDoc {
        NamespaceRowsDoc {
            envelope: Envelope::new("namespace_rows", host, "all"),
            time: format_rfc3339(at_ms),
            time_ms: at_ms,
            namespaces: rows
                .iter()
                .map(|row| NamespaceRowDoc::of(row, at_ms))
                .collect(),
        }
    }
}

/// Every namespace at once (`--once`, the first `--stream` line). Each
/// entry is a `snapshot`'s keys (or `error`) with `NetnsDoc`'s keys,
/// `whole_table` and `last_table` (see the schema's `namespace_entry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespacesDoc {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub time: String,
    pub time_ms: u64,
    pub all_namespaces: bool,
    /// What discovery wants the user to know.
    pub notes: Vec<String>,
    /// Namespaces that could not be read (each says why).
    pub unreadable: usize,
    pub namespaces: Vec<Value>,
}
