//! What every rule reads in one evaluation, computed once: each listener
//! merged with its between-tick peak and whether it was seen full, the
//! listener ports, counter growth, and the wording shared by several rules
//! (process names, intervals, sysctl values).
//!
//! Owns: `Context`, `ListenerView`, `FullEvidence`. Must not: decide what
//! to alert on (rules do) or keep state across evaluations (the engine does).

use std::net::{IpAddr, SocketAddr};

use crate::model::peaks::{ListenerPeak, ListenerPeaks};
use crate::model::{
    Aggregates, Counter, CounterDeltas, ListenerSummary, NoOwnerReason, Snapshot, SocketRecord,
    Sysctl, TcpState,
};

use super::Thresholds;

/// Why a listener counts as full in this interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FullEvidence {
    /// The snapshot itself shows queue > backlog.
    Now { queue: u32, backlog: u32 },
    /// Only the fast samples between ticks saw it full.
    Peak {
        peak_queue: u32,
        backlog: u32,
        full_samples: u32,
        samples: u32,
        /// The queue in the snapshot, if the listener is still there.
        now_queue: Option<u32>,
    },
    /// Backlog unknown (/proc), but the queue exceeds net.core.somaxconn,
    /// which bounds every backlog: so it is full.
    AboveSomaxconn { queue: u32, somaxconn: u32 },
}

/// One listening socket as this evaluation sees it: snapshot and peaks.
#[derive(Debug, Clone)]
pub(crate) struct ListenerView<'a> {
    pub local: SocketAddr,
    pub inode: u64,
    pub summary: Option<&'a ListenerSummary>,
    pub peak: Option<&'a ListenerPeak>,
    pub full: Option<FullEvidence>,
    /// "python3 pid 42" or "process unknown: …".
    pub process: String,
}

impl ListenerView<'_> {
    /// The backlog, from the snapshot or else from the peaks.
    pub fn backlog(&self) -> Option<u32> {
        self.summary
            .and_then(|s| s.backlog)
            .or_else(|| self.peak.and_then(|p| p.backlog))
    }

    /// The largest queue seen: the snapshot's or the peak's.
    pub(crate) fn max_queue(&self) -> u32 {
        let now = self.summary.map_or(0, |s| s.accept_queue);
        self.peak.map_or(now, |p| p.max_queue.max(now))
    }
}

