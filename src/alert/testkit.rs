//! Test driver for the rules: an engine, an injected clock stepping by
//! 1000 ms per tick, the fast listener samples in between, and snapshot
//! builders with realistic settings.
//!
//! Owns: test scaffolding only (compiled for tests). Must not: sleep, spawn
//! threads or do I/O.

use crate::collect::scenarios::linux_defaults;
use crate::model::peaks::ListenerPeaks;
use crate::model::{Snapshot, SocketRecord, SourceKind};

use super::{Alert, AlertEngine, AlertEvent, AlertKind, Thresholds};

pub(crate) struct Script {
    pub engine: AlertEngine,
    /// Time of the latest tick; the next one is at `now_ms + 1000`.
    pub now_ms: u64,
    peaks: ListenerPeaks,
    samples_in_interval: u64,
}

impl Script {
    pub fn new() -> Script {
        Script::with(Thresholds::default())
    }

    pub fn with(thresholds: Thresholds) -> Script {
        Script {
            engine: AlertEngine::new(thresholds),
            now_ms: 0,
            peaks: ListenerPeaks::new(),
            samples_in_interval: 0,
        }
    }

    /// An empty netlink snapshot for the next tick, with Linux defaults.
    pub fn base(&self) -> Snapshot {
        let mut snap = Snapshot::empty(self.now_ms + 1000, SourceKind::Netlink);
        snap.settings = linux_defaults();
        snap
    }

    /// One fast listener-only sample, 100 ms after the previous one.
    pub fn sample(&mut self, listeners: &[SocketRecord]) {
        self.samples_in_interval += 1;
        self.peaks
            .observe(listeners, self.now_ms + 100 * self.samples_in_interval);
    }

    /// A full tick: the snapshot's listeners count as one more sample.
    pub fn tick(&mut self, snapshot: Snapshot) -> Vec<AlertEvent> {
        self.peaks.observe(&snapshot.listeners, self.now_ms + 1000);
        self.tick_without_listener_sample(snapshot)
    }

    /// A full tick whose listeners are not fed to the peaks.
    pub(crate) fn tick_without_listener_sample(
        &mut self,
        mut snapshot: Snapshot,
    ) -> Vec<AlertEvent> {
        self.now_ms += 1000;
        self.samples_in_interval = 0;
        snapshot.taken_at_ms = self.now_ms;
        let interval = self.peaks.take_interval();
        self.engine.evaluate_snapshot(&snapshot, &interval)
    }

    pub fn active(&self) -> Vec<Alert> {
        self.engine.active().cloned().collect()
    }
}

/// The raised alert of a kind among events.
pub(crate) fn find(events: &[AlertEvent], kind: AlertKind) -> Option<&Alert> {
    events.iter().find_map(|e| match e {
        AlertEvent::Raised(a) if a.kind == kind => Some(a),
        _ => None,
    })
}

/// The cleared alert of a kind among events.
pub(crate) fn find_cleared(events: &[AlertEvent], kind: AlertKind) -> Option<&Alert> {
    events.iter().find_map(|e| match e {
        AlertEvent::Cleared(a) if a.kind == kind => Some(a),
        _ => None,
    })
}

pub(crate) fn kinds(alerts: &[Alert]) -> Vec<AlertKind> {
    alerts.iter().map(|a| a.kind).collect()
}
