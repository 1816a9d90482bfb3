//! What was sampled, as the dashboard keeps it: the tick on screen and its
//! counter growth, the listener sample beside it, what arrived while paused
//! (kept aside), the last failure, the history behind the charts, when each
//! socket was first seen, the alert board, the transition log, tcpwatch's
//! own cost and the demo's narration.
//!
//! Owns: `Feed`, `SampleFailure`, taking ticks in and putting kept-aside
//! ones on screen. Must not: know about selection, focus, views or keys
//! (navigation does), draw, do I/O or read the clock.

use crate::alert::AlertEvent;
use crate::model::history::History;
use crate::model::seen::FirstSeen;
use crate::model::{CounterDeltas, SocketRecord, Sockstat};
use crate::watch::{FullTick, Tick};

use super::alerts::{AlertBoard, AlertChange, AlertView, Severity};
use super::counter_jumps;
use super::exact_events::ExactEvents;
use super::msg::SelfCost;
use super::narration::Narration;
use super::transition_log::TransitionLog;

/// A failed sample, shown in the status line until a sample succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFailure {
    pub at_ms: u64,
    pub message: String,
    /// Failures in a row.
    pub count: u32,
}

/// A listener-only sample (10 Hz), with its time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListenerSample {
    pub at_ms: u64,
    pub listeners: Vec<SocketRecord>,
}

/// What a tick changed on screen, so the rows built from it are rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Nothing on screen changed (paused, a failure, totals only).
    Same,
    /// A new listener sample: the listener rows.
    Listeners,
    /// A new full tick: every row.
    Tick,
}

/// The samples as the dashboard keeps them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Feed {
    shown: Option<(Box<FullTick>, Option<CounterDeltas>)>,
    shown_listeners: Option<ListenerSample>,
    kept_aside: Option<Box<FullTick>>,
    kept_aside_listeners: Option<ListenerSample>,
    kept_aside_count: usize,
    failure: Option<SampleFailure>,
    history: History,
    seen: FirstSeen,
    pub(super) alerts: AlertBoard,
    pub(super) transitions: TransitionLog,
    /// Exact kernel events, when they are on.
    pub(super) exact: ExactEvents,
    pub(super) self_cost: Option<SelfCost>,
    /// Sockstat read between spread-out full dumps, with its time.
    latest_totals: Option<(u64, Sockstat)>,
    pub(super) narration: Option<Narration>,
}

impl Feed {
    /// Takes a tick in; while `paused` it is kept aside rather than shown.
    /// Returns what changed on screen, and whether an alert worth the bell
    /// was raised.
    pub(crate) fn ingest(&mut self, tick: Tick, paused: bool) -> (Shown, bool) {
        match tick {
            Tick::Full(full) => self.on_full_tick(full, paused),
            Tick::Failed { at_ms, error } => {
                let count = self.failure.as_ref().map_or(0, |f| f.count) + 1;
                self.failure = Some(SampleFailure {
                    at_ms,
                    message: error.to_string(),
                    count,
                });
                (Shown::Same, false)
            }
            Tick::Listeners { at_ms, listeners } => {
                self.history.record_listener_sample(at_ms, &listeners);
                let sample = ListenerSample { at_ms, listeners };
                if paused {
                    self.kept_aside_listeners = Some(sample);
                    (Shown::Same, false)
                } else {
                    self.shown_listeners = Some(sample);
                    (Shown::Listeners, false)
                }
            }
            Tick::Totals {
                at_ms,
                counters,
                sockstat,
            } => {
                self.history.record_totals(at_ms, &counters, &sockstat);
                self.log_counter_jumps(at_ms);
                self.latest_totals = Some((at_ms, sockstat));
                (Shown::Same, false)
            }
        }
    }

