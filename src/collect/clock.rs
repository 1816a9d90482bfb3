//! The wall clock, read in one place: the I/O layers stamp samples with it
//! and pass the time down; the pure layers never read it.
//!
//! Owns: `now_ms`. Must not: be called from model, alert, watch, app or ui.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
