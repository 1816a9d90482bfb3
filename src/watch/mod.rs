//! The one pipeline step every mode shares: turns what the sampler produced
//! into judged ticks. It aggregates nothing itself (the collector does that
//! while the dump streams in); it runs the alert rules with the listener
//! peaks of the interval, follows connections from tick to tick (unless the
//! mode shows no connections: `without_following`), and keeps the previous
//! counters for deltas.
//!
//! Owns: `Watch`, `Tick`, `FullTick`. Must not: do I/O or read the clock:
//! every time comes in with the sample.

mod tick;

pub use tick::{FullTick, Tick};

use crate::alert::{AlertMonitor, Thresholds};
use crate::collect::sample_loop::SamplerEvent;
use crate::model::event::TcpEvent;
use crate::model::event_ledger::{EventLedger, EventLine};
use crate::model::transitions::TransitionTracker;
use crate::model::{Counters, Sampled};

/// Connections followed at most, so a huge table cannot grow the memory
/// without bound; beyond it new connections are not followed.
pub const MAX_FOLLOWED: usize = 50_000;
/// A sample with more sockets than this is not followed connection by
/// connection at all: the work would stall every tick (the counts, queues
/// and alerts still update). Filtering with --port brings it under.
pub const FOLLOW_AT_MOST: usize = 50_000;

/// Judges samples, one after another.
#[derive(Debug, Clone)]
pub struct Watch {
    monitor: AlertMonitor,
    /// `None` when connections are not followed (`without_following`).
    tracker: Option<TransitionTracker>,
    previous_counters: Option<Counters>,
    /// Exact events: `None` when they are off.
    ledger: Option<EventLedger>,
    pending_events: Vec<EventLine>,
}

/// Event lines held for the next full tick at most; beyond that they are
/// counted in `EventCounts::lines_dropped`, never silently lost.
pub const MAX_PENDING_EVENTS: usize = 200_000;

impl Watch {
    pub fn new(thresholds: Thresholds) -> Watch {
        Watch {
            monitor: AlertMonitor::new(thresholds),
            // The tracker's own log is not used: each tick carries its changes.
            tracker: Some(TransitionTracker::new(0, MAX_FOLLOWED)),
            previous_counters: None,
            ledger: None,
            pending_events: Vec::new(),
        }
    }

    /// Follows no connections: ticks carry no transitions, and the work
    /// (a hash-map entry per socket of every tick, up to `MAX_FOLLOWED`
    /// kept between ticks) is skipped. For the modes that show none
    /// (`serve`).
    pub fn without_following(mut self) -> Watch {
        self.tracker = None;
        self
    }

    /// Turns on exact events, filtered to `ports` (empty: all).
    pub fn with_events(mut self, ports: &[u16]) -> Watch {
        self.ledger = Some(EventLedger::new(ports));
        self
    }

    /// The event lines for a full tick at `at_ms`, with the connects held
    /// too long for their port.
    fn take_events(&mut self, at_ms: u64) -> Vec<EventLine> {
        if let Some(ledger) = self.ledger.as_mut() {
            let due = ledger.flush_held(at_ms.saturating_mul(1000));
            self.pending_events.extend(due);
        }
        std::mem::take(&mut self.pending_events)
    }

    /// Takes a batch of kernel events (time order) and the samples the
    /// kernel lost meanwhile; their lines go out with the next full tick.
    pub fn ingest_events(&mut self, events: &mut [TcpEvent], lost: u64) {
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        ledger.note_lost(lost);
        for line in ledger.ingest_batch(events) {
            if self.pending_events.len() < MAX_PENDING_EVENTS {
                self.pending_events.push(line);
            } else {
                ledger.counts.lines_dropped += 1;
            }
        }
    }

    /// One step: a sampler event in, a tick out.
    pub fn ingest(&mut self, event: SamplerEvent) -> Tick {
        match event {
            SamplerEvent::Full {
                result: Ok(sampled),
                ..
            } => Tick::Full(Box::new(self.judge(*sampled))),
            SamplerEvent::Full {
                at_ms,
                result: Err(error),
            } => Tick::Failed { at_ms, error },
            SamplerEvent::Listeners { at_ms, listeners } => {
                self.monitor.observe_listeners(&listeners, at_ms);
                Tick::Listeners { at_ms, listeners }
            }
            SamplerEvent::Totals {
                at_ms,
                counters,
                sockstat,
            } => Tick::Totals {
                at_ms,
                counters,
                sockstat,
            },
        }
    }

