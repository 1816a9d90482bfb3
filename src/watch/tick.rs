//! What the pipeline hands every mode: one `Tick` per thing the sampler
//! did, already judged.
//!
//! Owns: `Tick`, `FullTick`. Must not: hold behaviour beyond small
//! accessors; `Watch` builds ticks and the modes read them.

use crate::alert::{Alert, AlertEvent};
use crate::collect::CollectError;
use crate::model::drop_attribution::{InferredOverflows, inferred_overflows};
use crate::model::event_ledger::{EventCounts, EventLine};
use crate::model::transitions::Transition;
use crate::model::{
    Aggregates, Counter, CounterDeltas, Counters, ListenerPeaks, Snapshot, SocketRecord, Sockstat,
};

/// A whole sample with everything derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTick {
    pub snapshot: Snapshot,
    /// Counts per port and state, listeners, TIME_WAIT: exact for any table.
    pub aggregates: Aggregates,
    /// Counter growth since the previous full tick (`None` on the first).
    pub deltas: Option<CounterDeltas>,
    /// Alerts raised and cleared by this tick.
    pub alert_events: Vec<AlertEvent>,
    /// Every active alert after this tick, with its latest numbers.
    pub active_alerts: Vec<Alert>,
    /// Connection state changes seen since the previous full tick.
    pub transitions: Vec<Transition>,
    /// When the sample was too large to follow connection by connection,
    /// its socket count (transitions are then empty).
    pub too_many_to_follow: Option<usize>,
    /// Some connections are not followed: more than the pipeline follows.
    pub following_truncated: bool,
    /// What the listener-only samples of the interval that this tick closes
    /// saw: the highest queue of each listener, and how often it was full.
    pub peaks: ListenerPeaks,
    /// Exact kernel events since the previous full tick, in time order
    /// (empty when `--events` is off).
    pub events: Vec<EventLine>,
    /// Event counters since the start; `None` when events are off.
    pub event_counts: Option<EventCounts>,
}

impl FullTick {
    pub fn at_ms(&self) -> u64 {
        self.snapshot.taken_at_ms
    }

    /// `TCP_LISTEN_OVERFLOW` drop events counted since the start (0 when
    /// events are off).
    pub fn exact_overflow_drops(&self) -> u64 {
        self.event_counts
            .as_ref()
            .and_then(|counts| counts.drops_by_reason.get("TCP_LISTEN_OVERFLOW"))
            .copied()
            .unwrap_or(0)
    }

    /// The interval's rise of `ListenOverflows` that no drop event covers
    /// (`exact_before`: `exact_overflow_drops` of the previous tick),
    /// attributed to the listeners full in this sample: polling's inference.
    pub fn inferred_overflows(&self, exact_before: u64) -> Option<InferredOverflows> {
        let rise = self
            .deltas
            .as_ref()
            .and_then(|d| d.get(Counter::ListenOverflows))
            .unwrap_or(0);
        let full = self
            .aggregates
            .listeners
            .iter()
            .filter(|l| l.is_full() == Some(true))
            .map(|l| l.local)
            .collect();
        inferred_overflows(
            rise,
            self.exact_overflow_drops().saturating_sub(exact_before),
            full,
        )
    }
}

/// One step of the pipeline.
#[derive(Debug)]
pub enum Tick {
    /// A full sample, judged.
    Full(Box<FullTick>),
    /// A full sample failed; the last good picture stays valid.
    Failed { at_ms: u64, error: CollectError },
    /// The listeners alone (about 10 Hz): queues between full ticks.
    Listeners {
        at_ms: u64,
        listeners: Vec<SocketRecord>,
    },
    /// Counters and sockstat between spread-out full dumps.
    Totals {
        at_ms: u64,
        counters: Box<Counters>,
        sockstat: Sockstat,
    },
}

impl Tick {
    pub fn at_ms(&self) -> u64 {
        match self {
            Tick::Full(full) => full.at_ms(),
            Tick::Failed { at_ms, .. }
            | Tick::Listeners { at_ms, .. }
            | Tick::Totals { at_ms, .. } => *at_ms,
        }
    }
}
