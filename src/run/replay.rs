//! `tcpwatch replay FILE`: the recording as a source of ticks. `--once
//! --at TIME` prints the picture at that time like `--once` did live;
//! `--stream` prints the events like `--stream` did live; otherwise the
//! dashboard plays it.
//!
//! Owns: reading the replay options and the line outputs of a replay.
//! Must not: decode frames itself (`record::Recording` does).

use std::io::{self, Write};

use super::Outcome;
use super::report::write_report;
use super::stream::StreamLines;
use crate::cli::{Config, ReplayConfig};
use crate::error::AppError;
use crate::format::timestamp::{format_rfc3339, parse_rfc3339};
use crate::record::Recording;

/// `--at`: RFC 3339, or `+DURATION` from the first frame.
pub fn parse_at(text: &str, first_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    if let Some(offset) = text.strip_prefix('+') {
        let offset = humantime::parse_duration(offset)
            .map_err(|e| format!("--at {text}: {e}; use e.g. +90s, +1h5m"))?;
        let offset = u64::try_from(offset.as_millis()).unwrap_or(u64::MAX);
        return Ok(first_ms.saturating_add(offset));
    }
    parse_rfc3339(text).ok_or_else(|| {
        format!("--at {text}: not a time; use RFC 3339 (2026-11-23T21:40:12Z) or an offset (+90s)")
    })
}

pub(super) fn open(replay: &ReplayConfig) -> Result<Recording, AppError> {
    let recording = Recording::open(&replay.file)?;
    if let Some(damage) = recording.damage() {
        eprintln!(
            "tcpwatch: {} is damaged ({damage}); replaying the {} whole frames before it",
            replay.file.display(),
            recording.frames().len()
        );
    }
    if recording.frames().is_empty() {
        return Err(AppError::Replay(format!(
            "{} holds no frames yet",
            replay.file.display()
        )));
    }
    Ok(recording)
}

pub fn run_replay(config: &Config) -> Result<Outcome, AppError> {
    let Some(replay) = &config.replay else {
        return Ok(Outcome::Done);
    };
    if replay.once {
        replay_once(replay)
    } else if replay.stream {
        replay_stream(replay).map(|()| Outcome::Done)
    } else {
        super::replay_dashboard::run(config, replay).map(|()| Outcome::Done)
    }
}

fn replay_once(replay: &ReplayConfig) -> Result<Outcome, AppError> {
    let mut recording = open(replay)?;
    let (first_ms, last_ms) = recording.span_ms().unwrap_or((0, 0));
    let at_ms = match &replay.at {
        Some(text) => parse_at(text, first_ms).map_err(AppError::Replay)?,
        None => first_ms,
    };
    if at_ms < first_ms || at_ms > last_ms.saturating_add(recording.header().interval_ms) {
        return Err(AppError::Replay(format!(
            "--at {} is outside the recording ({} to {})",
            format_rfc3339(at_ms),
            format_rfc3339(first_ms),
            format_rfc3339(last_ms)
        )));
    }
    let number = recording.frame_at(at_ms).unwrap_or(0);
    let tick = recording.tick(number)?;
    let host = recording.header().host.clone();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write_report(
        &mut out,
        replay.format,
        &host,
        &tick.snapshot,
        &tick.aggregates,
        tick.deltas.as_ref(),
        &tick.active_alerts,
    )
    .map_err(AppError::Output)?;
    Ok(Outcome::Done)
}

/// The events again, as `--stream` printed them live (`StreamLines`): the
/// first frame's picture, then each frame's transitions and alert events. A
/// damaged frame ends the replay with its error, after everything before it.
fn replay_stream(replay: &ReplayConfig) -> Result<(), AppError> {
    let mut recording = open(replay)?;
    let mut lines = StreamLines::new(recording.header().host.clone());
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for number in 0..recording.frames().len() {
        let tick = recording.tick(number)?;
        lines.write_tick_lines(&mut out, &tick)?;
    }
    out.flush().map_err(AppError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_an_offset_or_a_time() {
        assert_eq!(parse_at("+90s", 1000), Ok(91_000));
        assert_eq!(parse_at("+1h", 0), Ok(3_600_000));
        assert_eq!(parse_at("2026-11-23T21:40:12Z", 0), Ok(1_795_470_012_000));
        assert!(parse_at("soon", 0).unwrap_err().contains("RFC 3339"));
        assert!(parse_at("+x", 0).is_err());
    }
}
