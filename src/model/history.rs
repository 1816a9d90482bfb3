//! Bounded time series over samples: TIME_WAIT per service port and in
//! total, accept-queue depth per listener (fed by the frequent listener-only
//! samples too), and the counters of the last two snapshots for deltas.
//!
//! Owns: `History`, `TimeSeries`, `HistoryLimits`. Must not: do I/O or read
//! the clock (every point comes with its time), or grow without bound: each
//! series is a ring, the number of ports and listeners followed is capped,
//! and ones gone for a while are forgotten.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use super::aggregate::Aggregates;
use super::counters::{CounterDeltas, Counters, Sockstat};
use super::snapshot::Snapshot;
use super::socket::SocketRecord;
use super::state::TcpState;

/// How much history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryLimits {
    /// Points per TIME_WAIT series (one per full sample): 240 covers 4 minutes
    /// at 1 s, 2 minutes at 500 ms.
    pub time_wait_points: usize,
    /// Points per accept-queue series (one per listener sample, ~10 Hz).
    pub queue_points: usize,
    /// Service ports with a TIME_WAIT series at most.
    pub max_ports: usize,
    /// Listeners with a queue series at most.
    pub max_listeners: usize,
    /// A port or listener not seen for this long is forgotten.
    pub forget_after_ms: u64,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits {
            time_wait_points: 240,
            queue_points: 600,
            max_ports: 64,
            max_listeners: 64,
            forget_after_ms: 5 * 60 * 1000,
        }
    }
}

/// A ring of `(time_ms, value)` points in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeSeries {
    points: VecDeque<(u64, u64)>,
    capacity: usize,
}

impl TimeSeries {
    pub fn new(capacity: usize) -> TimeSeries {
        TimeSeries {
            points: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
        }
    }

    /// Appends a point. A point not later than the last one replaces it, so
    /// time never runs backwards inside a series.
    pub fn push(&mut self, at_ms: u64, value: u64) {
        if let Some(last) = self.points.back_mut()
            && at_ms <= last.0
        {
            *last = (last.0, value);
            return;
        }
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back((at_ms, value));
    }

    #[cfg(test)]
    pub(crate) fn points(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.points.iter().copied()
    }

    /// The points taken at or before `until_ms` (what a paused view shows).
    pub(crate) fn points_until(&self, until_ms: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.points
            .iter()
            .copied()
            .take_while(move |(t, _)| *t <= until_ms)
    }

    #[cfg(test)]
    pub(crate) fn latest(&self) -> Option<(u64, u64)> {
        self.points.back().copied()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// The largest value in `[from_ms, until_ms]`.
    #[cfg(test)]
    pub(crate) fn max_between(&self, from_ms: u64, until_ms: u64) -> Option<u64> {
        self.points
            .iter()
            .filter(|(t, _)| (from_ms..=until_ms).contains(t))
            .map(|(_, v)| *v)
            .max()
    }
}

#[derive(Debug, Clone)]
struct Tracked {
    series: TimeSeries,
    /// Last time the subject was present (a port: with TIME_WAIT sockets; a
    /// listener: in the table).
    last_seen_ms: u64,
}

/// Everything the views chart over time.
#[derive(Debug, Clone)]
pub(crate) struct History {
    limits: HistoryLimits,
    /// Namespace-wide TIME_WAIT: sockstat's `tw` when read, else the table count.
    time_wait_total: TimeSeries,
    time_wait_by_port: HashMap<u16, Tracked>,
    queue_by_listener: HashMap<SocketAddr, Tracked>,
    latest_counters: Option<Counters>,
    previous_counters: Option<Counters>,
}

impl Default for History {
    fn default() -> Self {
        History::new(HistoryLimits::default())
    }
}

impl History {
    pub fn new(limits: HistoryLimits) -> History {
        History {
            limits,
            time_wait_total: TimeSeries::new(limits.time_wait_points),
            time_wait_by_port: HashMap::new(),
            queue_by_listener: HashMap::new(),
            latest_counters: None,
            previous_counters: None,
        }
    }

    /// Records one full sample.
    pub(crate) fn record_snapshot(&mut self, snapshot: &Snapshot, aggregates: &Aggregates) {
        let at_ms = snapshot.taken_at_ms;
        let tw = &aggregates.time_wait;
        self.time_wait_total
            .push(at_ms, tw.sockstat_total.unwrap_or(tw.total));
        self.record_time_wait_by_port(at_ms, &tw.by_port);
        self.record_queues(at_ms, &snapshot.listeners);
        self.previous_counters = self.latest_counters.replace(snapshot.counters);
    }

