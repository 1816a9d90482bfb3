//! Overflow attribution: the namespace-wide ListenOverflows/ListenDrops
//! growth is blamed on the listeners seen full (in the snapshot or in the
//! peaks) in the same interval, inside their `backlog_full` message; when the
//! counters rose and no listener was seen full, `overflow_unattributed`.
//!
//! Owns: that attribution text and the `overflow_unattributed` kind. Must
//! not: name a listener it did not see full.

use std::net::SocketAddr;

use crate::model::{Aggregates, Counter, ListenerPeaks, Snapshot, SourceKind};

use super::context::{Context, seconds};
use super::{AlertKind, Evidence, Finding, Severity, Thresholds};

const COUNTERS: [Counter; 2] = [Counter::ListenOverflows, Counter::ListenDrops];

/// The counter growth to put in a full listener's message, e.g.
/// "ListenOverflows +6, ListenDrops +6 in the last 1.0 s", or `None` when
/// neither rose (or there is no previous evaluation).
pub(super) fn attribution(ctx: &Context<'_>) -> Option<String> {
    let growth = ctx.growth_text(&COUNTERS);
    if growth.is_empty() {
        return None;
    }
    let full = ctx.listeners.iter().filter(|v| v.full.is_some()).count();
    let shared = if full > 1 {
        format!(" (namespace-wide, shared by the {full} listeners seen full)")
    } else {
        String::new()
    };
    Some(format!("{growth} {}{shared}", ctx.interval_text()))
}

