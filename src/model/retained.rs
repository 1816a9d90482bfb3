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
    /// Set at the first record past the limit: the table is incomplete from
    /// then on.
    dropped_time_wait: bool,
    /// Counting only: no record is copied, but what `limit` would have kept
    /// is reported (`kept`, `is_complete`).
    counting_only: bool,
    /// Non-TIME_WAIT records offered (what survives past the limit).
    offered_not_time_wait: u64,
}

impl Retained {
    pub fn new(limit: usize, capacity_hint: usize) -> Retained {
        Retained::in_buffer(limit, Vec::with_capacity(capacity_hint.min(limit)))
    }

    /// Keeps records in `buffer` (empty; its capacity is the caller's
    /// choice, e.g. memory advised for huge pages), up to `limit`.
    pub fn in_buffer(limit: usize, mut buffer: Vec<SocketRecord>) -> Retained {
        buffer.clear();
        Retained {
            records: buffer,
            limit,
            offered: 0,
            dropped_time_wait: false,
            counting_only: false,
            offered_not_time_wait: 0,
        }
    }

    /// Keeps no record, but says what `new(limit, _)` would have kept: for
    /// the modes that print no connection (`--once`, `serve`), whose output
    /// then reads the same without copying or holding a record.
    pub fn counting_only(limit: usize) -> Retained {
        Retained {
            counting_only: true,
            ..Retained::new(limit, 0)
        }
    }

    /// Considers one record; keeps a copy while there is room.
    pub(crate) fn offer(&mut self, record: &SocketRecord) {
        self.offered += 1;
        if self.counting_only {
            if record.state != TcpState::TimeWait {
                self.offered_not_time_wait += 1;
            }
            return;
        }
        if self.dropped_time_wait && record.state == TcpState::TimeWait {
            return;
        }
        if self.records.len() >= self.limit {
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

    /// True when every offered record was kept (or, counting only, would
    /// have been): no more were offered than the limit.
    pub(crate) fn is_complete(&self) -> bool {
        self.offered <= self.limit as u64
    }

    /// How many records were kept (or, counting only, would have been: past
    /// the limit, TIME_WAIT goes first and the rest are kept up to it).
    pub(crate) fn kept(&self) -> usize {
        if !self.counting_only {
            return self.records.len();
        }
        let kept = if self.is_complete() {
            self.offered
        } else {
            self.offered_not_time_wait.min(self.limit as u64)
        };
        usize::try_from(kept).unwrap_or(usize::MAX)
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

    #[test]
    fn counting_only_keeps_nothing_and_reports_what_the_limit_would_keep() {
        for (tw_first, est, tw_then, cw) in
            [(4, 4, 0, 0), (6, 4, 0, 0), (8, 6, 5, 10), (2, 12, 3, 0)]
        {
            let mut keeping = Retained::new(10, 0);
            let mut counting = Retained::counting_only(10);
            for retained in [&mut keeping, &mut counting] {
                offer_many(retained, TcpState::TimeWait, tw_first);
                offer_many(retained, TcpState::Established, est);
                offer_many(retained, TcpState::TimeWait, tw_then);
                offer_many(retained, TcpState::CloseWait, cw);
            }
            assert_eq!(counting.offered(), keeping.offered());
            assert_eq!(counting.is_complete(), keeping.is_complete());
            assert_eq!(
                counting.kept(),
                keeping.kept(),
                "{tw_first} {est} {tw_then} {cw}"
            );
            assert!(counting.into_records().is_empty());
        }
    }

    #[test]
    fn exactly_the_limit_is_complete_and_one_more_is_not() {
        let mut retained = Retained::new(10, 0);
        offer_many(&mut retained, TcpState::Established, 10);
        assert!(retained.is_complete());
        offer_many(&mut retained, TcpState::Established, 1);
        assert!(!retained.is_complete());
    }
}
