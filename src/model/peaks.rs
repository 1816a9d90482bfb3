//! Listener peaks between full ticks: the fast listener-only sampling (about
//! 10 Hz, a LISTEN-only dump costs ~1 ms) sees accept-queue bursts that a
//! once-a-second snapshot misses. `ListenerPeaks` keeps, per listening
//! socket, the largest queue seen, the backlog, and how many samples found
//! the queue full, for one interval between full ticks.
//!
//! Owns: `ListenerPeaks`, `ListenerPeak`. Must not: do I/O, read the clock
//! (time comes in as `now_ms`), or decide what is alarming (that is `alert`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::socket::SocketRecord;
use super::state::TcpState;

/// What the samples of one interval saw of one listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPeak {
    pub local: SocketAddr,
    /// The socket inode: SO_REUSEPORT listeners share an address but each has
    /// its own accept queue, so the inode tells them apart.
    pub inode: u64,
    /// The largest accept queue seen in the interval.
    pub max_queue: u32,
    /// The backlog seen with that largest queue (the latest known one if the
    /// largest sample had none); `None` when the source cannot tell (/proc).
    pub backlog: Option<u32>,
    /// Samples in which the queue was full (queue > backlog, the kernel's test).
    pub full_samples: u32,
    /// Samples that saw this listener at all.
    pub samples: u32,
    /// When a sample first found it full in this interval.
    pub first_full_ms: Option<u64>,
    /// When the latest sample saw it.
    pub last_seen_ms: u64,
}

impl ListenerPeak {
    /// Whether any sample in the interval found the queue full.
    pub fn seen_full(&self) -> bool {
        self.full_samples > 0
    }

    fn observe(&mut self, record: &SocketRecord, now_ms: u64) {
        let backlog = record.backlog();
        if record.recv_queue > self.max_queue || self.samples == 0 {
            self.max_queue = record.recv_queue;
            self.backlog = backlog.or(self.backlog);
        } else if self.backlog.is_none() {
            self.backlog = backlog;
        }
        if backlog.is_some_and(|b| record.recv_queue > b) {
            self.full_samples += 1;
            self.first_full_ms.get_or_insert(now_ms);
        }
        self.samples += 1;
        self.last_seen_ms = now_ms;
    }
}

/// Peaks per listening socket over one interval. Memory is bounded by the
/// number of listeners: `take_interval` starts a fresh, empty interval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerPeaks {
    started_ms: Option<u64>,
    last_sample_ms: Option<u64>,
    samples: u32,
    by_listener: BTreeMap<(SocketAddr, u64), ListenerPeak>,
}

impl ListenerPeaks {
    pub fn new() -> ListenerPeaks {
        ListenerPeaks::default()
    }

    /// Peaks as recorded: the listeners' peaks, the interval's sample count
    /// and its first and last sample time.
    pub fn from_parts(
        peaks: Vec<ListenerPeak>,
        samples: u32,
        span_ms: Option<(u64, u64)>,
    ) -> ListenerPeaks {
        ListenerPeaks {
            started_ms: span_ms.map(|(first, _)| first),
            last_sample_ms: span_ms.map(|(_, last)| last),
            samples,
            by_listener: peaks.into_iter().map(|p| ((p.local, p.inode), p)).collect(),
        }
    }

    /// Records one sample of the listeners (non-LISTEN records are ignored).
    /// Feed it every fast sample and also the full tick's own listeners.
    pub(crate) fn observe(&mut self, listeners: &[SocketRecord], now_ms: u64) {
        self.started_ms.get_or_insert(now_ms);
        self.last_sample_ms = Some(now_ms);
        self.samples += 1;
        for record in listeners.iter().filter(|r| r.state == TcpState::Listen) {
            self.by_listener
                .entry((record.local, record.inode))
                .or_insert_with(|| ListenerPeak {
                    local: record.local,
                    inode: record.inode,
                    max_queue: 0,
                    backlog: None,
                    full_samples: 0,
                    samples: 0,
                    first_full_ms: None,
                    last_seen_ms: now_ms,
                })
                .observe(record, now_ms);
        }
    }