/// The listening sockets (address, inode) that one interval's ListenOverflows
/// growth is blamed on: those seen full in the snapshot or in the interval's
/// peaks, the same listeners `backlog_full` names in its attribution. Empty
/// when none was seen full (then the growth is `overflow_unattributed`).
pub(crate) fn blamed_listeners(
    snapshot: &Snapshot,
    aggregates: &Aggregates,
    peaks: &ListenerPeaks,
) -> Vec<(SocketAddr, u64)> {
    let thresholds = Thresholds::default();
    let ctx = Context::new(snapshot, aggregates, None, 0, peaks, &thresholds);
    ctx.listeners
        .iter()
        .filter(|v| v.full.is_some())
        .map(|v| (v.local, v.inode))
        .collect()
}

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let overflows = ctx.growth(Counter::ListenOverflows);
    if overflows == 0 || ctx.listeners.iter().any(|v| v.full.is_some()) {
        return;
    }
    let samples = ctx.peaks.samples();
    let looked = if samples > 0 {
        format!(
            "in {samples} sample{} over {}",
            if samples == 1 { "" } else { "s" },
            seconds(ctx.interval_ms)
        )
    } else {
        "in the snapshot (no fast listener samples)".to_string()
    };
    let mut places = Vec::new();
    if let Some(filter) = ctx.filter_text() {
        places.push(format!("a listener outside {filter}"));
    }
    let unknown = ctx
        .listeners
        .iter()
        .filter(|v| v.backlog().is_none())
        .count();
    if ctx.snapshot.source == SourceKind::Proc || unknown > 0 {
        places.push(format!(
            "a listener whose backlog is unknown ({unknown} of {}: /proc does not report \
             backlogs, so a full queue cannot be recognized)",
            ctx.listeners.len()
        ));
    }
    places.push("a burst shorter than the sampling interval".to_string());
    let mut fix = Vec::new();
    if ctx.filter_text().is_some() {
        fix.push("watch every port (drop the port filter) to find the listener".to_string());
    }
    if unknown > 0 {
        fix.push("use the netlink source, which reports each backlog".to_string());
    }
    fix.push(
        "`ss -lnt` shows a full listener as Recv-Q > Send-Q; then call accept() faster \
         or raise that listen() backlog"
            .to_string(),
    );
    out.push(Finding {
        kind: AlertKind::OverflowUnattributed,
        subject: ctx.namespace(),
        severity: Severity::Warning,
        evidence: Evidence::Event,
        summary: format!(
            "{} {}, but no listener was seen full {looked}: SYNs to some listener were dropped",
            ctx.growth_text(&COUNTERS),
            ctx.interval_text()
        ),
        cause: format!(
            "an accept queue overflowed (its application did not accept() in time) where \
             tcpwatch could not see it: {}",
            places.join(", or ")
        ),
        fix: fix.join("; "),
    });
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find};
    use crate::alert::{AlertKind, Severity};
    use crate::model::socket::fixtures::listener;
    use crate::model::{Counter, Snapshot, SourceKind};

    fn with_overflows(mut snap: Snapshot, value: u64) -> Snapshot {
        snap.counters.set(Counter::ListenOverflows, value);
        snap.counters.set(Counter::ListenDrops, value);
        snap
    }

    #[test]
    fn overflows_are_attributed_to_the_full_listener() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 2, 1));
        snap.listeners.push(listener("127.0.0.1:22", 0, 128));
        script.tick(with_overflows(snap.clone(), 100));
        let events = script.tick(with_overflows(snap, 106));
        assert!(find(&events, AlertKind::OverflowUnattributed).is_none());
        let active = script.active();
        let full = active
            .iter()
            .find(|a| a.kind == AlertKind::BacklogFull)
            .expect("full listener");
        assert_eq!(full.subject, "127.0.0.1:10000");
        assert!(
            full.summary
                .contains("ListenOverflows +6, ListenDrops +6 in the last 1.0 s"),
            "{}",
            full.summary
        );
        assert!(!active.iter().any(|a| a.subject == "127.0.0.1:22"));
    }

    #[test]
    fn overflows_from_a_burst_only_the_peaks_saw() {
        let mut script = Script::new();
        let mut calm = script.base();
        calm.listeners.push(listener("127.0.0.1:10000", 0, 1));
        script.tick(with_overflows(calm.clone(), 100));
        script.sample(&[listener("127.0.0.1:10000", 2, 1)]);
        let events = script.tick(with_overflows(calm, 103));
        let full = find(&events, AlertKind::BacklogFull).expect("peak");
        assert!(full.summary.contains("peaked at 2/1"), "{}", full.summary);
        assert!(
            full.summary.contains("ListenOverflows +3"),
            "{}",
            full.summary
        );
        assert!(find(&events, AlertKind::OverflowUnattributed).is_none());
    }

    #[test]
    fn overflows_without_a_full_listener_are_unattributed() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.filter.ports = vec![10000];
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        script.tick(with_overflows(snap.clone(), 100));
        let events = script.tick(with_overflows(snap.clone(), 106));
        let alert = find(&events, AlertKind::OverflowUnattributed).expect("unattributed");
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.subject, "host");
        assert!(
            alert.summary.contains("ListenOverflows +6, ListenDrops +6"),
            "{}",
            alert.summary
        );
        assert!(
            alert.summary.contains("no listener was seen full"),
            "{}",
            alert.summary
        );
        assert!(
            alert.cause.contains("outside the filter (port 10000)"),
            "{}",
            alert.cause
        );
        assert!(alert.cause.contains("burst shorter"), "{}", alert.cause);
        assert!(!alert.cause.contains("/proc"), "{}", alert.cause);
        assert!(find(&events, AlertKind::BacklogFull).is_none());
        // Counters stop rising: cleared after the hysteresis.
        assert!(script.tick(with_overflows(snap.clone(), 106)).is_empty());
        assert_eq!(script.tick(with_overflows(snap, 106)).len(), 1);
    }

    #[test]
    fn unknown_backlogs_are_named_as_a_reason() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.source = SourceKind::Proc;
        let mut proc_listener = listener("127.0.0.1:10000", 5, 0);
        proc_listener.backlog_known = false;
        snap.listeners.push(proc_listener);
        script.tick(with_overflows(snap.clone(), 1));
        let events = script.tick(with_overflows(snap, 4));
        let alert = find(&events, AlertKind::OverflowUnattributed).expect("unattributed");
        assert!(
            alert.cause.contains("/proc does not report backlogs"),
            "{}",
            alert.cause
        );
        assert!(alert.fix.contains("netlink"), "{}", alert.fix);
        assert!(
            find(&events, AlertKind::BacklogFull).is_none(),
            "unknown backlog is not full"
        );
    }

    #[test]
    fn first_evaluation_has_no_deltas() {
        let mut script = Script::new();
        let events = script.tick(with_overflows(script.base(), 1_000_000));
        assert!(events.is_empty(), "{events:?}");
    }
}
