//! The sampling thread's loop: applies the `Schedule` to a
//! `SnapshotSource`, stamps each sample with the wall clock, and hands the
//! raw results on. The interval can change while it runs.
//!
//! Owns: `sample_forever`, `SamplerEvent`, `SamplerControl`. Must not:
//! judge or interpret samples (that is `watch`) or draw.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::clock::now_ms;
use super::schedule::{Due, SamplingTiming, Schedule};
use super::{CollectError, SnapshotSource};
use crate::model::{Counters, Sampled, SocketRecord, Sockstat};

/// What the consumer tells the sampling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SamplerControl {
    SetInterval(Duration),
    Stop,
}

/// What the sampling thread produces, before it is judged.
#[derive(Debug)]
pub enum SamplerEvent {
    /// A whole snapshot, or why it failed (sampled at `at_ms`).
    Full {
        at_ms: u64,
        result: Result<Box<Sampled>, CollectError>,
    },
    /// The listeners alone, between full samples.
    Listeners {
        at_ms: u64,
        listeners: Vec<SocketRecord>,
    },
    /// Counters and sockstat alone, at the interval, while expensive full
    /// dumps are spread out: the TIME_WAIT total stays exact every tick.
    Totals {
        at_ms: u64,
        counters: Box<Counters>,
        sockstat: Sockstat,
    },
}

/// Samples until told to stop, the control channel closes, or `emit`
/// returns false (nobody listens any more).
pub(crate) fn sample_forever(
    source: &mut dyn SnapshotSource,
    timing: SamplingTiming,
    control: &Receiver<SamplerControl>,
    mut emit: impl FnMut(SamplerEvent) -> bool,
) {
    let mut schedule = Schedule::new(timing, Instant::now());
    loop {
        let now = Instant::now();
        let event = match schedule.next(now) {
            Due::Full => {
                let at_ms = now_ms();
                let result = source.sample(at_ms).map(Box::new);
                schedule.full_done(now, Instant::now());
                Some(SamplerEvent::Full { at_ms, result })
            }
            Due::Totals => {
                let totals = source.sample_totals();
                schedule.totals_done(Instant::now());
                totals.map(|(counters, sockstat)| SamplerEvent::Totals {
                    at_ms: now_ms(),
                    counters: Box::new(counters),
                    sockstat,
                })
            }
            Due::Listeners => {
                let listeners = source.sample_listeners();
                schedule.listeners_done(Instant::now());
                listeners.ok().map(|listeners| SamplerEvent::Listeners {
                    at_ms: now_ms(),
                    listeners,
                })
            }
            Due::WaitUntil(wake) => {
                match control.recv_timeout(wake.saturating_duration_since(now)) {
                    Ok(SamplerControl::SetInterval(interval)) => schedule.set_interval(interval),
                    Ok(SamplerControl::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                None
            }
        };
        if let Some(event) = event
            && !emit(event)
        {
            return;
        }
    }
}
