//! The `--format json` document and the `--stream` lines, as JSON values:
//! the contract v1 (see `contract`) written out.
//!
//! Owns: turning a report or an event into its JSON value. Must not: change
//! the shape (that is `contract`, and the schema file in assets/).

use serde_json::Value;

use super::Report;
use super::contract::{AlertLine, FrameParts, SnapshotDoc, TransitionLine};
use crate::alert::AlertEvent;
use crate::model::transitions::Transition;

fn to_value(doc: &impl serde::Serialize) -> Value {
    // Every contract type is plain data with string keys: this cannot fail.
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// The picture: a `snapshot` document.
pub fn report_json(report: &Report<'_>) -> Value {
    to_value(&SnapshotDoc::of(
        report.host,
        report.snapshot,
        report.aggregates,
        report.deltas,
        report.alerts,
        FrameParts::default(),
    ))
}

/// A `--stream` line for a connection's state change.
pub fn transition_line(host: &str, namespace: &str, transition: &Transition) -> Value {
    to_value(&TransitionLine::of(host, namespace, transition))
}

/// A `--stream` line for an alert raised or cleared at `at_ms`.
pub fn alert_line(host: &str, namespace: &str, event: &AlertEvent, at_ms: u64) -> Value {
    to_value(&AlertLine::of(host, namespace, event, at_ms))
}

/// A `--stream` line for an exact kernel event.
pub fn event_line(
    host: &str,
    namespace: &str,
    line: &crate::model::event_ledger::EventLine,
) -> Value {
    to_value(&super::event_doc::EventLineDoc::of(host, namespace, line))
}

/// A `--stream` line saying the kernel lost `count` events.
pub fn events_lost_line(host: &str, namespace: &str, count: u64, at_ms: u64) -> Value {
    to_value(&super::event_doc::EventLineDoc::lost(
        host, namespace, count, at_ms,
    ))
}
