//! The dashboard's log of connection state changes: every full sample's
//! listeners and sockets go through a `TransitionTracker`, which follows each
//! connection and logs each change with its cause.
//!
//! Owns: `TransitionLog` and its bounds. Must not: draw or read the clock:
//! the time of each change is the time of the sample that showed it.

use crate::model::Snapshot;
use crate::model::transitions::{Transition, TransitionTracker};

/// Changes kept; older ones are dropped.
pub const LOG_CAPACITY: usize = 500;
/// Connections followed at most, so a huge table cannot grow the memory
/// without bound; beyond it new connections are not followed.
pub const MAX_FOLLOWED: usize = 50_000;
/// A sample with more sockets than this is not followed connection by
/// connection at all: the work would stall the screen (the counts, queues
/// and alerts still update). Filtering with --port brings it under.
pub const FOLLOW_AT_MOST: usize = 50_000;

#[derive(Debug, Clone)]
pub struct TransitionLog {
    tracker: TransitionTracker,
    /// The socket count of the last sample when it was too large to follow.
    too_many: Option<usize>,
}

impl Default for TransitionLog {
    fn default() -> Self {
        TransitionLog {
            tracker: TransitionTracker::new(LOG_CAPACITY, MAX_FOLLOWED),
            too_many: None,
        }
    }
}

impl TransitionLog {
    /// Follows the snapshot's listeners and sockets; the first snapshot only
    /// learns the table.
    pub fn observe(&mut self, snapshot: &Snapshot) {
        if snapshot.sockets.len() > FOLLOW_AT_MOST {
            self.too_many = Some(snapshot.sockets.len());
            return;
        }
        self.too_many = None;
        self.tracker.observe_snapshot(snapshot);
    }

    /// The logged changes, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Transition> {
        self.tracker.log().rev()
    }

    pub fn len(&self) -> usize {
        self.tracker.log().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last sample's socket count when it was too large to follow.
    pub fn too_many(&self) -> Option<usize> {
        self.too_many
    }

    /// True when some connections are not followed (more than `MAX_FOLLOWED`).
    pub fn truncated(&self) -> bool {
        self.tracker.truncated
    }

    pub fn clear(&mut self) {
        self.tracker.clear_log();
    }
}
