//! The dashboard's exact kernel events: each tick brings the events the
//! tracepoints saw since the last one (every state change, RST, drop and
//! retransmit, to the microsecond); this keeps the latest, the counters
//! since the start (RSTs per port, …), and the accept-queue overflows that
//! no event covers, attributed as polling does and labelled inferred.
//!
//! Owns: `ExactEvents`, `ExactEntry` and their bound. Must not: draw or read
//! the clock (times come from the kernel and the samples).

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::model::drop_attribution::InferredOverflows;
use crate::model::event::EventKind;
use crate::model::event_ledger::{EventCounts, EventLine};
use crate::watch::FullTick;

/// Entries kept; older ones are dropped.
pub(crate) const EXACT_LOG_CAPACITY: usize = 1000;

/// One line of the exact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExactEntry {
    /// The kernel reported it (seen).
    Seen(EventLine),
    /// Polling's attribution where the kernel gives no event (inferred), at
    /// the time of the sample that showed it.
    Inferred {
        at_ms: u64,
        overflows: InferredOverflows,
    },
}

impl ExactEntry {
    /// The time in microseconds (a sample's time for an inferred entry).
    pub fn at_us(&self) -> u64 {
        match self {
            ExactEntry::Seen(line) => line.event.at_us,
            ExactEntry::Inferred { at_ms, .. } => at_ms.saturating_mul(1000),
        }
    }
}

/// A listener's exact figures since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerFigures {
    pub drops: u64,
    pub synack_retransmits: u64,
}

/// A drop of a segment that found no socket: the `RST sent` line of the
/// same segment already says so (counted, not logged twice).
fn repeats_an_rst(line: &EventLine) -> bool {
    matches!(
        line.event.kind,
        EventKind::Drop { reason, rx_sk: 0 } if reason.name == "NO_SOCKET"
    )
}

#[derive(Debug, Clone, Default)]
pub struct ExactEvents {
    /// `None` while events are off (or before the first tick).
    counts: Option<EventCounts>,
    /// Why `--events auto` left events off.
    off_note: Option<String>,
    log: VecDeque<ExactEntry>,
    /// `TCP_LISTEN_OVERFLOW` drop events counted up to the last tick.
    exact_overflows: u64,
}

impl ExactEvents {
    /// Takes a full tick's events (they leave the tick) and counters.
    pub(crate) fn record(&mut self, tick: &mut FullTick) {
        let Some(counts) = tick.event_counts.take() else {
            return;
        };
        for line in std::mem::take(&mut tick.events) {
            if !repeats_an_rst(&line) {
                self.push(ExactEntry::Seen(line));
            }
        }
        tick.event_counts = Some(counts);
        if let Some(overflows) = tick.inferred_overflows(self.exact_overflows) {
            self.push(ExactEntry::Inferred {
                at_ms: tick.at_ms(),
                overflows,
            });
        }
        self.exact_overflows = tick.exact_overflow_drops();
        let counts = tick.event_counts.clone().unwrap_or_default();
        self.counts = Some(counts);
    }

