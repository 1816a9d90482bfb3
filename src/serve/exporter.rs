//! The exporter's memory across ticks: ListenOverflows growth blamed on each
//! listener (a counter that must keep growing across ticks), failed
//! samples, and the latest facts, so a totals-only tick can refresh the
//! counters without a new dump.
//!
//! Owns: `Exporter`. Must not: do I/O, read the clock, or hold more than
//! one tick's aggregates.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use super::metrics::{ExportOptions, Exposition, Facts, render};
use crate::alert::{Alert, blamed_listeners};
use crate::model::{
    Aggregates, Counter, CounterDeltas, Counters, ListenerPeaks, Snapshot, Sockstat,
};

/// Turns ticks into expositions.
#[derive(Debug, Clone)]
pub(crate) struct Exporter {
    options: ExportOptions,
    blame: OverflowBlame,
    failed_samples: u64,
    facts: Option<Facts>,
}

/// ListenOverflows growth blamed on each listening address of one
/// namespace: a counter that keeps growing across ticks, with the alert's
/// rule (the interval's growth goes to the listeners seen full in it).
#[derive(Debug, Clone, Default)]
pub(crate) struct OverflowBlame {
    totals: HashMap<SocketAddr, u64>,
}

impl OverflowBlame {
    /// Blames one tick's growth; the totals so far (listeners gone are
    /// forgotten).
    pub fn update(&mut self, tick: &FullTickView<'_>) -> HashMap<SocketAddr, u64> {
        let growth = tick
            .deltas
            .map_or(0, |d| d.growth(Counter::ListenOverflows));
        if growth > 0 {
            let blamed: HashSet<SocketAddr> =
                blamed_listeners(tick.snapshot, &tick.aggregates, tick.peaks)
                    .into_iter()
                    .map(|(local, _inode)| local)
                    .collect();
            for local in blamed {
                let total = self.totals.entry(local).or_insert(0);
                *total = total.saturating_add(growth);
            }
        }
        let listening: HashSet<SocketAddr> =
            tick.aggregates.listeners.iter().map(|l| l.local).collect();
        self.totals.retain(|local, _| listening.contains(local));
        self.totals.clone()
    }
}

/// The facts of one judged tick.
pub(crate) fn facts_of(
    tick: FullTickView<'_>,
    overflows: HashMap<SocketAddr, u64>,
    failed_samples: u64,
) -> Facts {
    let snapshot = tick.snapshot;
    Facts {
        taken_at_ms: snapshot.taken_at_ms,
        sample_duration: snapshot.elapsed,
        source: snapshot.source,
        namespace: snapshot.namespace.clone(),
        filter: snapshot.filter.clone(),
        table_size: snapshot.table_size,
        aggregates: tick.aggregates,
        active_alerts: tick.active_alerts,
        counters: snapshot.counters,
        sockstat: snapshot.sockstat,
        settings: snapshot.settings,
        overflows,
        failed_samples,
    }
}

/// One full tick, as the exporter reads it.
pub(crate) struct FullTickView<'a> {
    pub snapshot: &'a Snapshot,
    pub aggregates: Aggregates,
    pub deltas: Option<CounterDeltas>,
    pub active_alerts: Vec<Alert>,
    pub peaks: &'a ListenerPeaks,
}

impl Exporter {
    pub fn new(options: ExportOptions) -> Exporter {
        Exporter {
            options,
            blame: OverflowBlame::default(),
            failed_samples: 0,
            facts: None,
        }
    }

    /// A full tick: blames its overflow growth, then encodes it.
    pub fn full(&mut self, tick: FullTickView<'_>) -> Exposition {
        let overflows = self.blame.update(&tick);
        let facts = facts_of(tick, overflows, self.failed_samples);
        let exposition = render(&facts, self.options);
        self.facts = Some(facts);
        exposition
    }

    /// Counters and sockstat read between spread-out dumps: fresher totals.
    pub fn totals(&mut self, counters: &Counters, sockstat: Sockstat) -> Option<Exposition> {
        let facts = self.facts.as_mut()?;
        facts.counters = *counters;
        facts.sockstat = Some(sockstat);
        Some(render(facts, self.options))
    }

    /// A full sample failed; the latest picture stays, the failure is counted.
    pub fn failed(&mut self) -> Option<Exposition> {
        self.failed_samples += 1;
        let facts = self.facts.as_mut()?;
        facts.failed_samples = self.failed_samples;
        Some(render(facts, self.options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::listener;
    use crate::model::{SourceKind, aggregate};
    use crate::serve::metrics::Format;

    fn snapshot(at_ms: u64, queue: u32, overflows: u64) -> Snapshot {
        let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
        snap.listeners.push(listener("127.0.0.1:10000", queue, 1));
        snap.listeners.push(listener("127.0.0.1:22", 0, 128));
        snap.counters.set(Counter::ListenOverflows, overflows);
        snap
    }

    fn feed(exporter: &mut Exporter, previous: &Snapshot, snap: &Snapshot) -> Exposition {
        exporter.full(FullTickView {
            snapshot: snap,
            aggregates: aggregate(snap),
            deltas: Some(snap.counters.delta_since(&previous.counters)),
            active_alerts: Vec::new(),
            peaks: &ListenerPeaks::new(),
        })
    }

    #[test]
    fn overflows_are_blamed_on_the_full_listener_and_keep_counting() {
        let mut exporter = Exporter::new(ExportOptions { max_series: 2000 });
        let first = snapshot(1_000, 2, 10);
        let second = snapshot(2_000, 2, 16);
        let third = snapshot(3_000, 0, 20);
        feed(&mut exporter, &first, &first);
        feed(&mut exporter, &first, &second);
        let text = feed(&mut exporter, &second, &third).with_peaks(Format::Prometheus, |_| 0);
        assert!(
            text.contains(
                "tcpwatch_listener_overflows_total{listen=\"127.0.0.1:10000\",port=\"10000\",process=\"\"} 6\n"
            ),
            "only the interval in which it was full counts: {text}"
        );
        assert!(text.contains(
            "tcpwatch_listener_overflows_total{listen=\"127.0.0.1:22\",port=\"22\",process=\"\"} 0\n"
        ));
    }

    #[test]
    fn failures_and_totals_refresh_the_last_picture() {
        let mut exporter = Exporter::new(ExportOptions { max_series: 2000 });
        assert!(exporter.failed().is_none(), "nothing to show yet");
        let first = snapshot(1_000, 0, 1);
        feed(&mut exporter, &first, &first);
        let text = exporter
            .failed()
            .expect("a picture")
            .with_peaks(Format::Prometheus, |_| 0);
        assert!(
            text.contains("tcpwatch_sample_failures_total 2\n"),
            "{text}"
        );
        let mut counters = first.counters;
        counters.set(Counter::ListenOverflows, 99);
        let sockstat = Sockstat {
            tw: 42,
            ..Sockstat::default()
        };
        let text = exporter
            .totals(&counters, sockstat)
            .expect("a picture")
            .with_peaks(Format::Prometheus, |_| 0);
        assert!(text.contains("tcpwatch_kernel_listen_overflows_total 99\n"));
        assert!(text.contains("tcpwatch_time_wait_sockets 42\n"));
    }
}