    /// Judges one full sample: alert rules over its aggregates (counted over
    /// the whole table while the dump streamed in) and the interval's
    /// listener peaks, connection changes since the last one, counter deltas.
    pub fn judge(&mut self, sampled: Sampled) -> FullTick {
        let Sampled {
            snapshot,
            aggregates,
        } = sampled;
        let judged = self.monitor.evaluate_with_peaks(&snapshot, &aggregates);
        let socket_count = snapshot.sockets.len();
        let (transitions, too_many_to_follow) = match &mut self.tracker {
            None => (Vec::new(), None),
            Some(_) if socket_count > FOLLOW_AT_MOST => (Vec::new(), Some(socket_count)),
            Some(tracker) => (tracker.observe_snapshot(&snapshot), None),
        };
        let deltas = self
            .previous_counters
            .replace(snapshot.counters)
            .map(|previous| snapshot.counters.delta_since(&previous));
        FullTick {
            aggregates,
            deltas,
            alert_events: judged.events,
            active_alerts: self.monitor.active().cloned().collect(),
            transitions,
            too_many_to_follow,
            following_truncated: self.tracker.as_ref().is_some_and(|t| t.truncated),
            peaks: judged.peaks,
            events: self.take_events(snapshot.taken_at_ms),
            event_counts: self.ledger.as_ref().map(|ledger| ledger.counts.clone()),
            snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::collect::scenarios::listen_one_script;
    use crate::model::socket::fixtures::listener;
    use crate::model::{Counter, Snapshot, SourceKind};

    #[test]
    fn a_listener_full_for_two_ticks_raises_backlog_full_once() {
        let mut watch = Watch::new(Thresholds::default());
        let script = listen_one_script(1_000, 4);
        let mut raised = 0;
        for snapshot in script {
            let tick = watch.judge(Sampled::from_snapshot(snapshot));
            raised += tick
                .alert_events
                .iter()
                .filter(|e| e.alert().kind == AlertKind::BacklogFull)
                .count();
            assert!(tick.active_alerts.len() <= 2, "{:?}", tick.active_alerts);
        }
        assert_eq!(raised, 1);
    }

    #[test]
    fn deltas_are_counter_growth_since_the_previous_full_tick() {
        let mut watch = Watch::new(Thresholds::default());
        let mut first = Snapshot::empty(1_000, SourceKind::Netlink);
        first.counters.set(Counter::ListenOverflows, 10);
        assert_eq!(
            watch.judge(Sampled::from_snapshot(first.clone())).deltas,
            None
        );
        let mut second = first;
        second.taken_at_ms = 2_000;
        second.counters.set(Counter::ListenOverflows, 25);
        let tick = watch.judge(Sampled::from_snapshot(second));
        let deltas = tick.deltas.expect("deltas on the second tick");
        assert_eq!(deltas.get(Counter::ListenOverflows), Some(15));
    }

    #[test]
    fn listener_samples_between_ticks_reach_the_rules_and_the_tick_peaks() {
        let mut watch = Watch::new(Thresholds::default());
        let mut calm = Snapshot::empty(1_000, SourceKind::Netlink);
        calm.listeners.push(listener("127.0.0.1:10000", 0, 1));
        watch.judge(Sampled::from_snapshot(calm.clone()));
        let burst = watch.ingest(SamplerEvent::Listeners {
            at_ms: 1_500,
            listeners: vec![listener("127.0.0.1:10000", 2, 1)],
        });
        assert!(matches!(burst, Tick::Listeners { at_ms: 1_500, .. }));
        calm.taken_at_ms = 2_000;
        let tick = watch.judge(Sampled::from_snapshot(calm));
        let peak = tick.peaks.iter().next().expect("a peak for the listener");
        assert_eq!(peak.max_queue, 2);
        assert!(peak.seen_full());
        assert!(
            tick.alert_events
                .iter()
                .any(|e| e.alert().kind == AlertKind::BacklogFull),
            "{:?}",
            tick.alert_events
        );
    }

    #[test]
    fn without_following_no_connection_is_kept_or_compared() {
        let script = listen_one_script(1_000, 3);
        let mut following = Watch::new(Thresholds::default());
        let mut not_following = Watch::new(Thresholds::default()).without_following();
        let (mut changes, mut alerts) = (0, [0, 0]);
        for snapshot in script {
            let followed = following.judge(Sampled::from_snapshot(snapshot.clone()));
            let skipped = not_following.judge(Sampled::from_snapshot(snapshot));
            changes += followed.transitions.len();
            assert!(skipped.transitions.is_empty());
            assert_eq!(skipped.too_many_to_follow, None);
            assert!(!skipped.following_truncated);
            alerts[0] += followed.alert_events.len();
            alerts[1] += skipped.alert_events.len();
            assert_eq!(followed.aggregates, skipped.aggregates);
        }
        assert!(changes > 0, "the script has changes to follow");
        assert_eq!(
            alerts[0], alerts[1],
            "judging is the same without following"
        );
        let kept = |watch: &Watch| watch.tracker.as_ref().map_or(0, |t| t.followed_count());
        assert!(kept(&following) > 0, "the tracker keeps every connection");
        assert_eq!(kept(&not_following), 0, "nothing kept between ticks");
    }

    #[test]
    fn connections_are_followed_from_tick_to_tick() {
        let mut watch = Watch::new(Thresholds::default());
        let script = listen_one_script(1_000, 3);
        let mut changes = 0;
        for snapshot in script {
            changes += watch
                .judge(Sampled::from_snapshot(snapshot))
                .transitions
                .len();
        }
        assert!(changes > 0, "the listen(1) script changes connections");
    }
}
