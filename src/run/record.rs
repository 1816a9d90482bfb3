//! `tcpwatch record FILE`: the pipeline with a recorder and no display,
//! until Ctrl-C, SIGTERM or SIGHUP; then the index is written and the
//! recording closed. A line on stderr says where it records and, at the
//! end, how much.
//!
//! Owns: the record mode's loop and its stop signals. Must not: write
//! frames itself (the pipeline's record slot does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use super::pipeline::{WatchSpec, open_live_sampler, sampler_config, spawn_watch_channel};
use crate::cli::Config;
use crate::error::AppError;
use crate::watch::Tick;

/// How often the loop looks at the stop flag between ticks.
const STOP_CHECK: Duration = Duration::from_millis(100);

pub fn run_record(config: &Config) -> Result<(), AppError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(AppError::Thread)?;
    }
    let spec = WatchSpec::from_config(config)?;
    let slot = spec.record.clone();
    let (ticks, handle) = spawn_watch_channel(spec, open_live_sampler(sampler_config(config)))?;
    if let Some((path, _)) = slot.status() {
        eprintln!(
            "tcpwatch: recording to {} every {} (Ctrl-C to stop)",
            path.display(),
            humantime::format_duration(config.interval)
        );
    }
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        match ticks.recv_timeout(STOP_CHECK) {
            Ok(Tick::Full(_)) => first = false,
            Ok(Tick::Failed { error, .. }) if first => return Err(error.into()),
            Ok(Tick::Failed { error, .. }) => eprintln!("tcpwatch: sample failed: {error}"),
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(AppError::SamplerLost),
        }
        if let Some(failure) = slot.take_failure() {
            return Err(AppError::RecordingStopped(failure));
        }
    }
    let status = slot.status();
    slot.finish()?;
    drop(handle);
    if let Some((path, frames)) = status {
        eprintln!("tcpwatch: recorded {frames} frames to {}", path.display());
    }
    Ok(())
}
