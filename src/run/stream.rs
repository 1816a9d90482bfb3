//! `--stream`: a `snapshot` line with the starting picture, then one JSON
//! line per connection state change and per alert raised or cleared, as the
//! ticks bring them.
//!
//! Owns: the event lines. Must not: touch terminal modes.

use std::io::{self, Write};

use super::lines::ring_bell_if;
use super::pipeline::for_each_full_tick;
use super::report::write_report;
use crate::cli::{Config, OutputFormat};
use crate::collect::host::host_name;
use crate::error::AppError;
use crate::output::json::{alert_line, event_line, events_lost_line, transition_line};

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

pub(crate) fn run_stream(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let host = host_name();
    let mut first = true;
    let mut lost_reported = 0u64;
    for_each_full_tick(config, |tick| {
        let mut out = stdout.lock();
        ring_bell_if(config, &mut out, &tick.alert_events).map_err(AppError::Output)?;
        if std::mem::take(&mut first) {
            write_report(
                &mut out,
                OutputFormat::Json,
                &host,
                &tick.snapshot,
                &tick.aggregates,
                None,
                &tick.active_alerts,
            )
            .map_err(AppError::Output)?;
        }
        let namespace = &tick.snapshot.namespace;
        for line in &tick.events {
            write_json_line(&mut out, &event_line(&host, namespace, line))?;
        }
        if let Some(counts) = &tick.event_counts {
            let lost = counts.lost + counts.lines_dropped;
            if lost > lost_reported {
                let fresh = lost - lost_reported;
                lost_reported = lost;
                write_json_line(
                    &mut out,
                    &events_lost_line(&host, namespace, fresh, tick.at_ms()),
                )?;
            }
        }
        for transition in &tick.transitions {
            write_json_line(&mut out, &transition_line(&host, namespace, transition))?;
        }
        for event in &tick.alert_events {
            write_json_line(&mut out, &alert_line(&host, namespace, event, tick.at_ms()))?;
        }
        out.flush().map_err(AppError::Output)
    })
}