    fn push(&mut self, entry: ExactEntry) {
        if self.log.len() == EXACT_LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// Events are on: the log shows them instead of polling's inferences.
    pub fn is_on(&self) -> bool {
        self.counts.is_some()
    }

    /// The counters since the start, when events are on.
    pub fn counts(&self) -> Option<&EventCounts> {
        self.counts.as_ref()
    }

    /// RSTs sent and received on `port` since the start.
    pub fn rsts_on(&self, port: u16) -> Option<(u64, u64)> {
        let counts = self.counts.as_ref()?;
        Some((
            counts.rst_sent_by_port.get(&port).copied().unwrap_or(0),
            counts.rst_received_by_port.get(&port).copied().unwrap_or(0),
        ))
    }

    /// Exact figures of the listener bound to `local` since the start:
    /// packets dropped with the listener named (`rx_sk`) and SYN-ACKs it
    /// resent. A listener on 0.0.0.0 or :: counts those of every address of
    /// its port (the kernel names the address the client reached).
    pub fn listener_figures(&self, local: SocketAddr) -> Option<ListenerFigures> {
        let counts = self.counts.as_ref()?;
        let matches = |addr: &SocketAddr| {
            addr.port() == local.port() && (addr.ip() == local.ip() || local.ip().is_unspecified())
        };
        Some(ListenerFigures {
            drops: counts
                .drops_by_listener
                .iter()
                .filter(|((addr, _), _)| matches(addr))
                .map(|(_, count)| count)
                .sum(),
            synack_retransmits: counts
                .synack_retransmits_by_listener
                .iter()
                .filter(|(addr, _)| matches(addr))
                .map(|(_, count)| count)
                .sum(),
        })
    }

    /// Records and lines lost so far (never hidden).
    pub fn lost(&self) -> u64 {
        self.counts.as_ref().map_or(0, |c| c.lost + c.lines_dropped)
    }

    pub(crate) fn set_off_note(&mut self, note: String) {
        self.off_note = Some(note);
    }

    /// Why events are off, when `auto` fell back to polling.
    pub fn off_note(&self) -> Option<&str> {
        self.off_note.as_deref()
    }

    /// The entries, newest first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &ExactEntry> {
        self.log.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    pub fn clear(&mut self) {
        self.log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Thresholds;
    use crate::model::event::{EventKind, Reason, TcpEvent};
    use crate::model::{Sampled, Snapshot, SourceKind};
    use crate::watch::{Tick, Watch};

    fn full_tick(watch: &mut Watch, at_ms: u64) -> Box<FullTick> {
        let tick = watch.ingest(crate::collect::sample_loop::SamplerEvent::Full {
            at_ms,
            result: Ok(Box::new(Sampled::from_snapshot(Snapshot::empty(
                at_ms,
                SourceKind::Netlink,
            )))),
        });
        match tick {
            Tick::Full(full) => full,
            other => panic!("a full tick, not {other:?}"),
        }
    }

    #[test]
    fn keeps_the_events_and_counts_and_nothing_when_off() {
        let mut off = ExactEvents::default();
        let mut watch = Watch::new(Thresholds::default());
        off.record(&mut full_tick(&mut watch, 1_000));
        assert!(!off.is_on());
        assert!(off.is_empty());

        let mut watch = Watch::new(Thresholds::default()).with_events(&[]);
        let mut exact = ExactEvents::default();
        let rst = TcpEvent {
            at_us: 1_500_123,
            kind: EventKind::RstSent {
                reason: Reason {
                    code: 1,
                    name: "NO_SOCKET",
                },
                state: None,
            },
            local: Some("127.0.0.1:10002".parse().expect("addr")),
            remote: Some("127.0.0.1:40000".parse().expect("addr")),
            cookie: None,
            sk: 0,
        };
        let no_socket_drop = TcpEvent {
            at_us: 1_500_200,
            kind: EventKind::Drop {
                reason: Reason {
                    code: 2,
                    name: "NO_SOCKET",
                },
                rx_sk: 0,
            },
            local: None,
            remote: None,
            cookie: None,
            sk: 0,
        };
        watch.ingest_events(&mut [rst, no_socket_drop], 0);
        let mut tick = full_tick(&mut watch, 2_000);
        exact.record(&mut tick);
        assert!(exact.is_on());
        // The drop of the same segment is counted, not logged twice.
        assert_eq!(exact.len(), 1);
        assert_eq!(exact.counts().map(|c| c.drops_unattributed), Some(1));
        assert_eq!(exact.rsts_on(10002), Some((1, 0)));
        assert_eq!(
            exact.newest_first().next().map(ExactEntry::at_us),
            Some(1_500_123)
        );
        let mut counts = EventCounts::default();
        counts
            .synack_retransmits_by_listener
            .insert("127.0.0.1:8080".parse().expect("addr"), 4);
        counts.drops_by_listener.insert(
            ("0.0.0.0:8080".parse().expect("addr"), "TCP_LISTEN_OVERFLOW"),
            2,
        );
        let with_figures = ExactEvents {
            counts: Some(counts),
            ..ExactEvents::default()
        };
        let wildcard = with_figures
            .listener_figures("0.0.0.0:8080".parse().expect("addr"))
            .expect("on");
        assert_eq!((wildcard.drops, wildcard.synack_retransmits), (2, 4));
        let other_address = with_figures
            .listener_figures("10.0.0.1:8080".parse().expect("addr"))
            .expect("on");
        assert_eq!(other_address, ListenerFigures::default());
        let newest = exact.newest_first().next().cloned().expect("an entry");
        for _ in 0..EXACT_LOG_CAPACITY + 5 {
            exact.push(newest.clone());
        }
        assert_eq!(exact.len(), EXACT_LOG_CAPACITY);
    }
}
