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
use super::contract::{AlertDoc, Envelope};
use super::json::report_json;
use super::table::write_table;
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::collect::namespaces::reader::Access;
use crate::fleet::rows::NamespaceRow;
use crate::format::timestamp::{format_rfc3339, format_utc};

/// One namespace in a picture of all of them.
#[derive(Debug, Clone)]
pub struct NamespaceReport<'a> {
    pub status: &'a NamespaceStatus,
    /// The judged picture, or why there is none.
    pub picture: Result<Report<'a>, String>,
    /// Whether the whole table was read (else listeners and totals only).
    pub whole_table: bool,
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

/// `entered (sock_diag)`, `/proc/PID/net (no backlogs)`, `own`.
pub fn access_text(access: &Result<Access, String>) -> String {
    match access {
        Ok(Access::Own) => "own namespace".to_string(),
        Ok(Access::Entered) => "entered (setns)".to_string(),
        Ok(Access::Outside { pid }) => format!("/proc/{pid}/net from outside"),
        Err(why) => format!("unreadable: {why}"),
    }
}

/// Who a namespace is: `id`, `name`, `container`, `pid`, and the rest.
pub fn identity_json(status: &NamespaceStatus) -> Value {
    let found = &status.found;
    let container = found.origin.container.as_ref();
    json!({
        "id": found.id.0,
        "label": found.label(),
        "host": found.is_host,
        "name": found.name,
        "container": container.map(|c| c.id.clone()),
        "runtime": container.map(|c| c.runtime.name()),
        "pod_uid": found.origin.pod_uid,
        "systemd_unit": found.origin.systemd_unit,
        "pid": found.pid,
        "command": found.command,
        "access": access_text(&status.access),
        "readable": status.access.is_ok(),
    })
}

fn namespace_json(report: &NamespaceReport<'_>) -> Value {
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
    if let (Some(object), Value::Object(identity)) =
        (value.as_object_mut(), identity_json(report.status))
    {
        object.extend(identity);
        object.insert("whole_table".to_string(), json!(report.whole_table));
    }
    value
}

/// The `namespaces` document: the contract's envelope, then `namespaces[]`.
pub fn all_namespaces_json(all: &AllNamespaces<'_>) -> Value {
    let mut value = serde_json::to_value(Envelope::new("namespaces", all.host, "all"))
        .unwrap_or_else(|_| json!({}));
    let body = json!({
        "taken_at_ms": all.taken_at_ms,
        "time": format_rfc3339(all.taken_at_ms),
        "all_namespaces": true,
        "notes": all.notes,
        "unreadable": all.namespaces.iter().filter(|n| n.status.access.is_err()).count(),
        "namespaces": all.namespaces.iter().map(namespace_json).collect::<Vec<_>>(),
    });
    if let (Some(object), Value::Object(body)) = (value.as_object_mut(), body) {
        object.extend(body);
    }
    value
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
    let mut value = serde_json::to_value(Envelope::new("namespace", host, &status.found.label()))
        .unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("event".to_string(), json!(event));
        object.insert("time_ms".to_string(), json!(at_ms));
        object.insert("time".to_string(), json!(format_rfc3339(at_ms)));
        object.insert("netns".to_string(), identity_json(status));
    }
    value
}

/// Adds who the namespace is to a line (`netns`).
pub fn with_namespace(mut line: Value, status: &NamespaceStatus) -> Value {
    if let Some(object) = line.as_object_mut() {
        object.insert("netns".to_string(), identity_json(status));
    }
    line
}

fn row_json(row: &NamespaceRow) -> Value {
    let mut value = identity_json(&row.status);
    if let Some(object) = value.as_object_mut() {
        object.extend([
            ("sockets".to_string(), json!(row.sockets)),
            ("time_wait".to_string(), json!(row.time_wait)),
            ("listener_count".to_string(), json!(row.listeners)),
            (
                "fullest_queue".to_string(),
                json!(row.fullest.map(|f| json!({
                    "port": f.port,
                    "accept_queue": f.queue,
                    "backlog": f.backlog,
                    "full": f.is_full(),
                }))),
            ),
            (
                "listen_overflows_per_sec".to_string(),
                json!(row.overflows_per_sec),
            ),
            (
                "alerts".to_string(),
                json!(row.alerts.iter().map(AlertDoc::of).collect::<Vec<_>>()),
            ),
            ("error".to_string(), json!(row.error)),
        ]);
    }
    value
}

/// The per-interval line output of `--all-namespaces`: one row per
/// namespace, worst first (`type: namespace_rows`).
pub fn rows_json(host: &str, at_ms: u64, rows: &[NamespaceRow]) -> Value {
    let mut value = serde_json::to_value(Envelope::new("namespace_rows", host, "all"))
        .unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("time_ms".to_string(), json!(at_ms));
        object.insert("time".to_string(), json!(format_rfc3339(at_ms)));
        object.insert(
            "namespaces".to_string(),
            rows.iter().map(row_json).collect(),
        );
    }
    value
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
        "{:<width$}  {:>7}  {:>9}  {:>9}  {:>14}  {:>11}  ALERTS",
        "NAMESPACE", "SOCKETS", "TIME_WAIT", "LISTENERS", "FULLEST", "OVERFLOWS/s"
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
        writeln!(
            out,
            "{:<width$}  {:>7}  {:>9}  {:>9}  {:>14}  {:>11}  {alerts}",
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
