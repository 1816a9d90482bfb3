//! The messages the app reacts to: samples from the sampling thread, input
//! from the terminal, size changes and clock ticks.
//!
//! Owns: `Msg`, `Sample`. Must not: hold behaviour; `App::update` decides.

use crossterm::event::{KeyEvent, MouseEvent};

use super::narration::NarrationEvent;
use crate::alert::{Alert, AlertEvent};
use crate::model::{Aggregates, Counters, Sampled, Snapshot, SocketRecord, Sockstat, aggregate};

/// A full snapshot with its aggregates, computed off the UI thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub snapshot: Snapshot,
    pub aggregates: Aggregates,
    /// Alert events already evaluated with this sample (on the sampling
    /// thread); `None` lets the app evaluate them itself.
    pub alert_events: Option<Vec<AlertEvent>>,
    /// The active alerts after those events, with their latest numbers.
    pub active_alerts: Vec<Alert>,
}

impl Sample {
    /// Aggregates the snapshot (one pass over its sockets).
    pub fn new(snapshot: Snapshot) -> Sample {
        let aggregates = aggregate(&snapshot);
        Sample {
            snapshot,
            aggregates,
            alert_events: None,
            active_alerts: Vec::new(),
        }
    }

    /// A collector's sample, with the aggregates it counted while streaming.
    pub fn from_sampled(sampled: Sampled) -> Sample {
        Sample {
            snapshot: sampled.snapshot,
            aggregates: sampled.aggregates,
            alert_events: None,
            active_alerts: Vec::new(),
        }
    }
}

/// What tcpwatch itself costs: CPU (percent of one core, all threads) and
/// resident memory, so users can trust that watching is cheap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfCost {
    pub cpu_percent: f64,
    pub rss_kib: u64,
}

/// Everything that can change the app's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A full sample arrived.
    Sampled(Box<Sample>),
    /// A full sample failed; the last good data stays on screen.
    SampleFailed {
        at_ms: u64,
        message: String,
    },
    /// A cheap listener-only sample (accept queues, ~10 Hz).
    ListenersSampled {
        at_ms: u64,
        listeners: Vec<SocketRecord>,
    },
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The wall clock, passed in (countdowns and ages).
    Tick {
        now_ms: u64,
    },
    /// A signal asked us to stop.
    Quit,
    /// Counters and sockstat between spread-out full dumps.
    TotalsSampled {
        at_ms: u64,
        counters: Box<Counters>,
        sockstat: Sockstat,
    },
    /// tcpwatch's own cost, measured about once a second.
    SelfCost(SelfCost),
    /// The demo's narrator: a step starts, ends, or the demo is over.
    Narration(NarrationEvent),
}

impl From<crate::sampling::SamplerEvent> for Msg {
    fn from(event: crate::sampling::SamplerEvent) -> Msg {
        use crate::sampling::SamplerEvent;
        match event {
            SamplerEvent::Full {
                result: Ok(snapshot),
                ..
            } => Msg::Sampled(Box::new(Sample::from_sampled(*snapshot))),
            SamplerEvent::Full {
                at_ms,
                result: Err(error),
            } => Msg::SampleFailed {
                at_ms,
                message: error.to_string(),
            },
            SamplerEvent::Listeners { at_ms, listeners } => {
                Msg::ListenersSampled { at_ms, listeners }
            }
            SamplerEvent::Totals {
                at_ms,
                counters,
                sockstat,
            } => Msg::TotalsSampled {
                at_ms,
                counters,
                sockstat,
            },
        }
    }
}
