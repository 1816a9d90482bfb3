//! The all-namespaces pipeline: one thread discovers namespaces, samples
//! them on the fleet schedule and judges each with its own watch (the
//! `FleetJudge`), handing `FleetTick`s on. The `--all-namespaces` twin of
//! `pipeline::spawn_watch`.
//!
//! Owns: `spawn_fleet_watch`, `FleetHandle`. Must not: interpret ticks or
//! draw.

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use super::heap::HeapTrimmer;
use crate::cli::Config;
use crate::collect::CollectError;
use crate::collect::clock::now_ms;
use crate::collect::namespaces::discovery::{NamespaceId, discover};
use crate::collect::namespaces::fleet::{Fleet, FleetControl, sample_fleet};
use crate::collect::namespaces::schedule::FleetTiming;
use crate::error::AppError;
use crate::fleet::judge::{FleetJudge, FleetTick};
use crate::model::judging::JudgingScope;

/// Ticks waiting for a slow consumer at most; the sampler then waits too.
pub(super) const TICK_BACKLOG: usize = 1024;

/// Controls a running fleet; dropping it stops the thread.
#[derive(Debug)]
pub struct FleetHandle {
    control: Sender<FleetControl>,
}

impl FleetHandle {
    /// Samples this namespace's whole table each interval (`None`: none).
    pub fn open(&self, id: Option<NamespaceId>) {
        let _ = self.control.send(FleetControl::Open(id));
    }

    pub fn set_interval(&self, interval: Duration) {
        let _ = self.control.send(FleetControl::SetInterval(interval));
    }
}

impl Drop for FleetHandle {
    fn drop(&mut self) {
        let _ = self.control.send(FleetControl::Stop);
    }
}

/// The fleet's cadences from the command line.
pub fn fleet_timing(config: &Config) -> FleetTiming {
    FleetTiming::new(config.interval, config.listen_interval)
}

/// Starts the all-namespaces pipeline; `emit` gets every tick on its thread
/// until it returns false or the handle is dropped. Returns once the fleet
/// could start (its home namespace known). `for_export` adds the ticks
/// `serve` needs (`FleetJudge::for_export`).
pub fn spawn_fleet_watch(
    config: &Config,
    background_owners: bool,
    for_export: bool,
    mut emit: impl FnMut(FleetTick) -> bool + Send + 'static,
) -> Result<FleetHandle, AppError> {
    let (control, control_inbox) = mpsc::channel();
    let (ready, ready_inbox) = mpsc::channel::<Result<(), CollectError>>();
    let source = config.source;
    let filter = config.filter.clone();
    let scope = JudgingScope {
        crowded_destination_ratio: config.thresholds.port_exhaustion_ratio,
    };
    let thresholds = config.thresholds.clone();
    let timing = fleet_timing(config);
    thread::Builder::new()
        .name("tcpwatch-namespaces".to_string())
        .spawn(move || {
            let opened = Fleet::open(source, filter, scope).and_then(|fleet| {
                if background_owners {
                    fleet.with_background_owners()
                } else {
                    Ok(fleet)
                }
            });
            let mut fleet = match opened {
                Ok(fleet) => fleet,
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            let mut judge = FleetJudge::new(thresholds);
            if for_export {
                judge = judge.for_export();
            }
            // Freed memory goes back to the kernel as in the one-namespace
            // pipeline, so the process does not keep each burst's high-water
            // mark.
            let mut heap = HeapTrimmer::default();
            sample_fleet(
                &mut fleet,
                timing,
                &control_inbox,
                now_ms,
                &mut discover,
                &mut |sample| {
                    let going_on = judge.ingest(sample).into_iter().all(&mut emit);
                    heap.after_tick(now_ms());
                    going_on
                },
            );
        })
        .map_err(AppError::Thread)?;
    ready_inbox.recv().map_err(|_| AppError::SamplerLost)??;
    Ok(FleetHandle { control })
}

/// `spawn_fleet_watch` into a bounded channel, for the line modes.
pub fn spawn_fleet_channel(
    config: &Config,
) -> Result<(Receiver<FleetTick>, FleetHandle), AppError> {
    let (sender, ticks) = mpsc::sync_channel(TICK_BACKLOG);
    let handle = spawn_fleet_watch(config, true, false, move |tick| sender.send(tick).is_ok())?;
    Ok((ticks, handle))
}
