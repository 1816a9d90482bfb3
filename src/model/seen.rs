//! When each socket was first seen, for the connection view's "age" column.
//!
//! Owns: `FirstSeen`, `SocketAge`. Must not: do I/O or read the clock (the
//! sample time comes in), or grow without bound: keys gone from the latest
//! sample are forgotten, and at most `capacity` sockets are followed.

use std::collections::HashMap;

use super::socket::{SocketKey, SocketRecord};

/// Sockets followed at most; beyond that a socket's age shows as unknown.
pub(crate) const DEFAULT_CAPACITY: usize = 200_000;

/// How long a socket has been seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketAge {
    pub ms: u64,
    /// It was already there at the first sample, so it is at least this old.
    pub at_least: bool,
}

/// First-seen times of the sockets in the latest sample.
#[derive(Debug, Clone)]
pub struct FirstSeen {
    first_seen_ms: HashMap<SocketKey, u64>,
    first_sample_ms: Option<u64>,
    capacity: usize,
}

impl Default for FirstSeen {
    fn default() -> Self {
        FirstSeen::new(DEFAULT_CAPACITY)
    }
}

impl FirstSeen {
    pub fn new(capacity: usize) -> FirstSeen {
        FirstSeen {
            first_seen_ms: HashMap::new(),
            first_sample_ms: None,
            capacity,
        }
    }

    /// Takes in one sample: new sockets are stamped `at_ms`, known ones keep
    /// their time, the rest are forgotten.
    pub(crate) fn observe<'a>(
        &mut self,
        at_ms: u64,
        sockets: impl IntoIterator<Item = &'a SocketRecord>,
    ) {
        self.first_sample_ms.get_or_insert(at_ms);
        let mut next = HashMap::with_capacity(self.first_seen_ms.len().min(self.capacity));
        for socket in sockets {
            if next.len() >= self.capacity {
                break;
            }
            let key = socket.key();
            let first = self.first_seen_ms.get(&key).copied().unwrap_or(at_ms);
            next.insert(key, first);
        }
        self.first_seen_ms = next;
    }

    pub(crate) fn first_seen_ms(&self, key: &SocketKey) -> Option<u64> {
        self.first_seen_ms.get(key).copied()
    }

    pub(crate) fn age(&self, key: &SocketKey, now_ms: u64) -> Option<SocketAge> {
        let first = self.first_seen_ms(key)?;
        Some(SocketAge {
            ms: now_ms.saturating_sub(first),
            at_least: Some(first) == self.first_sample_ms,
        })
    }

    pub fn len(&self) -> usize {
        self.first_seen_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_seen_ms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;
    use crate::model::socket::fixtures::record;

    #[test]
    fn ages_count_from_first_sight_and_gone_keys_are_forgotten() {
        let old = record(TcpState::Established, "127.0.0.1:1", "127.0.0.1:2");
        let new = record(TcpState::SynSent, "127.0.0.1:3", "127.0.0.1:2");
        let mut seen = FirstSeen::default();
        seen.observe(1_000, [&old]);
        seen.observe(2_000, [&old, &new]);
        assert_eq!(
            seen.age(&old.key(), 5_000),
            Some(SocketAge {
                ms: 4_000,
                at_least: true
            })
        );
        assert_eq!(
            seen.age(&new.key(), 5_000),
            Some(SocketAge {
                ms: 3_000,
                at_least: false
            })
        );
        seen.observe(3_000, [&new]);
        assert_eq!(seen.age(&old.key(), 5_000), None);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn capacity_bounds_memory() {
        let sockets: Vec<SocketRecord> = (1..=10u16)
            .map(|p| {
                record(
                    TcpState::TimeWait,
                    &format!("127.0.0.1:{p}"),
                    "127.0.0.1:80",
                )
            })
            .collect();
        let mut seen = FirstSeen::new(4);
        seen.observe(0, &sockets);
        assert_eq!(seen.len(), 4);
    }
}
