//! The alert engine: runs every rule family over one evaluation's input and
//! hands the findings to the lifecycle. Keeps the small per-subject history
//! some rules need (TIME_WAIT per port, CLOSE_WAIT per port), bounded.
//!
//! Owns: `AlertEngine`, `EvaluationInput`. Must not: do I/O or read the
//! clock; `now_ms` and the interval come in with the input.

use crate::model::peaks::ListenerPeaks;
use crate::model::{Aggregates, CounterDeltas, Counters, Snapshot, aggregate};

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

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
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
    pub fn evaluate_snapshot(
        &mut self,
        snapshot: &Snapshot,
        peaks: &ListenerPeaks,
    ) -> Vec<AlertEvent> {
        let aggregates = aggregate(snapshot);
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
            aggregates: &aggregates,
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
