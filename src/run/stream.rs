//! `--stream`: one JSON line per connection state change and per alert
//! raised or cleared, as the ticks bring them; a `source` line (source,
//! namespace, notes) first and whenever it changes, so a fallback to /proc
//! is never silent.
//!
//! Owns: the event lines. Must not: touch terminal modes.

use std::io::{self, Write};

use super::lines::ring_bell_if;
use super::pipeline::for_each_full_tick;
use crate::alert::AlertEvent;
use crate::cli::Config;
use crate::error::AppError;
use crate::output::json::alert_json;
use crate::output::stream::{source_json, source_key, transition_json};

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

pub fn run_stream(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let mut last_source = None;
    for_each_full_tick(config, |tick| {
        let mut out = stdout.lock();
        let source = source_key(&tick.snapshot);
        if last_source.as_ref() != Some(&source) {
            write_json_line(&mut out, &source_json(&tick.snapshot))?;
            last_source = Some(source);
        }
        ring_bell_if(config, &mut out, &tick.alert_events).map_err(AppError::Output)?;
        for transition in &tick.transitions {
            write_json_line(&mut out, &transition_json(transition))?;
        }
        for event in &tick.alert_events {
            let (name, alert) = match event {
                AlertEvent::Raised(alert) => ("raised", alert),
                AlertEvent::Cleared(alert) => ("cleared", alert),
            };
            let mut value = alert_json(alert);
            if let Some(object) = value.as_object_mut() {
                object.insert("type".to_string(), "alert".into());
                object.insert("event".to_string(), name.into());
                object.insert("at_ms".to_string(), tick.at_ms().into());
            }
            write_json_line(&mut out, &value)?;
        }
        out.flush().map_err(AppError::Output)
    })
}
