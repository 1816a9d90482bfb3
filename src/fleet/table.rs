//! One namespace's whole tables under `--all-namespaces`, judged apart from
//! its light samples: the round-robin dumps (and the opened namespace's)
//! run the rules that need the whole table (CLOSE_WAIT leak, TIME_WAIT
//! growth, port exhaustion, SYN queue pressure, half-open mismatch), whose
//! alerts then hold until the namespace's next table; and the table's
//! figures (states per port, the busiest ports first) are kept with their
//! time, so every view can say how old they are.
//!
//! Owns: `TableJudge`, `TableFigures`. Must not: do I/O or read the clock;
//! judge the listener and counter rules (the light samples do, more often).

use std::time::Duration;

use crate::alert::{Alert, AlertEvent, AlertMonitor, Thresholds};
use crate::model::{Aggregates, PortStates, Sampled, Snapshot, StateCounts, TcpState};

/// Ports kept per namespace: memory stays small whatever the table holds.
pub const TABLE_PORTS_KEPT: usize = 8;

/// What a namespace's latest whole table showed.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFigures {
    /// When it was taken (ms since the Unix epoch).
    pub at_ms: u64,
    /// The opened namespace's own table (else a round-robin one).
    pub opened: bool,
    /// Sockets in the table, every state.
    pub sockets: u64,
    pub totals: StateCounts,
    /// Ports with CLOSE_WAIT or SYN_RECV first, then the busiest; at most
    /// `TABLE_PORTS_KEPT`, in that order.
    pub ports: Vec<PortStates>,
    /// Ports the table had beyond those kept.
    pub ports_left_out: usize,
    /// What the dump cost.
    pub cost: Duration,
}

impl TableFigures {
    pub fn of(sampled: &Sampled, opened: bool) -> TableFigures {
        TableFigures::from_parts(&sampled.snapshot, &sampled.aggregates, opened)
    }

    /// The same from a judged tick's parts.
    pub fn from_parts(snapshot: &Snapshot, aggregates: &Aggregates, opened: bool) -> TableFigures {
        let trouble =
            |p: &PortStates| p.counts.get(TcpState::CloseWait) + p.counts.get(TcpState::SynRecv);
        let mut ports: Vec<&PortStates> = aggregates.ports.iter().collect();
        ports.sort_by(|a, b| {
            (trouble(b), b.counts.total(), a.port).cmp(&(trouble(a), a.counts.total(), b.port))
        });
        let kept: Vec<PortStates> = ports
            .iter()
            .take(TABLE_PORTS_KEPT)
            .map(|p| (*p).clone())
            .collect();
        TableFigures {
            at_ms: snapshot.taken_at_ms,
            opened,
            sockets: snapshot.table_size.max(aggregates.totals.total()),
            totals: aggregates.totals,
            ports_left_out: aggregates.ports.len().saturating_sub(kept.len()),
            ports: kept,
            cost: snapshot.elapsed,
        }
    }

    /// How old at `now_ms` (0 if the clock went back).
    pub fn age_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.at_ms)
    }

    /// `:8080 ESTABLISHED 3 CLOSE_WAIT 5` for each port kept.
    pub fn ports_text(&self) -> String {
        let mut parts: Vec<String> = self
            .ports
            .iter()
            .map(|p| {
                let states: Vec<String> = p
                    .counts
                    .non_zero()
                    .map(|(state, n)| format!("{} {n}", state.name()))
                    .collect();
                format!(":{} {}", p.port, states.join(" "))
            })
            .collect();
        if self.ports_left_out > 0 {
            parts.push(format!("+{} ports", self.ports_left_out));
        }
        parts.join(" · ")
    }
}

/// `4 s`, `2 min`, `1 h`: how old, short.
pub fn age_text(age_ms: u64) -> String {
    let secs = age_ms / 1000;
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// The whole-table rules of one namespace, and its latest table.
#[derive(Debug, Clone)]
pub struct TableJudge {
    monitor: AlertMonitor,
    figures: Option<TableFigures>,
}

impl TableJudge {
    pub fn new(thresholds: Thresholds) -> TableJudge {
        TableJudge {
            monitor: AlertMonitor::new(thresholds),
            figures: None,
        }
    }

    /// Judges one whole table: the whole-table kinds raised or cleared.
    pub fn judge(&mut self, sampled: &Sampled, opened: bool) -> Vec<AlertEvent> {
        self.figures = Some(TableFigures::of(sampled, opened));
        self.monitor
            .evaluate(&sampled.snapshot, &sampled.aggregates)
            .into_iter()
            .filter(|event| event.alert().kind.needs_whole_table())
            .collect()
    }

    /// Active whole-table alerts (they hold until the next table).
    pub fn active(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.monitor
            .active()
            .filter(|alert| alert.kind.needs_whole_table())
    }

    pub fn figures(&self) -> Option<&TableFigures> {
        self.figures.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::model::SourceKind;
    use crate::model::socket::fixtures::{listener, record};

    /// A table with `close_wait` CLOSE_WAIT sockets on :8080, a full
    /// listen(1) listener on :9000 and ten quiet listeners.
    fn table(at_ms: u64, close_wait: u16) -> Sampled {
        let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
        snap.listeners.push(listener("127.0.0.1:8080", 0, 128));
        snap.listeners.push(listener("127.0.0.1:9000", 2, 1));
        for i in 0..close_wait {
            snap.sockets.push(record(
                TcpState::CloseWait,
                "127.0.0.1:8080",
                &format!("127.0.0.1:{}", 40000 + i),
            ));
        }
        for i in 0..10u16 {
            snap.listeners
                .push(listener(&format!("127.0.0.1:{}", 7000 + i), 0, 128));
        }
        Sampled::from_snapshot(snap)
    }

    #[test]
    fn whole_table_rules_raise_and_hold_between_tables_listener_rules_do_not() {
        let mut judge = TableJudge::new(Thresholds::default());
        let mut raised = Vec::new();
        for n in 0..5u64 {
            for event in judge.judge(&table(1_000 + n * 5_000, 5), false) {
                raised.push(event.alert().kind);
            }
        }
        assert_eq!(raised, [AlertKind::CloseWaitLeak], "no backlog_full here");
        assert_eq!(judge.active().count(), 1);
        let figures = judge.figures().expect("the latest table");
        assert_eq!(figures.at_ms, 21_000);
        assert_eq!(figures.ports[0].port, 8080, "CLOSE_WAIT first");
        assert_eq!(figures.ports[0].counts.get(TcpState::CloseWait), 5);
        assert!(figures.ports.len() <= TABLE_PORTS_KEPT);
        assert!(figures.ports_left_out > 0, "{figures:?}");
        assert!(
            figures.ports_text().starts_with(":8080 "),
            "{}",
            figures.ports_text()
        );
        assert_eq!(figures.age_ms(25_000), 4_000);
        let cleared = judge.judge(&table(30_000, 0), false);
        assert!(cleared.is_empty(), "clears after clear_after tables");
        let cleared = judge.judge(&table(35_000, 0), false);
        assert!(
            matches!(&cleared[..], [AlertEvent::Cleared(a)] if a.kind == AlertKind::CloseWaitLeak)
        );
    }

    #[test]
    fn ages_read_short() {
        assert_eq!(age_text(4_900), "4 s");
        assert_eq!(age_text(300_000), "5 min");
        assert_eq!(age_text(7_200_000), "2 h");
    }
}
