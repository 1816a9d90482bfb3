//! Line output for `--once` and for a non-terminal stdout: a table for people
//! and JSON for scripts.
//!
//! Owns: the text and JSON renderings of one report. Must not: read the
//! kernel, the clock or the terminal; it writes to a `Write` it is given.

pub mod contract;
pub mod event_doc;
pub mod event_text;
pub mod json;
pub mod namespaces;
pub mod netns_doc;
pub mod table;

use crate::alert::Alert;
use crate::model::{Aggregates, CounterDeltas, ListenerSummary, Snapshot, TcpState};

/// Everything one line-output frame shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The host name, as `uname -n` prints it.
    pub host: &'a str,
    pub snapshot: &'a Snapshot,
    pub aggregates: &'a Aggregates,
    /// Counter growth since the previous sample, when there was one.
    pub deltas: Option<&'a CounterDeltas>,
    /// Active alerts, most severe first.
    pub alerts: &'a [Alert],
}

impl Report<'_> {
    /// The listeners to list: none when `--state` leaves LISTEN out (the
    /// snapshot keeps them anyway, to attribute SYN_RECV and service ports).
    pub fn shown_listeners(&self) -> &[ListenerSummary] {
        if self.snapshot.filter.states.contains(TcpState::Listen) {
            &self.aggregates.listeners
        } else {
            &[]
        }
    }
}
