//! How a list of sockets is ordered, htop style: one column is the sort
//! key (marked in its header), and the order can be reversed.
//!
//! Owns: `SocketColumn`, `SocketSort` and sorting connection rows by them.
//! Must not: draw, or read the clock (the time comes in for ages).

use std::cmp::Ordering;

use super::rows::ConnectionRef;
use crate::model::seen::FirstSeen;
use crate::model::{SocketRecord, TcpState};
use crate::watch::FullTick;

/// A column of the socket tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketColumn {
    State,
    Local,
    Remote,
    RecvQ,
    SendQ,
    Timer,
    Process,
    Age,
}

impl SocketColumn {
    /// The columns a sort can use, in the order `>`/`<` step through them.
    pub const SORTABLE: [SocketColumn; 8] = [
        SocketColumn::State,
        SocketColumn::Local,
        SocketColumn::Remote,
        SocketColumn::RecvQ,
        SocketColumn::SendQ,
        SocketColumn::Timer,
        SocketColumn::Process,
        SocketColumn::Age,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SocketColumn::State => "state",
            SocketColumn::Local => "local",
            SocketColumn::Remote => "remote",
            SocketColumn::RecvQ => "recv-q",
            SocketColumn::SendQ => "send-q",
            SocketColumn::Timer => "timer",
            SocketColumn::Process => "process",
            SocketColumn::Age => "age",
        }
    }

    /// Queues, ages and timers read best largest first; names A to Z.
    fn descending_by_default(self) -> bool {
        matches!(
            self,
            SocketColumn::RecvQ | SocketColumn::SendQ | SocketColumn::Age
        )
    }
}

/// The sort key and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketSort {
    pub column: SocketColumn,
    /// Against the column's usual direction (`I` in htop).
    pub reversed: bool,
}

impl Default for SocketSort {
    fn default() -> Self {
        SocketSort {
            column: SocketColumn::State,
            reversed: false,
        }
    }
}

impl SocketSort {
    /// The next (or previous) column, in its usual direction.
    pub fn step(self, forward: bool) -> SocketSort {
        let all = SocketColumn::SORTABLE;
        let i = all.iter().position(|c| *c == self.column).unwrap_or(0);
        let n = all.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        SocketSort {
            column: all[next],
            reversed: false,
        }
    }

    pub fn reverse(self) -> SocketSort {
        SocketSort {
            reversed: !self.reversed,
            ..self
        }
    }

    /// `recv-q ▼`: what the footer says.
    pub fn label(self) -> String {
        let descending = self.column.descending_by_default() != self.reversed;
        format!(
            "{} {}",
            self.column.name(),
            if descending { "▼" } else { "▲" }
        )
    }

    /// Whether the header arrow points down (largest / last first).
    pub fn descending(self) -> bool {
        self.column.descending_by_default() != self.reversed
    }

    /// Sorts `rows` (indices into `sample`) by this key; ties keep state
    /// order, then addresses, so the order is stable from sample to sample.
    pub fn sort(
        self,
        rows: &mut [ConnectionRef],
        sample: &FullTick,
        seen: &FirstSeen,
        now_ms: u64,
    ) {
        let order = |state: TcpState| TcpState::ALL.iter().position(|s| *s == state);
        let owner = |record: &SocketRecord| {
            sample
                .snapshot
                .owner_of(record)
                .map(|p| (p.name.clone(), p.pid))
                .ok()
        };
        let age = |record: &SocketRecord| seen.age(&record.key(), now_ms).map_or(0, |a| a.ms);
        let compare = |a: &SocketRecord, b: &SocketRecord| -> Ordering {
            match self.column {
                SocketColumn::State => order(a.state).cmp(&order(b.state)),
                SocketColumn::Local => {
                    (a.local.ip(), a.local.port()).cmp(&(b.local.ip(), b.local.port()))
                }
                SocketColumn::Remote => {
                    (a.remote.ip(), a.remote.port()).cmp(&(b.remote.ip(), b.remote.port()))
                }
                SocketColumn::RecvQ => a.recv_queue.cmp(&b.recv_queue),
                SocketColumn::SendQ => a.send_queue.cmp(&b.send_queue),
                SocketColumn::Timer => {
                    (a.timer != crate::model::TimerKind::None, a.timer_expires_ms)
                        .cmp(&(b.timer != crate::model::TimerKind::None, b.timer_expires_ms))
                }
                // Sockets with no known process after the named ones.
                SocketColumn::Process => match (owner(a), owner(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                },
                SocketColumn::Age => age(a).cmp(&age(b)),
            }
        };
        let descending = self.descending();
        rows.sort_by(|x, y| match (x.record(sample), y.record(sample)) {
            (Some(a), Some(b)) => {
                let primary = compare(a, b);
                let primary = if descending {
                    primary.reverse()
                } else {
                    primary
                };
                primary
                    .then_with(|| order(a.state).cmp(&order(b.state)))
                    .then_with(|| (a.remote, a.local).cmp(&(b.remote, b.local)))
            }
            _ => Ordering::Equal,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_visits_every_column_and_reverse_flips_the_arrow() {
        let mut sort = SocketSort::default();
        for _ in 0..SocketColumn::SORTABLE.len() {
            sort = sort.step(true);
        }
        assert_eq!(sort, SocketSort::default());
        assert_eq!(sort.step(false).column, SocketColumn::Age);
        let queue = SocketSort {
            column: SocketColumn::RecvQ,
            reversed: false,
        };
        assert_eq!(queue.label(), "recv-q ▼");
        assert_eq!(queue.reverse().label(), "recv-q ▲");
    }
}
