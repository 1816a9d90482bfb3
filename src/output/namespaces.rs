//! The `--all-namespaces` line outputs: a JSON document with `namespaces[]`
//! (each entry the usual per-namespace keys plus who it is) and a table with
//! one line per namespace, then one section per namespace that has listeners
//! or alerts.
//!
//! Owns: the shape of `namespaces[]` and of the table sections. Must not:
//! sample, judge, or read the clock.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Report;
use super::contract::Envelope;
use super::json::report_json;
use super::netns_doc::{
    LastTableDoc, NamespaceLineDoc, NamespaceRowsDoc, NamespacesDoc, NetnsDoc, access_text,
};
use super::table::write_table;
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::fleet::rows::NamespaceRow;
use crate::fleet::table::{TableFigures, age_text};
use crate::format::timestamp::{format_rfc3339, format_utc};

/// One namespace in a picture of all of them.
#[derive(Debug, Clone)]
pub struct NamespaceReport<'a> {
    pub status: &'a NamespaceStatus,
    /// The judged picture, or why there is none.
    pub picture: Result<Report<'a>, String>,
    /// Whether the whole table was read (else listeners and totals only).
    pub whole_table: bool,
    /// The figures of its latest whole table, if one was read.
    pub last_table: Option<TableFigures>,
}

/// Every namespace, with what discovery wants the user to know.
#[derive(Debug, Clone)]
pub struct AllNamespaces<'a> {
    /// The host name, as `uname -n` prints it.
    pub host: &'a str,
    pub taken_at_ms: u64,
    pub namespaces: Vec<NamespaceReport<'a>>,
    pub notes: &'a [String],
}

