//! `--stream`: a `snapshot` line with the starting picture, then one JSON
//! line per connection state change and per alert raised or cleared, as the
//! ticks bring them. The snapshot line states the source, namespace and
//! notes; it is printed again whenever they change (a fallback to /proc,
//! say), so a change of source is never silent.
//!
//! Owns: the event lines. Must not: touch terminal modes.

use std::io::{self, Write};

use super::lines::ring_bell_if;
use super::pipeline::for_each_full_tick;
use super::report::write_report;
use crate::cli::{Config, OutputFormat};
use crate::collect::host::host_name;
use crate::error::AppError;
use crate::model::Snapshot;
use crate::output::json::{alert_line, event_line, events_lost_line, transition_line};

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

pub(crate) fn run_stream(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let host = host_name();
    let mut last_source = None;
    let mut lost_reported = 0u64;
    for_each_full_tick(config, |tick| {
        let mut out = stdout.lock();
        let source = source_key(&tick.snapshot);
        let source_changed = last_source.as_ref() != Some(&source);
        last_source = Some(source);
        ring_bell_if(config, &mut out, &tick.alert_events).map_err(AppError::Output)?;
        if source_changed {
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

/// What decides whether the snapshot line is printed again: the source,
/// the namespace, and the notes with their numbers left out (a note whose
/// counts change every tick is the same note).
fn source_key(snapshot: &Snapshot) -> (&'static str, String, Vec<String>) {
    let notes = snapshot
        .notes
        .iter()
        .map(|note| note.chars().filter(|c| !c.is_ascii_digit()).collect())
        .collect();
    (snapshot.source.name(), snapshot.namespace.clone(), notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceKind;

    #[test]
    fn the_source_changes_with_the_source_and_notes_not_their_numbers() {
        let mut snap = Snapshot::empty(5, SourceKind::Netlink);
        snap.notes = vec!["300000 sockets: details kept for 200000".to_string()];
        let key = source_key(&snap);
        snap.notes = vec!["310000 sockets: details kept for 200000".to_string()];
        assert_eq!(source_key(&snap), key, "only numbers changed");
        snap.notes
            .push("sock_diag failed; reading /proc/net/tcp".to_string());
        assert_ne!(source_key(&snap), key);
        snap.source = SourceKind::Proc;
        assert_ne!(source_key(&snap), key);
    }
}
