//! `--all-namespaces` on a pipe: `--stream` opens with the picture of every
//! namespace (the `namespaces` document), then one JSON line per alert
//! raised or cleared in any namespace (with `netns`, who it is, and
//! `last_table`, what its latest whole table showed and how old it is) and
//! per namespace that appears or vanishes; without `--stream`, one row per
//! namespace each interval (table or `namespace_rows` JSON).
//!
//! Owns: those line outputs. Must not: touch terminal modes.

use std::collections::HashMap;
use std::io::{self, Write};

use super::all_once::Picture;
use super::fleet_pipeline::spawn_fleet_channel;
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

pub fn run_all_namespaces_stream(config: &Config) -> Result<(), AppError> {
    let host = host_name();
    let stdout = io::stdout();
    {
        let picture = Picture::take(config)?;
        let mut out = stdout.lock();
        write_json_line(&mut out, &picture.json(&host))?;
        out.flush().map_err(AppError::Output)?;
    }
    let (ticks, _handle) = spawn_fleet_channel(config)?;
    let mut first_discovery = true;
    // Each namespace's latest whole table, for its alert lines.
    let mut tables: HashMap<NamespaceId, TableFigures> = HashMap::new();
    for tick in ticks {
        let mut out = stdout.lock();
        match tick {
            FleetTick::Namespaces {
                at_ms,
                appeared,
                vanished,
                ..
            } => {
                // The opening picture already lists the first ones.
                if !std::mem::take(&mut first_discovery) {
                    for status in &appeared {
                        write_json_line(
                            &mut out,
                            &namespace_event_line(&host, "appeared", status, at_ms),
                        )?;
                    }
                }
                for status in &vanished {
                    tables.remove(&status.found.id);
                    write_json_line(
                        &mut out,
                        &namespace_event_line(&host, "vanished", status, at_ms),
                    )?;
                }
            }
            FleetTick::Alerts {
                status,
                at_ms,
                events,
            } => {
                ring_bell_if(config, &mut out, &events).map_err(AppError::Output)?;
                let label = status.found.label();
                let table = tables.get(&status.found.id);
                for event in &events {
                    let line = alert_line(&host, &label, event, at_ms);
                    write_json_line(&mut out, &with_namespace(line, &status, table, at_ms))?;
                }
            }
            FleetTick::Table { status, figures } => {
                tables.insert(status.found.id, *figures);
                continue;
            }
            FleetTick::Stopped { error } => return Err(error.into()),
            FleetTick::Rows { .. }
            | FleetTick::Opened { .. }
            | FleetTick::Judged { .. }
            | FleetTick::WholeTable { .. }
            | FleetTick::Queues { .. } => continue,
        }
        out.flush().map_err(AppError::Output)?;
    }
    Err(AppError::SamplerLost)
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
