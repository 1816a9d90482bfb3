//! `--once`: one judged sample, printed, and an exit outcome for
//! `--fail-on`.
//!
//! Owns: the one-shot flow. Must not: loop.

use std::io;

use super::Outcome;
use super::pipeline::{WatchSpec, sampler_config, spawn_watch_channel};
use super::report::write_report;
use crate::alert::Thresholds;
use crate::cli::Config;
use crate::collect::SnapshotSource;
use crate::collect::host::host_name;
use crate::collect::sampler::Sampler;
use crate::error::AppError;
use crate::watch::Tick;

/// One look at the table: level conditions raise on the first evaluation
/// (there is no second one to confirm them).
fn single_look(thresholds: &Thresholds) -> Thresholds {
    Thresholds {
        raise_after: 1,
        ..thresholds.clone()
    }
}

/// Takes one judged sample (owners looked up inline, so the one picture is
/// complete) and prints it with its alerts.
pub fn run_once(config: &Config) -> Result<Outcome, AppError> {
    let mut spec = WatchSpec::from_config(config);
    spec.thresholds = single_look(&config.thresholds);
    let sampler = sampler_config(config);
    let (ticks, handle) = spawn_watch_channel(spec, move || {
        Sampler::open(sampler).map(|s| Box::new(s) as Box<dyn SnapshotSource>)
    })?;
    let full = loop {
        match ticks.recv().map_err(|_| AppError::SamplerLost)? {
            Tick::Full(full) => break full,
            Tick::Failed { error, .. } => return Err(error.into()),
            Tick::Listeners { .. } | Tick::Totals { .. } => {}
        }
    };
    drop(handle);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write_report(
        &mut out,
        config.format,
        &host_name(),
        &full.snapshot,
        &full.aggregates,
        None,
        &full.active_alerts,
    )
    .map_err(AppError::Output)?;
    Ok(fail_on_outcome(config, &full.active_alerts))
}

/// `--fail-on LEVEL`: alerts at or above it make the run exit 3.
pub(super) fn fail_on_outcome(config: &Config, alerts: &[crate::alert::Alert]) -> Outcome {
    let Some(level) = config.fail_on else {
        return Outcome::Done;
    };
    match alerts.iter().filter(|a| a.severity >= level).count() {
        0 => Outcome::Done,
        count => Outcome::AlertsActive { level, count },
    }
}
