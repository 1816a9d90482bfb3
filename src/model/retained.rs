//! Which socket records a snapshot keeps once they have been counted.
//!
//! Counts are always exact (aggregated while the dump streams in); the
//! records themselves are kept for per-connection views and rules up to a
//! limit, so memory stays bounded on hosts with a million sockets. Past the
//! limit TIME_WAIT records go first: they are the bulk of a busy table and
//! say the least (no owner, no queue).
//!
//! Owns: `Retained`. Must not: do I/O.

use super::socket::SocketRecord;
use super::state::TcpState;

/// Records kept at most per snapshot by default: about 19 MiB.
pub(crate) const DEFAULT_RETAIN_LIMIT: usize = 200_000;

#[derive(Debug)]
pub(crate) struct Retained {
    records: Vec<SocketRecord>,
    limit: usize,
    offered: u64,
    dropped_time_wait: bool,
    complete: bool,
}

impl Retained {
    pub fn new(limit: usize, capacity_hint: usize) -> Retained {
        Retained {
            records: Vec::with_capacity(capacity_hint.min(limit)),
            limit,
            offered: 0,
            dropped_time_wait: false,
            complete: true,
        }
    }

    /// Considers one record; keeps a copy while there is room.
    pub(crate) fn offer(&mut self, record: &SocketRecord) {
        self.offered += 1;
        if self.dropped_time_wait && record.state == TcpState::TimeWait {
            return;
        }
        if self.records.len() >= self.limit {
            self.complete = false;
            if !self.dropped_time_wait {
                self.dropped_time_wait = true;
                self.records.retain(|r| r.state != TcpState::TimeWait);
            }
            if self.records.len() >= self.limit || record.state == TcpState::TimeWait {
                return;
            }
        }
        self.records.push(*record);
    }

    /// How many records were offered (the filtered table's size).
    pub(crate) fn offered(&self) -> u64 {
        self.offered
    }

    /// True when every offered record was kept.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete
    }

    pub(crate) fn into_records(self) -> Vec<SocketRecord> {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    fn offer_many(retained: &mut Retained, state: TcpState, count: u16) {
        for i in 0..count {
            retained.offer(&record(
                state,
                &format!("127.0.0.1:{}", 20000 + i),
                "127.0.0.1:80",
            ));
        }
    }

    #[test]
    fn keeps_everything_under_the_limit() {
        let mut retained = Retained::new(10, 0);
        offer_many(&mut retained, TcpState::TimeWait, 4);
        offer_many(&mut retained, TcpState::Established, 4);
        assert!(retained.is_complete());
        assert_eq!(retained.offered(), 8);
        assert_eq!(retained.into_records().len(), 8);
    }

    #[test]
    fn past_the_limit_time_wait_makes_room_for_the_rest() {
        let mut retained = Retained::new(10, 0);
        offer_many(&mut retained, TcpState::TimeWait, 8);
        offer_many(&mut retained, TcpState::Established, 6);
        offer_many(&mut retained, TcpState::TimeWait, 5);
        offer_many(&mut retained, TcpState::CloseWait, 10);
        assert!(!retained.is_complete());
        assert_eq!(retained.offered(), 29);
        let kept = retained.into_records();
        assert_eq!(kept.len(), 10, "bounded");
        assert!(
            kept.iter().all(|r| r.state != TcpState::TimeWait),
            "{kept:?}"
        );
        assert_eq!(
            kept.iter()
                .filter(|r| r.state == TcpState::Established)
                .count(),
            6
        );
    }
}
