//! `--all-namespaces` on a pipe: `--stream` opens with the picture of every
//! namespace (the `namespaces` document; taken while the live sampling
//! already runs, whose lines wait for it), then one JSON line per alert
//! raised or cleared in any namespace (with `netns`, who it is, and
//! `last_table`, what its latest whole table showed and how old it is) and
//! per namespace that appears or vanishes; without `--stream`, one row per
//! namespace each interval (table or `namespace_rows` JSON).
//!
//! Owns: those line outputs. Must not: touch terminal modes.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::mpsc;

use super::all_once::Picture;
use super::fleet_pipeline::{TICK_BACKLOG, spawn_fleet_channel, spawn_fleet_watch};
use super::lines::ring_bell_if;
use crate::cli::{Config, OutputFormat};
use crate::collect::host::host_name;
use crate::collect::namespaces::discovery::NamespaceId;
use crate::error::AppError;
use crate::fleet::judge::FleetTick;
use crate::fleet::table::TableFigures;
use crate::output::json::alert_line;
use crate::output::namespaces::{
    namespace_event_line, rows_json, with_namespace, write_rows_table,
};

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

/// What the stream's main thread waits for: the live fleet's ticks, and
/// the opening picture once it is taken.
enum StreamMsg {
    Tick(FleetTick),
    Picture(Result<Picture, AppError>),
}

pub fn run_all_namespaces_stream(config: &Config) -> Result<(), AppError> {
    let host = host_name();
    let (sender, inbox) = mpsc::sync_channel(TICK_BACKLOG);
    // Live sampling starts first and the picture is taken beside it: whole
    // tables take seconds on a busy node, and a queue that fills meanwhile
    // must still be raised (printed after the picture, with its own time).
    let ticks = sender.clone();
    let _handle = spawn_fleet_watch(config, true, false, move |tick| {
        ticks.send(StreamMsg::Tick(tick)).is_ok()
    })?;
    Picture::take_in_background(config, move |picture| {
        let _ = sender.send(StreamMsg::Picture(picture));
    })?;
    let stdout = io::stdout();
    let mut lines = StreamLines {
        config,
        host: &host,
        first_discovery: true,
        tables: HashMap::new(),
    };
    // What the ticks printed before the picture was ready, in order.
    let mut before_picture: Option<Vec<u8>> = Some(Vec::new());
    for msg in inbox {
        match (msg, &mut before_picture) {
            (StreamMsg::Picture(picture), Some(early)) => {
                let picture = picture?;
                let mut out = stdout.lock();
                write_json_line(&mut out, &picture.json(&host))?;
                out.write_all(early).map_err(AppError::Output)?;
                out.flush().map_err(AppError::Output)?;
                before_picture = None;
            }
            (StreamMsg::Picture(_), None) => {}
            (StreamMsg::Tick(tick), Some(early)) => lines.write(early, tick)?,
            (StreamMsg::Tick(tick), None) => {
                let mut out = stdout.lock();
                lines.write(&mut out, tick)?;
                out.flush().map_err(AppError::Output)?;
            }
        }
    }
    Err(AppError::SamplerLost)
}

/// Turns the fleet's ticks into the stream's lines.
struct StreamLines<'a> {
    config: &'a Config,
    host: &'a str,
    /// The opening picture lists the namespaces of the first discovery.
    first_discovery: bool,
    /// Each namespace's latest whole table, for its alert lines.
    tables: HashMap<NamespaceId, TableFigures>,
}

impl StreamLines<'_> {
    fn write(&mut self, out: &mut dyn Write, tick: FleetTick) -> Result<(), AppError> {
        let host = self.host;
        match tick {
            FleetTick::Namespaces {
                at_ms,
                appeared,
                vanished,
                ..
            } => {
                if !std::mem::take(&mut self.first_discovery) {
                    for status in &appeared {
                        write_json_line(
                            out,
                            &namespace_event_line(host, "appeared", status, at_ms),
                        )?;
                    }
                }
                for status in &vanished {
                    self.tables.remove(&status.found.id);
                    write_json_line(out, &namespace_event_line(host, "vanished", status, at_ms))?;
                }
            }
            FleetTick::Alerts {
                status,
                at_ms,
                events,
            } => {
                ring_bell_if(self.config, out, &events).map_err(AppError::Output)?;
                let label = status.found.label();
                let table = self.tables.get(&status.found.id);
                for event in &events {
                    let line = alert_line(host, &label, event, at_ms);
                    write_json_line(out, &with_namespace(line, &status, table, at_ms))?;
                }
            }
            FleetTick::Table { status, figures } => {
                self.tables.insert(status.found.id, *figures);
            }
            FleetTick::Stopped { error } => return Err(error.into()),
            FleetTick::Rows { .. }
            | FleetTick::Opened { .. }
            | FleetTick::Judged { .. }
            | FleetTick::WholeTable { .. }
            | FleetTick::Queues { .. } => {}
        }
        Ok(())
    }
}

pub fn run_all_namespaces_lines(config: &Config) -> Result<(), AppError> {
    let host = host_name();
    let stdout = io::stdout();
    let (ticks, _handle) = spawn_fleet_channel(config)?;
    let mut printed = false;
    for tick in ticks {
        let mut out = stdout.lock();
        match tick {
            FleetTick::Rows { at_ms, rows } => {
                match config.format {
                    OutputFormat::Json => {
                        write_json_line(&mut out, &rows_json(&host, at_ms, &rows))?
                    }
                    OutputFormat::Table => {
                        if std::mem::replace(&mut printed, true) {
                            writeln!(out, "----").map_err(AppError::Output)?;
                        }
                        write_rows_table(&mut out, at_ms, &rows).map_err(AppError::Output)?;
                    }
                }
                out.flush().map_err(AppError::Output)?;
            }
            FleetTick::Alerts { events, .. } => {
                ring_bell_if(config, &mut out, &events).map_err(AppError::Output)?;
            }
            FleetTick::Stopped { error } => return Err(error.into()),
            FleetTick::Namespaces { .. }
            | FleetTick::Opened { .. }
            | FleetTick::Table { .. }
            | FleetTick::Judged { .. }
            | FleetTick::WholeTable { .. }
            | FleetTick::Queues { .. } => {}
        }
    }
    Err(AppError::SamplerLost)
}
