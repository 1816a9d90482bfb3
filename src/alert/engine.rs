//! The alert engine: runs every rule family over one evaluation's input and
//! hands the findings to the lifecycle. Keeps the small per-subject history
//! some rules need (TIME_WAIT per port, CLOSE_WAIT per port), bounded.
//!
//! Owns: `AlertEngine`, `EvaluationInput`. Must not: do I/O or read the
//! clock; `now_ms` and the interval come in with the input.

use crate::model::peaks::ListenerPeaks;
use crate::model::{Aggregates, CounterDeltas, Counters, Snapshot};

use super::close_wait::CloseWaitHistory;
use super::context::Context;
use super::lifecycle::Lifecycle;
use super::time_wait::TimeWaitHistory;
use super::{Alert, AlertEvent, Thresholds, backlog, half_open, overflow, ports, syn_queue};

/// Everything one evaluation reads.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationInput<'a> {
    /// The evaluation time (ms since the Unix epoch), normally the
    /// snapshot's `taken_at_ms`.
    pub now_ms: u64,
    pub snapshot: &'a Snapshot,
    pub aggregates: &'a Aggregates,
    /// Counter growth since the previous evaluation; `None` on the first.
    pub deltas: Option<CounterDeltas>,
    /// Time since the previous evaluation (0 on the first).
    pub interval_ms: u64,
    /// What the fast listener sampling saw since the previous evaluation
    /// (`ListenerPeaks::take_interval`); may be empty.
    pub peaks: &'a ListenerPeaks,
}

/// Turns evaluations into alert events. Pure apart from its own state.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    thresholds: Thresholds,
    lifecycle: Lifecycle,
    time_wait: TimeWaitHistory,
    close_wait: CloseWaitHistory,
    /// For `evaluate_snapshot`: the previous snapshot's time and counters.
    previous: Option<(u64, Counters)>,
}

impl Default for AlertEngine {
    fn default() -> Self {
        AlertEngine::new(Thresholds::default())
    }
}

impl AlertEngine {
    /// An engine with these thresholds (nonsense values are repaired, see
    /// `Thresholds::sanitized`).
    pub fn new(thresholds: Thresholds) -> AlertEngine {
        let thresholds = thresholds.sanitized();
        AlertEngine {
            lifecycle: Lifecycle::new(
                thresholds.raise_after,
                thresholds.clear_after,
                thresholds.fire_count_memory,
            ),
            time_wait: TimeWaitHistory::default(),
            close_wait: CloseWaitHistory::default(),
            previous: None,
            thresholds,
        }
    }

    /// Runs every rule and returns what was raised or cleared.
    pub fn evaluate(&mut self, input: &EvaluationInput<'_>) -> Vec<AlertEvent> {
        let ctx = Context::new(
            input.snapshot,
            input.aggregates,
            input.deltas,
            input.interval_ms,
            input.peaks,
            &self.thresholds,
        );
        let mut findings = Vec::new();
        backlog::check(&ctx, &mut findings);
        overflow::check(&ctx, &mut findings);
        syn_queue::check(&ctx, &mut findings);
        self.time_wait.check(&ctx, &mut findings);
        ports::check(&ctx, &mut findings);
        self.close_wait.check(&ctx, &mut findings);
        half_open::check(&ctx, &mut findings);
        self.lifecycle.apply(findings, input.now_ms)
    }

    /// The convenient driver: aggregates the snapshot, diffs its counters
    /// against the previous snapshot given here, and evaluates at the
    /// snapshot's `taken_at_ms`. `peaks` is the interval since that previous
    /// snapshot (`ListenerPeaks::take_interval`).
    #[cfg(test)]
    pub(crate) fn evaluate_snapshot(
        &mut self,
        snapshot: &Snapshot,
        peaks: &ListenerPeaks,
    ) -> Vec<AlertEvent> {
        self.evaluate_aggregated(snapshot, &crate::model::aggregate(snapshot), peaks)
    }

    /// Like `evaluate_snapshot`, with the snapshot's aggregates already made.
    pub(crate) fn evaluate_aggregated(
        &mut self,
        snapshot: &Snapshot,
        aggregates: &Aggregates,
        peaks: &ListenerPeaks,
    ) -> Vec<AlertEvent> {
        let (deltas, interval_ms) = match self.previous {
            Some((then, counters)) => (
                Some(snapshot.counters.delta_since(&counters)),
                snapshot.taken_at_ms.saturating_sub(then),
            ),
            None => (None, 0),
        };
        self.previous = Some((snapshot.taken_at_ms, snapshot.counters));
        self.evaluate(&EvaluationInput {
            now_ms: snapshot.taken_at_ms,
            snapshot,
            aggregates,
            deltas,
            interval_ms,
            peaks,
        })
    }

