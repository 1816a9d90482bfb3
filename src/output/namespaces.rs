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
use super::table::write_table;
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::collect::namespaces::reader::Access;
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