    /// Hands back the interval observed so far and starts a new, empty one.
    pub(crate) fn take_interval(&mut self) -> ListenerPeaks {
        std::mem::take(self)
    }

    /// The peak of one listening socket (address and inode).
    pub fn get(&self, local: &SocketAddr, inode: u64) -> Option<&ListenerPeak> {
        self.by_listener.get(&(*local, inode))
    }

    /// Every listener seen, sorted by address then inode.
    pub fn iter(&self) -> impl Iterator<Item = &ListenerPeak> + '_ {
        self.by_listener.values()
    }

    /// How many samples the interval holds.
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// First and last sample time, if any sample was taken.
    pub(crate) fn span_ms(&self) -> Option<(u64, u64)> {
        self.started_ms.zip(self.last_sample_ms)
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::{listener, record};

    #[test]
    fn keeps_the_largest_queue_and_counts_full_samples() {
        let mut peaks = ListenerPeaks::new();
        peaks.observe(&[listener("127.0.0.1:10000", 0, 1)], 100);
        peaks.observe(&[listener("127.0.0.1:10000", 2, 1)], 200);
        peaks.observe(&[listener("127.0.0.1:10000", 1, 1)], 300);
        let addr: SocketAddr = "127.0.0.1:10000".parse().expect("addr");
        let peak = peaks.get(&addr, 1000).expect("peak");
        assert_eq!(peak.max_queue, 2);
        assert_eq!(peak.backlog, Some(1));
        assert_eq!(peak.full_samples, 1);
        assert_eq!(peak.samples, 3);
        assert_eq!(peak.first_full_ms, Some(200));
        assert_eq!(peak.last_seen_ms, 300);
        assert!(peak.seen_full());
        assert_eq!(peaks.samples(), 3);
        assert_eq!(peaks.span_ms(), Some((100, 300)));
    }

    #[test]
    fn queue_equal_to_backlog_is_not_full() {
        let mut peaks = ListenerPeaks::new();
        peaks.observe(&[listener("127.0.0.1:10000", 1, 1)], 100);
        assert!(!peaks.iter().any(ListenerPeak::seen_full));
    }

    #[test]
    fn unknown_backlog_is_never_full() {
        let mut peaks = ListenerPeaks::new();
        let mut proc_listener = listener("127.0.0.1:10000", 9, 0);
        proc_listener.backlog_known = false;
        peaks.observe(&[proc_listener], 100);
        let peak = peaks.iter().next().expect("peak");
        assert_eq!(peak.backlog, None);
        assert_eq!(peak.max_queue, 9);
        assert!(!peak.seen_full());
    }

    #[test]
    fn take_interval_starts_afresh() {
        let mut peaks = ListenerPeaks::new();
        peaks.observe(&[listener("127.0.0.1:10000", 5, 1)], 100);
        let done = peaks.take_interval();
        assert_eq!(done.samples(), 1);
        assert!(peaks.is_empty());
        assert_eq!(peaks.iter().count(), 0);
        peaks.observe(&[listener("127.0.0.1:10000", 0, 1)], 1100);
        assert_eq!(peaks.iter().next().map(|p| p.max_queue), Some(0));
        assert_eq!(peaks.span_ms(), Some((1100, 1100)));
    }

    #[test]
    fn reuseport_listeners_are_kept_apart_and_others_ignored() {
        let mut a = listener("0.0.0.0:80", 3, 2);
        a.inode = 1;
        let mut b = listener("0.0.0.0:80", 0, 2);
        b.inode = 2;
        let established = record(TcpState::Established, "10.0.0.1:80", "10.0.0.2:5000");
        let mut peaks = ListenerPeaks::new();
        peaks.observe(&[a, b, established], 100);
        assert_eq!(peaks.iter().count(), 2);
        let addr: SocketAddr = "0.0.0.0:80".parse().expect("addr");
        assert!(peaks.get(&addr, 1).is_some_and(ListenerPeak::seen_full));
        assert!(peaks.get(&addr, 2).is_some_and(|p| !p.seen_full()));
    }
}
