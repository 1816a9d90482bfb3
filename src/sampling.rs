//! The sampling thread's schedule, shared by the dashboard, `--stream` and
//! the line output: full samples every interval (start to start, never
//! closer than a tenth of it after a slow one, so work never queues up),
//! listener-only samples in between, and an interval that can change while
//! running.
//!
//! Owns: `sample_forever`, `SamplingTiming`, `SamplerControl`,
//! `SamplerEvent`. Must not: interpret samples or draw.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::collect::{CollectError, SnapshotSource};
use crate::model::cadence::full_sample_period;
use crate::model::{Counters, Sampled, SocketRecord, Sockstat};
use crate::run::now_ms;

/// What the consumer tells the sampling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerControl {
    SetInterval(Duration),
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingTiming {
    pub interval: Duration,
    pub listen_interval: Duration,
}

/// What the sampling thread produces.
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
pub fn sample_forever(
    source: &mut dyn SnapshotSource,
    timing: SamplingTiming,
    control: &Receiver<SamplerControl>,
    mut emit: impl FnMut(SamplerEvent) -> bool,
) {
    let mut interval = timing.interval;
    let mut last_full_start = Instant::now();
    let mut next_full = last_full_start;
    let mut next_listen = last_full_start + timing.listen_interval;
    // Only between stretched full dumps; `None` while dumps keep the interval.
    let mut next_totals: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= next_full {
            last_full_start = now;
            let at_ms = now_ms();
            let result = source.sample(at_ms).map(Box::new);
            if !emit(SamplerEvent::Full { at_ms, result }) {
                return;
            }
            let done = Instant::now();
            let cost = done.duration_since(last_full_start);
            let period = full_sample_period(interval, cost);
            next_full = (last_full_start + period).max(done + interval / 10);
            next_listen = done + timing.listen_interval;
            next_totals = (period > interval).then_some(last_full_start + interval);
            continue;
        }
        if let Some(due) = next_totals.filter(|due| now >= *due) {
            next_totals = Some(due + interval).filter(|next| *next < next_full);
            if let Some((counters, sockstat)) = source.sample_totals() {
                let event = SamplerEvent::Totals {
                    at_ms: now_ms(),
                    counters: Box::new(counters),
                    sockstat,
                };
                if !emit(event) {
                    return;
                }
            }
            continue;
        }
        if now >= next_listen {
            if let Ok(listeners) = source.sample_listeners() {
                let event = SamplerEvent::Listeners {
                    at_ms: now_ms(),
                    listeners,
                };
                if !emit(event) {
                    return;
                }
            }
            next_listen = (next_listen + timing.listen_interval).max(Instant::now());
            continue;
        }
        let wake = next_totals
            .map_or(next_full, |due| due.min(next_full))
            .min(next_listen);
        match control.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(SamplerControl::SetInterval(new_interval)) => {
                interval = new_interval;
                next_full = last_full_start + interval;
            }
            Ok(SamplerControl::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::fake::ScriptedSource;
    use crate::collect::scenarios::listen_one_script;
    use crate::model::Snapshot;
    use std::sync::mpsc;
    use std::thread;

    /// A source whose full sample takes 20 ms.
    struct SlowSource;

    impl SnapshotSource for SlowSource {
        fn sample(&mut self, taken_at_ms: u64) -> Result<Sampled, CollectError> {
            thread::sleep(Duration::from_millis(20));
            Ok(Sampled::from_snapshot(Snapshot::empty(
                taken_at_ms,
                crate::model::SourceKind::Netlink,
            )))
        }

        fn sample_listeners(&mut self) -> Result<Vec<SocketRecord>, CollectError> {
            Ok(Vec::new())
        }

        fn sample_totals(&mut self) -> Option<(Counters, Sockstat)> {
            Some((Counters::default(), Sockstat::default()))
        }
    }

    #[test]
    fn expensive_dumps_are_spread_out_and_totals_fill_the_ticks_between() {
        let (sender, inbox) = mpsc::channel();
        let (control, control_inbox) = mpsc::channel();
        let timing = SamplingTiming {
            interval: Duration::from_millis(40),
            listen_interval: Duration::from_secs(10),
        };
        let worker = thread::spawn(move || {
            sample_forever(&mut SlowSource, timing, &control_inbox, |event| {
                sender.send((Instant::now(), event)).is_ok()
            })
        });
        thread::sleep(Duration::from_millis(700));
        control
            .send(SamplerControl::Stop)
            .expect("the thread listens");
        worker.join().expect("the thread stops");
        let events: Vec<(Instant, SamplerEvent)> = inbox.try_iter().collect();
        let fulls: Vec<Instant> = events
            .iter()
            .filter(|(_, e)| matches!(e, SamplerEvent::Full { .. }))
            .map(|(at, _)| *at)
            .collect();
        let totals = events
            .iter()
            .filter(|(_, e)| matches!(e, SamplerEvent::Totals { .. }))
            .count();
        assert!(fulls.len() >= 2, "{} full samples", fulls.len());
        for pair in fulls.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            assert!(
                gap >= Duration::from_millis(100),
                "full samples only {gap:?} apart"
            );
        }
        assert!(totals >= 2, "totals between the spread-out dumps: {totals}");
    }

    #[test]
    fn sends_full_and_listener_samples_and_obeys_control() {
        let mut source = ScriptedSource::new(listen_one_script(0, 3));
        let (sender, inbox) = mpsc::channel();
        let (control, control_inbox) = mpsc::channel();
        let timing = SamplingTiming {
            interval: Duration::from_millis(200),
            listen_interval: Duration::from_millis(20),
        };
        let worker = thread::spawn(move || {
            sample_forever(&mut source, timing, &control_inbox, |event| {
                sender.send(event).is_ok()
            })
        });
        let first = inbox
            .recv_timeout(Duration::from_secs(5))
            .expect("a sample");
        assert!(matches!(first, SamplerEvent::Full { result: Ok(_), .. }));
        let second = inbox
            .recv_timeout(Duration::from_secs(5))
            .expect("a listener sample");
        assert!(matches!(second, SamplerEvent::Listeners { .. }));
        control
            .send(SamplerControl::Stop)
            .expect("the thread listens");
        worker.join().expect("the thread stops");
    }
}