    /// Records counters and the namespace's TIME_WAIT total read between
    /// spread-out full dumps.
    pub(crate) fn record_totals(&mut self, at_ms: u64, counters: &Counters, sockstat: &Sockstat) {
        self.time_wait_total.push(at_ms, sockstat.tw);
        self.previous_counters = self.latest_counters.replace(*counters);
    }

    /// Records one listener-only sample (cheap, ~10 Hz).
    pub(crate) fn record_listener_sample(&mut self, at_ms: u64, listeners: &[SocketRecord]) {
        self.record_queues(at_ms, listeners);
    }

    pub(crate) fn time_wait_total(&self) -> &TimeSeries {
        &self.time_wait_total
    }

    pub(crate) fn time_wait_for_port(&self, port: u16) -> Option<&TimeSeries> {
        self.time_wait_by_port.get(&port).map(|t| &t.series)
    }

    pub(crate) fn queue_depth(&self, local: &SocketAddr) -> Option<&TimeSeries> {
        self.queue_by_listener.get(local).map(|t| &t.series)
    }

    /// Counter growth between the last two full samples.
    pub(crate) fn counter_deltas(&self) -> Option<CounterDeltas> {
        match (&self.latest_counters, &self.previous_counters) {
            (Some(latest), Some(previous)) => Some(latest.delta_since(previous)),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn tracked_port_count(&self) -> usize {
        self.time_wait_by_port.len()
    }

    #[cfg(test)]
    pub(crate) fn tracked_listener_count(&self) -> usize {
        self.queue_by_listener.len()
    }

    fn record_time_wait_by_port(&mut self, at_ms: u64, by_port: &[(u16, u64)]) {
        let current: HashMap<u16, u64> = by_port.iter().copied().collect();
        for (port, tracked) in &mut self.time_wait_by_port {
            let count = current.get(port).copied().unwrap_or(0);
            tracked.series.push(at_ms, count);
            if count > 0 {
                tracked.last_seen_ms = at_ms;
            }
        }
        for (port, count) in by_port.iter().copied().filter(|(_, n)| *n > 0) {
            if !self.time_wait_by_port.contains_key(&port) {
                let mut series = TimeSeries::new(self.limits.time_wait_points);
                series.push(at_ms, count);
                insert_capped(
                    &mut self.time_wait_by_port,
                    port,
                    Tracked {
                        series,
                        last_seen_ms: at_ms,
                    },
                    self.limits.max_ports,
                );
            }
        }
        forget_stale(
            &mut self.time_wait_by_port,
            at_ms,
            self.limits.forget_after_ms,
        );
    }

    fn record_queues(&mut self, at_ms: u64, listeners: &[SocketRecord]) {
        // SO_REUSEPORT listeners share an address: chart the deepest queue.
        let mut deepest: HashMap<SocketAddr, u64> = HashMap::new();
        for listener in listeners.iter().filter(|l| l.state == TcpState::Listen) {
            let depth = deepest.entry(listener.local).or_default();
            *depth = (*depth).max(u64::from(listener.recv_queue));
        }
        for (local, depth) in deepest {
            match self.queue_by_listener.get_mut(&local) {
                Some(tracked) => {
                    tracked.series.push(at_ms, depth);
                    tracked.last_seen_ms = at_ms;
                }
                None => {
                    let mut series = TimeSeries::new(self.limits.queue_points);
                    series.push(at_ms, depth);
                    insert_capped(
                        &mut self.queue_by_listener,
                        local,
                        Tracked {
                            series,
                            last_seen_ms: at_ms,
                        },
                        self.limits.max_listeners,
                    );
                }
            }
        }
        forget_stale(
            &mut self.queue_by_listener,
            at_ms,
            self.limits.forget_after_ms,
        );
    }
}

/// Inserts, evicting the entry seen longest ago when the map is full.
fn insert_capped<K: std::hash::Hash + Eq + Copy>(
    map: &mut HashMap<K, Tracked>,
    key: K,
    value: Tracked,
    cap: usize,
) {
    if cap == 0 {
        return;
    }
    while map.len() >= cap {
        let oldest = map
            .iter()
            .min_by_key(|(_, t)| t.last_seen_ms)
            .map(|(k, _)| *k);
        match oldest {
            Some(k) => {
                map.remove(&k);
            }
            None => break,
        }
    }
    map.insert(key, value);
}

fn forget_stale<K>(map: &mut HashMap<K, Tracked>, now_ms: u64, forget_after_ms: u64) {
    map.retain(|_, t| now_ms.saturating_sub(t.last_seen_ms) <= forget_after_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::aggregate::aggregate;
    use crate::model::counters::{Counter, Sockstat};
    use crate::model::snapshot::SourceKind;
    use crate::model::socket::fixtures::{listener, record};

    fn snapshot_with_time_wait(at_ms: u64, port: u16, count: u16) -> Snapshot {
        let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
        snap.listeners
            .push(listener(&format!("127.0.0.1:{port}"), 0, 128));
        for client in 0..count {
            snap.sockets.push(record(
                TcpState::TimeWait,
                &format!("127.0.0.1:{}", 40000 + client),
                &format!("127.0.0.1:{port}"),
            ));
        }
        snap
    }

    fn record_snapshot(history: &mut History, snap: &Snapshot) {
        history.record_snapshot(snap, &aggregate(snap));
    }

    #[test]
    fn series_is_a_ring_and_never_runs_backwards() {
        let mut series = TimeSeries::new(3);
        for t in 1..=5 {
            series.push(t * 10, t);
        }
        assert_eq!(
            series.points().collect::<Vec<_>>(),
            [(30, 3), (40, 4), (50, 5)]
        );
        series.push(50, 9);
        series.push(20, 7);
        assert_eq!(series.latest(), Some((50, 7)));
        assert_eq!(series.len(), 3);
        assert_eq!(series.max_between(0, 45), Some(4));
        assert_eq!(series.points_until(40).count(), 2);
    }

    #[test]
    fn time_wait_is_charted_per_port_and_in_total() {
        let mut history = History::default();
        let mut first = snapshot_with_time_wait(1_000, 10000, 3);
        first.sockstat = Some(Sockstat {
            tw: 50,
            ..Sockstat::default()
        });
        record_snapshot(&mut history, &first);
        record_snapshot(&mut history, &snapshot_with_time_wait(2_000, 10000, 0));
        let port: Vec<_> = history
            .time_wait_for_port(10000)
            .expect("port followed")
            .points()
            .collect();
        assert_eq!(
            port,
            [(1_000, 3), (2_000, 0)],
            "a port that drains charts 0"
        );
        let total: Vec<_> = history.time_wait_total().points().collect();
        assert_eq!(total, [(1_000, 50), (2_000, 0)], "sockstat wins when read");
    }

    #[test]
    fn ports_and_listeners_are_capped_and_forgotten() {
        let limits = HistoryLimits {
            max_ports: 2,
            max_listeners: 2,
            forget_after_ms: 10_000,
            ..HistoryLimits::default()
        };
        let mut history = History::new(limits);
        for (i, port) in [1000u16, 2000, 3000].into_iter().enumerate() {
            let at = 1_000 * (i as u64 + 1);
            record_snapshot(&mut history, &snapshot_with_time_wait(at, port, 1));
        }
        assert_eq!(history.tracked_port_count(), 2);
        assert!(history.time_wait_for_port(1000).is_none(), "oldest evicted");
        assert!(history.time_wait_for_port(3000).is_some());
        assert_eq!(history.tracked_listener_count(), 2);
        // Hours later nothing of that is left.
        let later = Snapshot::empty(3_600_000, SourceKind::Netlink);
        record_snapshot(&mut history, &later);
        assert_eq!(history.tracked_port_count(), 0);
        assert_eq!(history.tracked_listener_count(), 0);
    }

    #[test]
    fn listener_samples_feed_the_queue_series() {
        let mut history = History::default();
        let local: SocketAddr = "127.0.0.1:10000".parse().expect("addr");
        for (i, queue) in [0u32, 1, 2, 2].into_iter().enumerate() {
            history
                .record_listener_sample(100 * i as u64, &[listener("127.0.0.1:10000", queue, 1)]);
        }
        let depths: Vec<u64> = history
            .queue_depth(&local)
            .expect("listener followed")
            .points()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(depths, [0, 1, 2, 2]);
    }

    #[test]
    fn counter_deltas_need_two_samples() {
        let mut history = History::default();
        let mut snap = Snapshot::empty(1_000, SourceKind::Netlink);
        snap.counters.set(Counter::ListenOverflows, 10);
        record_snapshot(&mut history, &snap);
        assert!(history.counter_deltas().is_none());
        snap.taken_at_ms = 2_000;
        snap.counters.set(Counter::ListenOverflows, 13);
        record_snapshot(&mut history, &snap);
        let deltas = history.counter_deltas().expect("two samples");
        assert_eq!(deltas.get(Counter::ListenOverflows), Some(3));
    }
}