    fn on_full_tick(&mut self, mut tick: Box<FullTick>, paused: bool) -> (Shown, bool) {
        let at_ms = tick.at_ms();
        self.transitions.record(
            std::mem::take(&mut tick.transitions),
            tick.too_many_to_follow,
            tick.following_truncated,
        );
        self.exact.record(&mut tick);
        self.history
            .record_snapshot(&tick.snapshot, &tick.aggregates);
        self.log_counter_jumps(at_ms);
        if tick.too_many_to_follow.is_none() {
            self.seen.observe(
                at_ms,
                tick.snapshot
                    .listeners
                    .iter()
                    .chain(tick.snapshot.sockets.iter()),
            );
        }
        let bell = self.apply_engine_events(at_ms, &tick.alert_events);
        let current: Vec<AlertView> = tick.active_alerts.iter().map(AlertView::from).collect();
        self.alerts.refresh_active(&current);
        self.failure = None;
        if paused {
            self.kept_aside = Some(tick);
            self.kept_aside_count += 1;
            (Shown::Same, bell)
        } else {
            self.show(tick);
            (Shown::Tick, bell)
        }
    }

    /// Puts what was kept aside while paused on screen.
    pub(crate) fn resume(&mut self) -> Shown {
        self.kept_aside_count = 0;
        if let Some(listeners) = self.kept_aside_listeners.take() {
            self.shown_listeners = Some(listeners);
        }
        match self.kept_aside.take() {
            Some(tick) => {
                self.show(tick);
                Shown::Tick
            }
            None => Shown::Listeners,
        }
    }

    fn show(&mut self, tick: Box<FullTick>) {
        let deltas = self.history.counter_deltas();
        self.shown = Some((tick, deltas));
    }

    /// Keeps the interval's counter jumps (RSTs, overflows, drops) in the
    /// alert log, with their time.
    fn log_counter_jumps(&mut self, at_ms: u64) {
        if let Some(deltas) = self.history.counter_deltas() {
            self.alerts
                .log_counter_jumps(at_ms, counter_jumps::counter_jumps(at_ms, &deltas));
        }
    }

    /// Logs the rule engine's events; true when one rings the bell.
    fn apply_engine_events(&mut self, at_ms: u64, events: &[AlertEvent]) -> bool {
        let changes: Vec<AlertChange> = events.iter().map(AlertChange::from).collect();
        let bell = changes
            .iter()
            .any(|c| matches!(c, AlertChange::Raised(a) if a.severity >= Severity::Warning));
        if !changes.is_empty() {
            self.alerts.apply(at_ms, changes);
        }
        bell
    }

    /// The tick on screen (the last good one).
    pub(crate) fn shown(&self) -> Option<&FullTick> {
        self.shown.as_ref().map(|(s, _)| s.as_ref())
    }

    /// Counter growth between the shown tick and the one before it.
    pub(crate) fn shown_deltas(&self) -> Option<&CounterDeltas> {
        self.shown.as_ref().and_then(|(_, d)| d.as_ref())
    }

    /// The listener sample on screen: its time and the listeners.
    pub(crate) fn shown_listeners(&self) -> Option<(u64, &[SocketRecord])> {
        self.shown_listeners
            .as_ref()
            .map(|l| (l.at_ms, l.listeners.as_slice()))
    }

    /// Ticks that arrived while paused.
    pub(crate) fn kept_aside_count(&self) -> usize {
        self.kept_aside_count
    }

    pub(crate) fn failure(&self) -> Option<&SampleFailure> {
        self.failure.as_ref()
    }

    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    pub(crate) fn seen(&self) -> &FirstSeen {
        &self.seen
    }

    /// Charts stop here: the newest shown sample while paused.
    pub(crate) fn history_until_ms(&self, paused: bool) -> u64 {
        if !paused {
            return u64::MAX;
        }
        let snapshot = self.shown().map_or(0, |s| s.snapshot.taken_at_ms);
        let listeners = self.shown_listeners.as_ref().map_or(0, |l| l.at_ms);
        snapshot.max(listeners)
    }

    /// The newest sockstat: from a totals-only sample when it is newer
    /// than the full sample on screen (and not paused).
    pub(crate) fn latest_sockstat(&self, paused: bool) -> Option<Sockstat> {
        let shown = self
            .shown()
            .and_then(|s| s.snapshot.sockstat.map(|st| (s.snapshot.taken_at_ms, st)));
        match (shown, self.latest_totals) {
            (Some((shown_at, _)), Some((at, totals))) if at > shown_at && !paused => Some(totals),
            (Some((_, shown)), _) => Some(shown),
            (None, totals) => totals.map(|(_, s)| s),
        }
    }
}
