//! One picture per interval (pipes, logs, `--format json` on a terminal),
//! with the active alerts and the counter growth since the last picture.
//!
//! Owns: the picture loop. Must not: touch terminal modes.

use std::io::{self, IsTerminal, Write};

use super::pipeline::for_each_full_tick;
use super::report::write_report;
use crate::alert::{AlertEvent, Severity};
use crate::cli::{Config, OutputFormat};
use crate::collect::host::host_name;
use crate::error::AppError;

/// Rings the terminal bell (`--bell`) when a warning or worse was raised.
pub(super) fn ring_bell_if(
    config: &Config,
    out: &mut dyn Write,
    events: &[AlertEvent],
) -> io::Result<()> {
    let raised = events
        .iter()
        .any(|e| matches!(e, AlertEvent::Raised(a) if a.severity >= Severity::Warning));
    if config.bell && raised {
        out.write_all(b"\x07")?;
    }
    Ok(())
}

/// Prints one picture per interval, with the active alerts.
pub(crate) fn run_lines(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let separate = config.format == OutputFormat::Table && stdout.is_terminal();
    let mut printed = false;
    let host = host_name();
    for_each_full_tick(config, |tick| {
        let mut out = stdout.lock();
        if printed && config.format == OutputFormat::Table {
            writeln!(out, "{}", if separate { "" } else { "----" }).map_err(AppError::Output)?;
        }
        printed = true;
        ring_bell_if(config, &mut out, &tick.alert_events).map_err(AppError::Output)?;
        write_report(
            &mut out,
            config.format,
            &host,
            &tick.snapshot,
            &tick.aggregates,
            tick.deltas.as_ref(),
            &tick.active_alerts,
        )
        .map_err(AppError::Output)
    })
}
