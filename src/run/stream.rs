//! `--stream`: a `snapshot` line with the starting picture, then one JSON
//! line per connection state change and per alert raised or cleared, as the
//! ticks bring them. `replay --stream` writes a recording's ticks through
//! the same `StreamLines`, so both print the same lines.
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
use crate::watch::FullTick;

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

/// The stream's lines, tick after tick: the opening picture before the
/// first tick's lines, then each tick's kernel events, lost-event counts,
/// transitions and alert events.
pub(crate) struct StreamLines {
    host: String,
    opened: bool,
    lost_reported: u64,
}

impl StreamLines {
    pub(crate) fn new(host: String) -> StreamLines {
        StreamLines {
            host,
            opened: false,
            lost_reported: 0,
        }
    }

    /// Writes one tick's lines (and, for the first tick, the snapshot line).
    pub(crate) fn write_tick_lines(
        &mut self,
        out: &mut dyn Write,
        tick: &FullTick,
    ) -> Result<(), AppError> {
        let host = self.host.as_str();
        if !std::mem::replace(&mut self.opened, true) {
            write_report(
                out,
                OutputFormat::Json,
                host,
                &tick.snapshot,
                &tick.aggregates,
                None,
                &tick.active_alerts,
            )
            .map_err(AppError::Output)?;
        }
        let namespace = &tick.snapshot.namespace;
        for line in &tick.events {
            write_json_line(out, &event_line(host, namespace, line))?;
        }
        if let Some(counts) = &tick.event_counts {
            let lost = counts.lost + counts.lines_dropped;
            if lost > self.lost_reported {
                let fresh = lost - self.lost_reported;
                self.lost_reported = lost;
                write_json_line(out, &events_lost_line(host, namespace, fresh, tick.at_ms()))?;
            }
        }
        for transition in &tick.transitions {
            write_json_line(out, &transition_line(host, namespace, transition))?;
        }
        for event in &tick.alert_events {
            write_json_line(out, &alert_line(host, namespace, event, tick.at_ms()))?;
        }
        Ok(())
    }
}

pub(crate) fn run_stream(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let mut lines = StreamLines::new(host_name());
    for_each_full_tick(config, |tick| {
        let mut out = stdout.lock();
        ring_bell_if(config, &mut out, &tick.alert_events).map_err(AppError::Output)?;
        lines.write_tick_lines(&mut out, tick)?;
        out.flush().map_err(AppError::Output)
    })
}