/// The evaluation's inputs plus what several rules derive from them.
pub(crate) struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub aggregates: &'a Aggregates,
    pub deltas: Option<CounterDeltas>,
    pub interval_ms: u64,
    pub peaks: &'a ListenerPeaks,
    pub thresholds: &'a Thresholds,
    /// Snapshot listeners first (aggregate order), then listeners only the
    /// peaks saw (closed since).
    pub listeners: Vec<ListenerView<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(
        snapshot: &'a Snapshot,
        aggregates: &'a Aggregates,
        deltas: Option<CounterDeltas>,
        interval_ms: u64,
        peaks: &'a ListenerPeaks,
        thresholds: &'a Thresholds,
    ) -> Context<'a> {
        let somaxconn = snapshot.settings.somaxconn;
        let mut listeners: Vec<ListenerView<'a>> = aggregates
            .listeners
            .iter()
            .map(|summary| {
                let peak = peaks.get(&summary.local, summary.inode);
                let process = match &summary.process {
                    Some(p) => format!("{} pid {}", p.name, p.pid),
                    None => snapshot
                        .listeners
                        .iter()
                        .find(|l| l.local == summary.local && l.inode == summary.inode)
                        .map_or_else(
                            || "process unknown".to_string(),
                            |l| process_of(snapshot, l),
                        ),
                };
                ListenerView {
                    local: summary.local,
                    inode: summary.inode,
                    summary: Some(summary),
                    peak,
                    full: full_evidence(Some(summary), peak, somaxconn),
                    process,
                }
            })
            .collect();
        for peak in peaks.iter() {
            let known = listeners
                .iter()
                .any(|v| v.local == peak.local && v.inode == peak.inode);
            if !known {
                listeners.push(ListenerView {
                    local: peak.local,
                    inode: peak.inode,
                    summary: None,
                    peak: Some(peak),
                    full: full_evidence(None, Some(peak), somaxconn),
                    process: "process unknown: the listener has closed since".to_string(),
                });
            }
        }
        Context {
            snapshot,
            aggregates,
            deltas,
            interval_ms,
            peaks,
            thresholds,
            listeners,
        }
    }

    /// How much a counter grew since the previous evaluation (0 if unknown).
    pub(crate) fn growth(&self, counter: Counter) -> u64 {
        self.deltas.map_or(0, |d| d.growth(counter))
    }

    /// "ListenOverflows +6" for the counters that grew, joined by ", ".
    pub(crate) fn growth_text(&self, counters: &[Counter]) -> String {
        counters
            .iter()
            .filter(|c| self.growth(**c) > 0)
            .map(|c| format!("{} +{}", c.kernel_name(), self.growth(*c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "in the last 1.0 s".
    pub(crate) fn interval_text(&self) -> String {
        format!("in the last {}", seconds(self.interval_ms))
    }

    /// Subject for namespace-wide alerts: "host", "pid 1234", "netns blue".
    pub fn namespace(&self) -> String {
        self.snapshot.namespace.clone()
    }

    /// "net.core.somaxconn=4096", or "net.core.somaxconn (unread)".
    pub fn sysctl(&self, sysctl: Sysctl) -> String {
        match self.snapshot.settings.display_value(sysctl) {
            Some(value) => format!("{}={value}", sysctl.name()),
            None => format!("{} (unread)", sysctl.name()),
        }
    }

    /// A sysctl's value as `sysctl -n` prints it, or "unread".
    pub fn value(&self, sysctl: Sysctl) -> String {
        self.snapshot
            .settings
            .display_value(sysctl)
            .unwrap_or_else(|| "unread".to_string())
    }

    /// The listener a connection to `addr` lands on: an exact address, else a
    /// wildcard listener of the same family on the same port, else any
    /// wildcard on the port (a dual-stack [::] takes IPv4 too).
    pub(crate) fn listener_for(&self, addr: &SocketAddr) -> Option<&ListenerView<'a>> {
        let same_port = |v: &&ListenerView<'a>| v.local.port() == addr.port();
        let same_family = |a: IpAddr, b: IpAddr| a.is_ipv4() == b.is_ipv4();
        self.listeners
            .iter()
            .filter(same_port)
            .find(|v| v.local.ip() == addr.ip())
            .or_else(|| {
                self.listeners
                    .iter()
                    .filter(same_port)
                    .find(|v| v.local.ip().is_unspecified() && same_family(v.local.ip(), addr.ip()))
            })
            .or_else(|| {
                self.listeners
                    .iter()
                    .filter(same_port)
                    .find(|v| v.local.ip().is_unspecified())
            })
    }

    /// Whether the port filter may hide sockets or listeners.
    pub(crate) fn filter_text(&self) -> Option<String> {
        (!self.snapshot.filter.ports.is_empty())
            .then(|| format!("the filter ({})", self.snapshot.filter.describe()))
    }
}

fn full_evidence(
    summary: Option<&ListenerSummary>,
    peak: Option<&ListenerPeak>,
    somaxconn: Option<u32>,
) -> Option<FullEvidence> {
    if let Some(s) = summary
        && let (Some(true), Some(backlog)) = (s.is_full(), s.backlog)
    {
        return Some(FullEvidence::Now {
            queue: s.accept_queue,
            backlog,
        });
    }
    if let Some(p) = peak
        && p.seen_full()
        && let Some(backlog) = p.backlog
    {
        return Some(FullEvidence::Peak {
            peak_queue: p.max_queue,
            backlog,
            full_samples: p.full_samples,
            samples: p.samples,
            now_queue: summary.map(|s| s.accept_queue),
        });
    }
    let backlog_known = summary.map_or_else(
        || peak.is_some_and(|p| p.backlog.is_some()),
        |s| s.backlog.is_some(),
    );
    let queue = summary
        .map_or(0, |s| s.accept_queue)
        .max(peak.map_or(0, |p| p.max_queue));
    match somaxconn {
        Some(somaxconn) if !backlog_known && queue > somaxconn => {
            Some(FullEvidence::AboveSomaxconn { queue, somaxconn })
        }
        _ => None,
    }
}

/// "python3 pid 42", or "process unknown: <why>".
pub(crate) fn process_of(snapshot: &Snapshot, record: &SocketRecord) -> String {
    process_of_inode(snapshot, record.state, record.inode)
}

/// `process_of` for a socket known by its state and inode.
pub(crate) fn process_of_inode(snapshot: &Snapshot, state: TcpState, inode: u64) -> String {
    match snapshot.owner_of_inode(state, inode) {
        Ok(p) => format!("{} pid {}", p.name, p.pid),
        Err(reason) => unknown_owner(reason),
    }
}

/// "process unknown: <why>", or just "process unknown" when nobody knows why.
fn unknown_owner(reason: NoOwnerReason) -> String {
    match reason {
        NoOwnerReason::Unknown => "process unknown".to_string(),
        other => format!("process unknown: {}", other.explain()),
    }
}

/// The owners of some sockets in one state, given by their inodes, most
/// sockets first: "python3 pid 42 ×7, java pid 9 ×2", or "process unknown:
/// <why>" when none is known. When `inodes` is a sample of `total` sockets,
/// the counts say so: "… ×89, … ×84 (in a sample of 256)".
pub(crate) fn owners_of_inodes(
    snapshot: &Snapshot,
    state: TcpState,
    inodes: &[u64],
    total: u64,
) -> String {
    let mut counts: Vec<(String, u64)> = Vec::new();
    let mut unknown: Option<String> = None;
    for inode in inodes {
        match snapshot.owner_of_inode(state, *inode) {
            Ok(p) => {
                let label = format!("{} pid {}", p.name, p.pid);
                match counts.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((label, 1)),
                }
            }
            Err(reason) => {
                unknown.get_or_insert_with(|| unknown_owner(reason));
            }
        }
    }
    if counts.is_empty() {
        return unknown.unwrap_or_else(|| "process unknown".to_string());
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let shown: Vec<String> = counts
        .iter()
        .take(3)
        .map(|(label, n)| {
            if counts.len() == 1 {
                label.clone()
            } else {
                format!("{label} ×{n}")
            }
        })
        .collect();
    let sampled = inodes.len() as u64;
    if counts.len() > 1 && sampled < total {
        format!("{} (in a sample of {sampled})", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// "1.0 s", "12 s", "250 ms".
pub(crate) fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_reads_naturally() {
        assert_eq!(seconds(250), "250 ms");
        assert_eq!(seconds(1000), "1.0 s");
        assert_eq!(seconds(1500), "1.5 s");
        assert_eq!(seconds(12_345), "12 s");
    }
}