    /// Active alerts, most severe first, then by kind and subject.
    pub fn active(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.lifecycle.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertKind, Severity};
    use crate::model::listen_one::ListenOne;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Counter, SourceKind, TcpState};

    /// The write-up's listen(1) experiment on loopback, at time `now_ms`.
    fn listen_one(now_ms: u64, overflows: u64) -> Snapshot {
        // Two in the queue, two half-open, one client retrying (twice).
        let scene = ListenOne {
            queued: 2,
            half_open: 2,
            waiting: 1,
            seconds: 2,
        };
        let mut snap = scene.snapshot(now_ms);
        snap.settings.somaxconn = Some(4096);
        snap.counters.set(Counter::ListenOverflows, overflows);
        snap.counters.set(Counter::ListenDrops, overflows);
        snap
    }

    #[test]
    fn evaluate_takes_explicit_inputs() {
        let mut engine = AlertEngine::default();
        let snap = listen_one(5_000, 0);
        let aggregates = crate::model::aggregate(&snap);
        let mut before = Counters::default();
        before.set(Counter::ListenOverflows, 0);
        let mut after = before;
        after.set(Counter::ListenOverflows, 6);
        let peaks = ListenerPeaks::new();
        let events = engine.evaluate(&EvaluationInput {
            now_ms: 5_000,
            snapshot: &snap,
            aggregates: &aggregates,
            deltas: Some(after.delta_since(&before)),
            interval_ms: 2_000,
            peaks: &peaks,
        });
        assert_eq!(events.len(), 1, "{events:?}");
        let alert = events[0].alert();
        assert_eq!(alert.kind, AlertKind::BacklogFull);
        assert!(
            alert
                .summary
                .contains("ListenOverflows +6 in the last 2.0 s"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn the_listen_one_experiment_reads_as_one_story() {
        let mut engine = AlertEngine::default();
        let peaks = ListenerPeaks::new();
        engine.evaluate_snapshot(&listen_one(1_000, 10), &peaks);
        let events = engine.evaluate_snapshot(&listen_one(2_000, 13), &peaks);
        assert!(events.iter().all(|e| e.is_raised()));
        let active: Vec<(Severity, AlertKind, String)> = engine
            .active()
            .map(|a| (a.severity, a.kind, a.subject.clone()))
            .collect();
        let subject = "127.0.0.1:10000".to_string();
        assert_eq!(
            active,
            vec![
                (Severity::Critical, AlertKind::BacklogFull, subject.clone()),
                (
                    Severity::Warning,
                    AlertKind::SynQueuePressure,
                    subject.clone()
                ),
                (Severity::Warning, AlertKind::HalfOpenMismatch, subject),
            ]
        );
        let full = engine
            .active()
            .next()
            .map(|a| a.summary.clone())
            .unwrap_or_default();
        assert!(
            full.contains("ListenOverflows +3, ListenDrops +3"),
            "overflows are attributed to the full listener: {full}"
        );
        assert!(
            full.contains("1 client on this host waits in SYN_SENT (up to 2 SYN retransmits)"),
            "{full}"
        );
    }

    /// Every rule reads the aggregates, so a snapshot that kept none of its
    /// records (a table above the retention limit) is judged the same.
    #[test]
    fn answers_do_not_depend_on_the_records_kept() {
        let table = |now_ms: u64, close_wait: u16| {
            let mut snap = listen_one(now_ms, 10);
            snap.settings.ip_local_port_range = Some((50000, 50009));
            snap.settings.tcp_tw_reuse = Some(0);
            for port in 50000..50010 {
                snap.sockets.push(record(
                    TcpState::TimeWait,
                    &format!("10.0.0.1:{port}"),
                    "10.0.0.5:80",
                ));
            }
            snap.listeners.push(listener("127.0.0.1:8080", 0, 128));
            for i in 0..close_wait {
                let mut rec = record(
                    TcpState::CloseWait,
                    "127.0.0.1:8080",
                    &format!("127.0.0.1:{}", 30000 + i),
                );
                rec.inode = 77;
                snap.sockets.push(rec);
            }
            snap.owners.insert(
                77,
                crate::model::ProcessInfo {
                    pid: 42,
                    name: "server".to_string(),
                },
            );
            snap
        };
        let peaks = ListenerPeaks::new();
        let mut whole = AlertEngine::default();
        let mut none_kept = AlertEngine::default();
        for tick in 0..5u16 {
            let snap = table(1_000 * u64::from(tick), 3 + tick);
            let aggregates = crate::model::aggregate(&snap);
            let mut stripped = snap.clone();
            stripped.sockets.clear();
            stripped.sockets_complete = false;
            assert_eq!(
                whole.evaluate_aggregated(&snap, &aggregates, &peaks),
                none_kept.evaluate_aggregated(&stripped, &aggregates, &peaks),
                "tick {tick}"
            );
        }
        let active: Vec<(AlertKind, String)> = none_kept
            .active()
            .map(|a| (a.kind, a.summary.clone()))
            .collect();
        for kind in [
            AlertKind::BacklogFull,
            AlertKind::PortExhaustion,
            AlertKind::CloseWaitLeak,
            AlertKind::HalfOpenMismatch,
        ] {
            assert!(active.iter().any(|(k, _)| *k == kind), "{kind}: {active:?}");
        }
        assert!(
            active
                .iter()
                .any(|(_, s)| s.contains("owned by server pid 42")),
            "{active:?}"
        );
    }

    #[test]
    fn history_is_dropped_for_ports_that_are_gone() {
        let mut engine = AlertEngine::default();
        let peaks = ListenerPeaks::new();
        for tick in 0..50u16 {
            let mut snap = Snapshot::empty(u64::from(tick) * 1000, SourceKind::Netlink);
            let local = format!("127.0.0.1:{}", 1000 + tick);
            snap.sockets
                .push(record(TcpState::CloseWait, &local, "127.0.0.1:80"));
            snap.sockets
                .push(record(TcpState::TimeWait, &local, "127.0.0.1:81"));
            engine.evaluate_snapshot(&snap, &peaks);
        }
        assert!(engine.close_wait.tracked_ports() <= 1);
        assert!(engine.time_wait.tracked_ports() <= 2);
    }
}
