//! Writes one report (table or JSON) for the line outputs.
//!
//! Owns: choosing the format and flushing. Must not: sample or evaluate.

use std::io::{self, Write};

use crate::alert::Alert;
use crate::cli::OutputFormat;
use crate::model::{Aggregates, CounterDeltas, Snapshot};
use crate::output::{Report, json::report_json, table::write_table};

pub(crate) fn write_report(
    out: &mut dyn Write,
    format: OutputFormat,
    host: &str,
    snapshot: &Snapshot,
    aggregates: &Aggregates,
    deltas: Option<&CounterDeltas>,
    alerts: &[Alert],
) -> io::Result<()> {
    let report = Report {
        host,
        snapshot,
        aggregates,
        deltas,
        alerts,
    };
    match format {
        OutputFormat::Table => write_table(out, &report)?,
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, &report_json(&report)).map_err(io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()
}
