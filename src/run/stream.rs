//! `--stream`: a `snapshot` line with the starting picture, then one JSON
//! line per connection state change and per alert raised or cleared, as the
//! ticks bring them. The snapshot line states the source, namespace and
//! notes; it is printed again whenever they change (a fallback to /proc,
//! say), so a change of source is never silent. `replay --stream` writes a
//! recording's ticks through the same `StreamLines`, so both print the same
//! lines.
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
use crate::watch::FullTick;

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

/// The stream's lines, tick after tick: the picture (snapshot line) before
/// the first tick's lines and again whenever the source changes, then each
/// tick's kernel events, lost-event counts, transitions and alert events.
pub(crate) struct StreamLines {
    host: String,
    last_source: Option<SourceKey>,
    lost_reported: u64,
}

impl StreamLines {
    pub(crate) fn new(host: String) -> StreamLines {
        StreamLines {
            host,
            last_source: None,
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
        let source = source_key(&tick.snapshot);
        if self.last_source.as_ref() != Some(&source) {
            self.last_source = Some(source);
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

/// What decides whether the snapshot line is printed again: the source,
/// the namespace, and the notes with their numbers left out (a note whose
/// counts change every tick is the same note).
type SourceKey = (&'static str, String, Vec<String>);

fn source_key(snapshot: &Snapshot) -> SourceKey {
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