fn to_value(doc: &impl serde::Serialize) -> Value {
    // Contract types are plain data with string keys: this cannot fail.
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

fn namespace_json(report: &NamespaceReport<'_>, now_ms: u64) -> Value {
    let mut value = match &report.picture {
        Ok(picture) => report_json(picture),
        Err(why) => json!({
            "error": why,
            "listeners": [],
            "totals": null,
            "time_wait": null,
            "counters": null,
            "alerts": [],
        }),
    };
    if let (Some(object), Value::Object(identity)) = (
        value.as_object_mut(),
        to_value(&NetnsDoc::of(report.status)),
    ) {
        object.extend(identity);
        object.insert("whole_table".to_string(), json!(report.whole_table));
        object.insert(
            "last_table".to_string(),
            to_value(
                &report
                    .last_table
                    .as_ref()
                    .map(|t| LastTableDoc::of(t, now_ms)),
            ),
        );
    }
    value
}

/// The `namespaces` document: the contract's envelope, then `namespaces[]`.
pub fn all_namespaces_json(all: &AllNamespaces<'_>) -> Value {
    to_value(&NamespacesDoc {
        envelope: Envelope::new("namespaces", all.host, "all"),
        time: format_rfc3339(all.taken_at_ms),
        time_ms: all.taken_at_ms,
        all_namespaces: true,
        notes: all.notes.to_vec(),
        unreadable: all
            .namespaces
            .iter()
            .filter(|n| n.status.access.is_err())
            .count(),
        namespaces: all
            .namespaces
            .iter()
            .map(|n| namespace_json(n, all.taken_at_ms))
            .collect(),
    })
}

/// One line per namespace, then a section for each with listeners or alerts.
pub fn write_all_namespaces_table(out: &mut dyn Write, all: &AllNamespaces<'_>) -> io::Result<()> {
    let readable = all
        .namespaces
        .iter()
        .filter(|n| n.status.access.is_ok())
        .count();
    writeln!(
        out,
        "tcpwatch · all namespaces · {} found, {readable} readable · {} UTC",
        all.namespaces.len(),
        format_utc(all.taken_at_ms),
    )?;
    for note in all.notes {
        writeln!(out, "note: {note}")?;
    }
    let width = all
        .namespaces
        .iter()
        .map(|n| n.status.found.label().len())
        .max()
        .unwrap_or(0)
        .max("NAMESPACE".len());
    writeln!(
        out,
        "{:<width$}  {:>12}  {:>7}  {:>9}  {:>9}  {:>6}  READ",
        "NAMESPACE", "ID", "SOCKETS", "TIME_WAIT", "LISTENERS", "ALERTS"
    )?;
    for report in &all.namespaces {
        let found = &report.status.found;
        let (sockets, tw, listeners, alerts) = match &report.picture {
            Ok(p) => (
                p.snapshot
                    .sockstat
                    .map_or("-".to_string(), |s| s.inuse.to_string()),
                p.snapshot
                    .sockstat
                    .map_or("-".to_string(), |s| s.tw.to_string()),
                p.aggregates.listeners.len().to_string(),
                p.alerts.len().to_string(),
            ),
            Err(_) => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let read = match &report.picture {
            Err(why) if report.status.access.is_ok() => format!("failed: {why}"),
            _ => access_text(&report.status.access),
        };
        writeln!(
            out,
            "{:<width$}  {:>12}  {sockets:>7}  {tw:>9}  {listeners:>9}  {alerts:>6}  {read}",
            found.label(),
            found.id.0,
        )?;
    }
    for report in &all.namespaces {
        let Ok(picture) = &report.picture else {
            continue;
        };
        if picture.aggregates.listeners.is_empty() && picture.alerts.is_empty() {
            continue;
        }
        let found = &report.status.found;
        writeln!(out)?;
        writeln!(
            out,
            "=== {} · netns:[{}]{} ===",
            found.label(),
            found.id.0,
            found.pid.map(|p| format!(" · pid {p}")).unwrap_or_default()
        )?;
        if !report.whole_table {
            writeln!(
                out,
                "note: listeners and totals only: whole tables of every namespace did not fit the time budget"
            )?;
        }
        write_table(out, picture)?;
    }
    Ok(())
}

/// A `--stream` line for a namespace that appeared or vanished.
pub fn namespace_event_line(
    host: &str,
    event: &str,
    status: &NamespaceStatus,
    at_ms: u64,
) -> Value {
    to_value(&NamespaceLineDoc::of(host, event, status, at_ms))
}

/// Adds who the namespace is (`netns`) to a line, and what its latest whole
/// table showed, with its age at `at_ms` (`last_table`, null if none yet).
pub fn with_namespace(
    mut line: Value,
    status: &NamespaceStatus,
    table: Option<&TableFigures>,
    at_ms: u64,
) -> Value {
    if let Some(object) = line.as_object_mut() {
        object.insert("netns".to_string(), to_value(&NetnsDoc::of(status)));
        object.insert(
            "last_table".to_string(),
            to_value(&table.map(|t| LastTableDoc::of(t, at_ms))),
        );
    }
    line
}

/// The per-interval line output of `--all-namespaces`: one row per
/// namespace, worst first (`type: namespace_rows`).
pub fn rows_json(host: &str, at_ms: u64, rows: &[NamespaceRow]) -> Value {
    to_value(&NamespaceRowsDoc::of(host, at_ms, rows))
}

/// The same rows as a table for people.
pub fn write_rows_table(out: &mut dyn Write, at_ms: u64, rows: &[NamespaceRow]) -> io::Result<()> {
    writeln!(out, "tcpwatch · all namespaces · {} UTC", format_utc(at_ms))?;
    let width = rows
        .iter()
        .map(|r| r.label().len())
        .max()
        .unwrap_or(0)
        .max("NAMESPACE".len());
    writeln!(
        out,
        "{:<width$}  {:>7}  {:>9}  {:>9}  {:>14}  {:>11}  {:>6}  ALERTS",
        "NAMESPACE", "SOCKETS", "TIME_WAIT", "LISTENERS", "FULLEST", "OVERFLOWS/s", "TABLE"
    )?;
    for row in rows {
        let number = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        let alerts = match (&row.status.access, &row.error) {
            (Err(why), _) => format!("unreadable: {why}"),
            (_, Some(error)) => format!("failed: {error}"),
            _ => row
                .alerts
                .iter()
                .map(|a| format!("{} {}", a.severity.name(), a.kind.name()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let table = row
            .table
            .as_ref()
            .map_or("-".to_string(), |t| age_text(t.age_ms(at_ms)));
        writeln!(
            out,
            "{:<width$}  {:>7}  {:>9}  {:>9}  {:>14}  {:>11}  {table:>6}  {alerts}",
            row.label(),
            number(row.sockets),
            number(row.time_wait),
            row.listeners,
            row.fullest.map_or("-".to_string(), |f| f.text()),
            row.overflows_per_sec
                .map_or("-".to_string(), |r| format!("{r:.1}")),
        )?;
    }
    Ok(())
}
