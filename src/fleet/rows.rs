//! One row per namespace for the Namespaces panel and the line outputs:
//! its label, sockets and TIME_WAIT (sockstat), listeners, fullest queue
//! (`2/1 FULL`), ListenOverflows per second, active alerts (from its light
//! samples and from its latest whole table) and that table's figures;
//! sorted with the worst first.
//!
//! Owns: `NamespaceRow`, `Fullest` and the worst-first order. Must not: do
//! I/O or read the clock.

use std::cmp::Ordering;

use crate::alert::{Alert, Severity};
use crate::collect::namespaces::discovery::NamespaceId;
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::model::SocketRecord;

use super::table::TableFigures;

/// The fullest accept queue of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fullest {
    pub queue: u32,
    /// `None` when the source cannot tell (/proc from outside).
    pub backlog: Option<u32>,
    pub port: u16,
}

impl Fullest {
    /// The kernel's test: queue > backlog.
    pub fn is_full(&self) -> bool {
        self.backlog.is_some_and(|b| self.queue > b)
    }

    /// How full, 0.0 to above 1.0 (listen(N) holds N+1); unknown backlog: 0.
    pub fn fill(&self) -> f64 {
        self.backlog
            .map_or(0.0, |b| f64::from(self.queue) / (f64::from(b) + 1.0))
    }

    /// `2/1 FULL`, `0/128`, `3/?`.
    pub fn text(&self) -> String {
        match self.backlog {
            Some(b) if self.is_full() => format!("{}/{b} FULL", self.queue),
            Some(b) => format!("{}/{b}", self.queue),
            None => format!("{}/?", self.queue),
        }
    }

    /// The fullest of some listener records.
    pub fn of(listeners: &[SocketRecord]) -> Option<Fullest> {
        listeners
            .iter()
            .map(|l| Fullest {
                queue: l.recv_queue,
                backlog: l.backlog(),
                port: l.local.port(),
            })
            .max_by(|a, b| {
                (a.is_full(), a.fill(), a.queue)
                    .partial_cmp(&(b.is_full(), b.fill(), b.queue))
                    .unwrap_or(Ordering::Equal)
            })
    }
}

/// One namespace, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceRow {
    pub status: NamespaceStatus,
    /// When its latest light sample was taken (`None`: not yet).
    pub at_ms: Option<u64>,
    /// sockstat `inuse` and `tw`.
    pub sockets: Option<u64>,
    pub time_wait: Option<u64>,
    pub listeners: usize,
    pub fullest: Option<Fullest>,
    pub overflows_per_sec: Option<f64>,
    /// Active alerts, most severe first, naming the namespace.
    pub alerts: Vec<Alert>,
    /// Why the last sample failed, if it did.
    pub error: Option<String>,
    /// Its latest whole table (round-robin, or its own when opened).
    pub table: Option<TableFigures>,
}

impl NamespaceRow {
    pub fn new(status: NamespaceStatus) -> NamespaceRow {
        NamespaceRow {
            status,
            at_ms: None,
            sockets: None,
            time_wait: None,
            listeners: 0,
            fullest: None,
            overflows_per_sec: None,
            alerts: Vec::new(),
            error: None,
            table: None,
        }
    }

    pub fn id(&self) -> NamespaceId {
        self.status.found.id
    }

    pub fn label(&self) -> String {
        self.status.found.label()
    }

    pub fn worst_severity(&self) -> Option<Severity> {
        self.alerts.iter().map(|a| a.severity).max()
    }
}

/// How stale the readable namespaces' whole tables are at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableAges {
    pub oldest_ms: Option<u64>,
    pub median_ms: Option<u64>,
    /// Readable namespaces whose whole table has not been read yet.
    pub unread: usize,
}

impl TableAges {
    pub fn of(rows: &[NamespaceRow], now_ms: u64) -> TableAges {
        let readable = rows.iter().filter(|r| r.status.access.is_ok());
        let mut ages: Vec<u64> = Vec::new();
        let mut unread = 0;
        for row in readable {
            match &row.table {
                Some(table) => ages.push(table.age_ms(now_ms)),
                None => unread += 1,
            }
        }
        ages.sort_unstable();
        TableAges {
            oldest_ms: ages.last().copied(),
            median_ms: ages.get(ages.len() / 2).copied(),
            unread,
        }
    }
}

/// Worst first: most severe alert, a full queue, the fullest queue,
/// overflows per second, then the host, then by label.
pub fn worst_first(a: &NamespaceRow, b: &NamespaceRow) -> Ordering {
    let key = |row: &NamespaceRow| {
        (
            row.worst_severity(),
            row.fullest.is_some_and(|f| f.is_full()),
            row.fullest.map_or(0.0, |f| f.fill()),
            row.overflows_per_sec.unwrap_or(0.0),
            row.status.access.is_ok(),
        )
    };
    let (ka, kb) = (key(a), key(b));
    kb.0.cmp(&ka.0)
        .then(kb.1.cmp(&ka.1))
        .then(kb.2.partial_cmp(&ka.2).unwrap_or(Ordering::Equal))
        .then(kb.3.partial_cmp(&ka.3).unwrap_or(Ordering::Equal))
        .then(kb.4.cmp(&ka.4))
        .then(b.status.found.is_host.cmp(&a.status.found.is_host))
        .then_with(|| a.label().cmp(&b.label()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::collect::namespaces::cgroup::CgroupOrigin;
    use crate::collect::namespaces::discovery::FoundNamespace;
    use crate::collect::namespaces::reader::Access;
    use crate::model::socket::fixtures::listener;

    fn row(id: u64, name: &str) -> NamespaceRow {
        NamespaceRow::new(NamespaceStatus {
            found: FoundNamespace {
                id: NamespaceId(id),
                is_host: id == 1,
                name: Some(name.to_string()),
                pid: None,
                command: None,
                origin: CgroupOrigin::default(),
            },
            access: Ok(Access::Entered),
        })
    }

    fn alert(severity: Severity) -> Alert {
        Alert {
            kind: AlertKind::BacklogFull,
            subject: "x".into(),
            severity,
            summary: String::new(),
            cause: String::new(),
            fix: String::new(),
            since_ms: 0,
            last_seen_ms: 0,
            fire_count: 1,
        }
    }

    #[test]
    fn fullest_queue_reads_like_the_listeners_panel() {
        let records = [
            listener("127.0.0.1:80", 3, 128),
            listener("127.0.0.1:10000", 2, 1),
        ];
        let fullest = Fullest::of(&records).expect("a listener");
        assert_eq!(fullest.port, 10000);
        assert_eq!(fullest.text(), "2/1 FULL");
        assert_eq!(Fullest::of(&[]), None);
    }

    #[test]
    fn the_worst_namespace_comes_first() {
        let host = row(1, "host");
        let mut critical = row(5, "c");
        critical.alerts.push(alert(Severity::Critical));
        let mut warning = row(4, "w");
        warning.alerts.push(alert(Severity::Warning));
        let mut full = row(3, "f");
        full.fullest = Fullest::of(&[listener("127.0.0.1:1", 2, 1)]);
        let mut overflowing = row(2, "o");
        overflowing.overflows_per_sec = Some(5.0);
        let mut unreadable = row(6, "u");
        unreadable.status.access = Err("no".into());
        let mut rows = [unreadable, host, overflowing, full, warning, critical];
        rows.sort_by(worst_first);
        let names: Vec<String> = rows.iter().map(NamespaceRow::label).collect();
        assert_eq!(
            names,
            [
                "netns c", "netns w", "netns f", "netns o", "host", "netns u"
            ]
        );
    }
}
