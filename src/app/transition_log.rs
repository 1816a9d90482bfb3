//! The dashboard's log of connection state changes: the pipeline follows
//! each connection from tick to tick (`watch`) and each tick brings its
//! changes; the log keeps the latest ones.
//!
//! Owns: `TransitionLog` and its bound. Must not: draw or read the clock:
//! the time of each change is the time of the sample that showed it.

use std::collections::VecDeque;

use crate::model::transitions::Transition;

/// Changes kept; older ones are dropped.
pub(crate) const LOG_CAPACITY: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct TransitionLog {
    log: VecDeque<Transition>,
    /// The socket count of the last sample when it was too large to follow.
    too_many: Option<usize>,
    /// Some connections of the last sample were not followed (the cap).
    truncated: bool,
}

impl TransitionLog {
    /// Keeps one tick's changes (oldest dropped beyond the capacity).
    pub fn record(&mut self, changes: Vec<Transition>, too_many: Option<usize>, truncated: bool) {
        self.too_many = too_many;
        self.truncated = truncated;
        for change in changes {
            if self.log.len() == LOG_CAPACITY {
                self.log.pop_front();
            }
            self.log.push_back(change);
        }
    }

    /// The logged changes, newest first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &Transition> {
        self.log.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// The last sample's socket count when it was too large to follow.
    pub(crate) fn too_many(&self) -> Option<usize> {
        self.too_many
    }

    /// True when some connections are not followed (more than the cap).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    pub fn clear(&mut self) {
        self.log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;
    use crate::model::transitions::Change;

    fn change(n: u16) -> Transition {
        Transition {
            at_ms: u64::from(n),
            local: format!("127.0.0.1:{n}").parse().expect("address"),
            remote: "127.0.0.1:9".parse().expect("address"),
            change: Change::Moved {
                from: TcpState::SynSent,
                to: TcpState::Established,
                skipped: Vec::new(),
            },
            after_ms: None,
            cause: "recv SYN-ACK, send ACK",
        }
    }

    #[test]
    fn keeps_the_latest_changes_newest_first() {
        let mut log = TransitionLog::default();
        log.record((1..=600).map(change).collect(), None, false);
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log.newest_first().next().map(|t| t.at_ms), Some(600));
        assert_eq!(log.newest_first().last().map(|t| t.at_ms), Some(101));
    }
}
