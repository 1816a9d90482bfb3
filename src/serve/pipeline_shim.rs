//! TEMPORARY: the shape of the lead's `spawn_watch` pipeline (issue 9) until
//! it lands on main; `serve` is written against `Tick`/`FullTick` with the
//! same field names, so switching is a change of imports.
//!
//! Owns: nothing for long. Must not: outlive the pipeline's landing.

use std::sync::mpsc::{self, Sender};
use std::thread;

use crate::alert::{Alert, AlertMonitor, Thresholds};
use crate::cli::Config;
use crate::collect::sampler::Sampler;
use crate::collect::{CollectError, SnapshotSource};
use crate::error::AppError;
use crate::model::{
    Aggregates, CounterDeltas, Counters, ListenerPeaks, Snapshot, SocketRecord, Sockstat, aggregate,
};
use crate::sampling::{SamplerControl, SamplerEvent, SamplingTiming, sample_forever};

pub struct FullTick {
    pub snapshot: Snapshot,
    pub aggregates: Aggregates,
    pub deltas: Option<CounterDeltas>,
    pub active_alerts: Vec<Alert>,
    pub peaks: ListenerPeaks,
}

pub enum Tick {
    Full(Box<FullTick>),
    Failed {
        at_ms: u64,
        error: CollectError,
    },
    Listeners {
        at_ms: u64,
        listeners: Vec<SocketRecord>,
    },
    Totals {
        at_ms: u64,
        counters: Box<Counters>,
        sockstat: Sockstat,
    },
}

pub struct WatchHandle {
    control: Sender<SamplerControl>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        let _ = self.control.send(SamplerControl::Stop);
    }
}

pub fn spawn_watch(
    config: &Config,
    mut emit: impl FnMut(Tick) -> bool + Send + 'static,
) -> Result<WatchHandle, AppError> {
    let sampler_config = config.sampler_config();
    let timing = SamplingTiming {
        interval: config.interval,
        listen_interval: config.listen_interval,
    };
    let thresholds: Thresholds = config.thresholds.clone();
    let (control, control_inbox) = mpsc::channel();
    let (ready, ready_inbox) = mpsc::channel::<Result<(), CollectError>>();
    thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || {
            let mut source: Box<dyn SnapshotSource> =
                match Sampler::open(sampler_config).and_then(Sampler::with_background_owners) {
                    Ok(s) => Box::new(s),
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
            let _ = ready.send(Ok(()));
            let mut monitor = AlertMonitor::new(thresholds);
            let mut peaks = ListenerPeaks::new();
            let mut previous: Option<Counters> = None;
            sample_forever(source.as_mut(), timing, &control_inbox, |event| {
                let tick = match event {
                    SamplerEvent::Full {
                        result: Ok(snapshot),
                        ..
                    } => {
                        let snapshot = *snapshot;
                        let aggregates = aggregate(&snapshot);
                        monitor.evaluate(&snapshot, &aggregates);
                        peaks.observe(&snapshot.listeners, snapshot.taken_at_ms);
                        let deltas = previous
                            .replace(snapshot.counters)
                            .map(|p| snapshot.counters.delta_since(&p));
                        Tick::Full(Box::new(FullTick {
                            aggregates,
                            deltas,
                            active_alerts: monitor.active().cloned().collect(),
                            peaks: peaks.take_interval(),
                            snapshot,
                        }))
                    }
                    SamplerEvent::Full {
                        at_ms,
                        result: Err(error),
                    } => Tick::Failed { at_ms, error },
                    SamplerEvent::Listeners { at_ms, listeners } => {
                        monitor.observe_listeners(&listeners, at_ms);
                        peaks.observe(&listeners, at_ms);
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
                };
                emit(tick)
            });
        })
        .map_err(AppError::Thread)?;
    ready_inbox.recv().map_err(|_| AppError::SamplerLost)??;
    Ok(WatchHandle { control })
}
