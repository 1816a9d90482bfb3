//! `--once`: one sample, evaluated by every alert rule, printed, and an exit
//! outcome for `--fail-on`.
//!
//! Owns: the one-shot flow. Must not: loop.

use std::io;
use std::thread;

use super::report::write_report;
use super::{Outcome, now_ms};
use crate::alert::{Alert, AlertMonitor, Thresholds};
use crate::cli::Config;
use crate::collect::sampler::Sampler;
use crate::collect::{CollectError, SnapshotSource};
use crate::error::AppError;
use crate::model::Sampled;

/// One look at the table: level conditions raise on the first evaluation
/// (there is no second one to confirm them).
fn single_look(thresholds: &Thresholds) -> Thresholds {
    Thresholds {
        raise_after: 1,
        ..thresholds.clone()
    }
}

/// Opens a sampler on a new thread (it may enter another namespace), takes
/// one snapshot and prints it with its alerts.
pub fn run_once(config: &Config) -> Result<Outcome, AppError> {
    let sampler_config = config.sampler_config();
    let handle = thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || -> Result<Sampled, CollectError> {
            let mut sampler = Sampler::open(sampler_config)?;
            sampler.sample(now_ms())
        })
        .map_err(AppError::Thread)?;
    let Sampled {
        snapshot,
        aggregates,
    } = handle.join().map_err(|_| AppError::SamplerLost)??;
    let mut monitor = AlertMonitor::new(single_look(&config.thresholds));
    monitor.evaluate(&snapshot, &aggregates);
    let alerts: Vec<Alert> = monitor.active().cloned().collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write_report(
        &mut out,
        config.format,
        &snapshot,
        &aggregates,
        None,
        &alerts,
    )
    .map_err(AppError::Output)?;
    Ok(match config.fail_on {
        Some(level) => {
            let count = alerts.iter().filter(|a| a.severity >= level).count();
            if count > 0 {
                Outcome::AlertsActive { level, count }
            } else {
                Outcome::Done
            }
        }
        None => Outcome::Done,
    })
}
