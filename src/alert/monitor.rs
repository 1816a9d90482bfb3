//! Drives the engine the same way everywhere (dashboard, --once, --stream,
//! line output): listener-only samples feed the peaks between ticks; each
//! full sample closes the interval and is evaluated with it.
//!
//! Owns: `AlertMonitor` (engine + peaks). Must not: do I/O or read the clock.

use super::{Alert, AlertEngine, AlertEvent, ListenerPeaks, Thresholds};
use crate::model::{Aggregates, Snapshot, SocketRecord};

/// What one evaluation found: the alert events, and the listener peaks of
/// the interval it closed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judged {
    pub events: Vec<AlertEvent>,
    pub peaks: ListenerPeaks,
}

#[derive(Debug, Clone)]
pub struct AlertMonitor {
    engine: AlertEngine,
    peaks: ListenerPeaks,
}

impl AlertMonitor {
    pub fn new(thresholds: Thresholds) -> AlertMonitor {
        AlertMonitor {
            engine: AlertEngine::new(thresholds),
            peaks: ListenerPeaks::new(),
        }
    }

    /// A listener-only sample between full ticks (10 Hz): bursts that fill
    /// and drain a queue between ticks are remembered until the next tick.
    pub fn observe_listeners(&mut self, listeners: &[SocketRecord], now_ms: u64) {
        self.peaks.observe(listeners, now_ms);
    }

    /// A full sample: evaluates every rule against it and the interval's
    /// peaks, and hands those peaks back (they close with the interval).
    pub(crate) fn evaluate_with_peaks(
        &mut self,
        snapshot: &Snapshot,
        aggregates: &Aggregates,
    ) -> Judged {
        self.peaks
            .observe(&snapshot.listeners, snapshot.taken_at_ms);
        let peaks = self.peaks.take_interval();
        let events = self
            .engine
            .evaluate_aggregated(snapshot, aggregates, &peaks);
        Judged { events, peaks }
    }

    /// `evaluate_with_peaks`, for callers that only want the events.
    pub fn evaluate(&mut self, snapshot: &Snapshot, aggregates: &Aggregates) -> Vec<AlertEvent> {
        self.evaluate_with_peaks(snapshot, aggregates).events
    }

    pub fn active(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.engine.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::model::socket::fixtures::listener;
    use crate::model::{SourceKind, aggregate};

    #[test]
    fn a_burst_seen_only_between_ticks_raises_backlog_full() {
        let mut monitor = AlertMonitor::new(Thresholds::default());
        let mut calm = Snapshot::empty(1_000, SourceKind::Netlink);
        calm.listeners.push(listener("127.0.0.1:10000", 0, 1));
        assert!(monitor.evaluate(&calm, &aggregate(&calm)).is_empty());
        monitor.observe_listeners(&[listener("127.0.0.1:10000", 2, 1)], 1_500);
        let mut later = calm.clone();
        later.taken_at_ms = 2_000;
        let events = monitor.evaluate(&later, &aggregate(&later));
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].alert().kind, AlertKind::BacklogFull);
        assert!(
            events[0].alert().summary.contains("between samples"),
            "{}",
            events[0].alert().summary
        );
        assert_eq!(monitor.active().count(), 1);
    }
}
