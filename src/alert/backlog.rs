//! Accept-queue rules per listener: `backlog_full` (queue > backlog in the
//! snapshot or in a burst between ticks), `backlog_nearly_full`, and
//! `backlog_clamped` (backlog == net.core.somaxconn).
//!
//! Owns: the wording of those three kinds. Must not: guess a backlog the
//! source did not report (/proc): unknown is never 0, and is only full when
//! the queue exceeds net.core.somaxconn, which bounds every backlog.

use crate::model::Sysctl;

use super::context::{Context, FullEvidence, ListenerView};
use super::{AlertKind, Evidence, Finding, Severity, overflow};

fn retries() -> String {
    format!(
        "new SYNs are dropped and clients sit in SYN_SENT, retrying {}",
        super::SYN_RETRY_SCHEDULE
    )
}

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let somaxconn = ctx.snapshot.settings.somaxconn;
    for view in &ctx.listeners {
        let clamped = matches!((view.backlog(), somaxconn), (Some(b), Some(m)) if b == m);
        if let Some(full) = view.full {
            out.push(full_finding(ctx, view, full, clamped));
        } else if let Some(finding) = nearly_full_finding(ctx, view, clamped) {
            out.push(finding);
        }
        if clamped && view.summary.is_some() {
            out.push(clamped_finding(ctx, view));
        }
    }
}

fn holds(backlog: u32) -> String {
    format!("listen({backlog}) holds {}", u64::from(backlog) + 1)
}

fn clamp_note(ctx: &Context<'_>) -> String {
    format!(
        "; the backlog equals {}, so listen() asked for at least that and was clamped",
        ctx.sysctl(Sysctl::Somaxconn)
    )
}

fn backlog_fix(ctx: &Context<'_>, clamped: bool) -> String {
    let mut fix = "call accept() faster (more accepting threads or workers, never block the \
                   accept loop) or raise the listen() backlog"
        .to_string();
    if clamped {
        fix.push_str(&format!(
            "; raise net.core.somaxconn too (now {}), or the larger listen() argument is clamped again",
            ctx.snapshot.settings.somaxconn.unwrap_or_default()
        ));
    }
    fix
}

fn full_finding(
    ctx: &Context<'_>,
    view: &ListenerView<'_>,
    full: FullEvidence,
    clamped: bool,
) -> Finding {
    let state = match full {
        FullEvidence::Now { queue, backlog } => format!("accept queue full at {queue}/{backlog}"),
        FullEvidence::Peak {
            peak_queue,
            backlog,
            full_samples,
            samples,
            now_queue,
        } => {
            let now = now_queue.map_or_else(
                || "listener gone now".to_string(),
                |q| format!("{q}/{backlog} now"),
            );
            format!(
                "accept queue peaked at {peak_queue}/{backlog} between samples \
                 (full in {full_samples} of {samples} samples, {now})"
            )
        }
        FullEvidence::AboveSomaxconn { queue, .. } => {
            format!("accept queue full: {queue} waiting, backlog unknown")
        }
    };
    let attribution = overflow::attribution(ctx)
        .map(|text| format!("; {text}"))
        .unwrap_or_default();
    let summary = format!(
        "{} ({}) {state}{attribution}: {}{}",
        view.local,
        view.process,
        retries(),
        waiting_clients(ctx, view)
    );
    let cause = match full {
        FullEvidence::Now { backlog, .. } | FullEvidence::Peak { backlog, .. } => format!(
            "the application is not calling accept() fast enough: {} connections \
             waiting for accept(), and the kernel drops SYNs while it is full{}",
            holds(backlog),
            if clamped {
                clamp_note(ctx)
            } else {
                String::new()
            }
        ),
        FullEvidence::AboveSomaxconn { queue, somaxconn } => format!(
            "the application is not calling accept() fast enough; the source (/proc) \
             does not report the backlog, but {queue} waiting exceeds \
             net.core.somaxconn={somaxconn}, the most any backlog can be, so the queue is full"
        ),
    };
    let fix = backlog_fix(
        ctx,
        clamped || matches!(full, FullEvidence::AboveSomaxconn { .. }),
    );
    Finding {
        kind: AlertKind::BacklogFull,
        subject: view.local.to_string(),
        severity: Severity::Critical,
        evidence: Evidence::Level,
        summary,
        cause,
        fix,
    }
}

/// "; 3 clients on this host wait in SYN_SENT (up to 2 SYN retransmits)",
/// for the SYN_SENT sockets in the table aimed at this listener (counted per
/// target while the dump streamed in).
fn waiting_clients(ctx: &Context<'_>, view: &ListenerView<'_>) -> String {
    let mut waiting = 0;
    let mut retries = None;
    for target in &ctx.aggregates.rules.syn_sent {
        if ctx
            .listener_for(&target.remote)
            .is_some_and(|l| l.local == view.local && l.inode == view.inode)
        {
            waiting += target.count;
            retries = retries.max(Some(target.max_retransmits));
        }
    }
    match retries {
        None => String::new(),
        Some(retries) => format!(
            "; {waiting} client{} on this host wait{} in SYN_SENT (up to {retries} SYN retransmits)",
            if waiting == 1 { "" } else { "s" },
            if waiting == 1 { "s" } else { "" },
        ),
    }
}

fn nearly_full_finding(
    ctx: &Context<'_>,
    view: &ListenerView<'_>,
    clamped: bool,
) -> Option<Finding> {
    let backlog = view.backlog()?;
    let capacity = u64::from(backlog) + 1;
    let queue = view.max_queue();
    let ratio = ctx.thresholds.backlog_nearly_full_ratio;
    if queue == 0 || (f64::from(queue) < ratio * capacity as f64) {
        return None;
    }
    let now_queue = view.summary.map(|s| s.accept_queue);
    let level = match now_queue {
        Some(now) if now == queue => format!("accept queue at {queue}/{backlog}"),
        Some(now) => {
            format!("accept queue peaked at {queue}/{backlog} between samples ({now} now)")
        }
        None => {
            format!("accept queue peaked at {queue}/{backlog} between samples (listener gone now)")
        }
    };
    let percent = u64::from(queue) * 100 / capacity;
    Some(Finding {
        kind: AlertKind::BacklogNearlyFull,
        subject: view.local.to_string(),
        severity: Severity::Warning,
        evidence: Evidence::Level,
        summary: format!(
            "{} ({}) {level}, {percent}% of the {capacity} it holds; \
             once it is full, {}",
            view.local,
            view.process,
            retries()
        ),
        cause: format!(
            "accept() is falling behind the connection rate: {} connections waiting \
             for accept(){}",
            holds(backlog),
            if clamped {
                clamp_note(ctx)
            } else {
                String::new()
            }
        ),
        fix: backlog_fix(ctx, clamped),
    })
}

fn clamped_finding(ctx: &Context<'_>, view: &ListenerView<'_>) -> Finding {
    let backlog = view.backlog().unwrap_or_default();
    Finding {
        kind: AlertKind::BacklogClamped,
        subject: view.local.to_string(),
        severity: Severity::Info,
        evidence: Evidence::Level,
        summary: format!(
            "{} ({}) has backlog {backlog}, equal to {}",
            view.local,
            view.process,
            ctx.sysctl(Sysctl::Somaxconn)
        ),
        cause: format!(
            "listen(N) uses min(N, net.core.somaxconn), so a larger listen() argument \
             was cut to {backlog} (or the program asked for exactly that, e.g. SOMAXCONN)"
        ),
        fix: "nothing while the queue keeps up; if it fills, raise net.core.somaxconn \
              together with the listen() backlog"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find, kinds};
    use crate::alert::{AlertEvent, AlertKind, Severity, Thresholds};
    use crate::model::Counter;
    use crate::model::socket::fixtures::listener;

    fn owned(snap: &mut crate::model::Snapshot) {
        snap.owners.insert(
            1000,
            crate::model::ProcessInfo {
                pid: 42,
                name: "python3".to_string(),
            },
        );
    }

    #[test]
    fn full_listener_raises_critical_with_diagnosis() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 2, 1));
        snap.counters.set(Counter::ListenOverflows, 10);
        snap.counters.set(Counter::ListenDrops, 10);
        owned(&mut snap);
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::BacklogFull).expect("raised at once");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.subject, "127.0.0.1:10000");
        assert_eq!(alert.fire_count, 1);
        let message = alert.message();
        for word in [
            "python3 pid 42",
            "2/1",
            "listen(1) holds 2",
            "accept()",
            "SYN_SENT",
            "tcp_syn_linear_timeouts",
        ] {
            assert!(message.contains(word), "{word:?} missing: {message}");
        }
        assert!(!message.contains("somaxconn"), "not clamped: {message}");
        assert!(
            !message.contains("wait in SYN_SENT"),
            "no client here: {message}"
        );

        snap.counters.set(Counter::ListenOverflows, 16);
        snap.counters.set(Counter::ListenDrops, 16);
        assert!(
            script.tick(snap.clone()).is_empty(),
            "still active: no new event"
        );
        let active = script.active();
        assert_eq!(active.len(), 1);
        assert!(
            active[0]
                .summary
                .contains("ListenOverflows +6, ListenDrops +6 in the last 1.0 s"),
            "{}",
            active[0].summary
        );
        assert_eq!(active[0].since_ms, 1000);
        assert_eq!(active[0].last_seen_ms, 2000);

        let calm = script.base();
        assert!(
            script.tick(calm.clone()).is_empty(),
            "hysteresis: one calm tick is not enough"
        );
        let events = script.tick(calm);
        assert!(
            matches!(&events[..], [AlertEvent::Cleared(a)] if a.kind == AlertKind::BacklogFull)
        );
    }

    #[test]
    fn clamped_backlog_mentions_somaxconn_and_raises_info() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.settings.somaxconn = Some(4);
        snap.listeners.push(listener("0.0.0.0:80", 5, 4));
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::BacklogFull).expect("full");
        assert!(
            alert.message().contains("net.core.somaxconn"),
            "{}",
            alert.message()
        );
        assert!(
            find(&events, AlertKind::BacklogClamped).is_none(),
            "info waits for raise_after"
        );
        let events = script.tick(snap);
        let info = find(&events, AlertKind::BacklogClamped).expect("clamped info");
        assert_eq!(info.severity, Severity::Info);
        assert!(
            info.summary.contains("net.core.somaxconn=4"),
            "{}",
            info.summary
        );
    }

    #[test]
    fn nearly_full_is_a_warning_and_does_not_flap_at_the_edge() {
        let mut script = Script::new();
        // listen(4) holds 5; 80% of 5 is 4.
        let at = |script: &Script, queue| {
            let mut snap = script.base();
            snap.listeners.push(listener("127.0.0.1:8080", queue, 4));
            snap
        };
        let mut raised = Vec::new();
        let mut cleared = Vec::new();
        for queue in [4, 4, 3, 4, 3, 4, 3, 4] {
            for event in script.tick(at(&script, queue)) {
                match event {
                    AlertEvent::Raised(a) => raised.push(a),
                    AlertEvent::Cleared(a) => cleared.push(a),
                }
            }
        }
        assert_eq!(kinds(&raised), vec![AlertKind::BacklogNearlyFull]);
        assert!(cleared.is_empty(), "hovering must not flap: {cleared:?}");
        let alert = &raised[0];
        assert_eq!(alert.severity, Severity::Warning);
        assert!(
            alert.summary.contains("4/4, 80% of the 5 it holds"),
            "{}",
            alert.summary
        );
        assert!(alert.fix.contains("accept()"));
        assert!(!alert.message().contains("somaxconn"));
    }

    #[test]
    fn full_queue_flickering_is_one_alert() {
        let mut script = Script::new();
        let mut events = Vec::new();
        for queue in [2, 1, 2, 1, 2, 1, 2] {
            let mut snap = script.base();
            snap.listeners.push(listener("127.0.0.1:10000", queue, 1));
            events.extend(script.tick(snap));
        }
        assert_eq!(events.len(), 1, "raised once, never cleared: {events:?}");
        assert!(events[0].is_raised());
    }

    #[test]
    fn burst_between_ticks_is_caught_by_the_peaks() {
        let mut script = Script::new();
        script.tick(script.base());
        script.sample(&[listener("127.0.0.1:10000", 0, 1)]);
        script.sample(&[listener("127.0.0.1:10000", 2, 1)]);
        script.sample(&[listener("127.0.0.1:10000", 1, 1)]);
        let mut calm = script.base();
        calm.listeners.push(listener("127.0.0.1:10000", 0, 1));
        let events = script.tick(calm.clone());
        let alert = find(&events, AlertKind::BacklogFull).expect("burst");
        assert!(
            alert
                .summary
                .contains("peaked at 2/1 between samples (full in 1 of 4 samples, 0/1 now)"),
            "{}",
            alert.summary
        );
        assert!(script.tick(calm.clone()).is_empty());
        assert_eq!(script.tick(calm).len(), 1, "cleared after the hysteresis");
    }

    #[test]
    fn burst_on_a_listener_that_closed_since() {
        let mut script = Script::new();
        script.sample(&[listener("127.0.0.1:10000", 3, 1)]);
        let events = script.tick_without_listener_sample(script.base());
        let alert = find(&events, AlertKind::BacklogFull).expect("burst");
        assert!(
            alert.summary.contains("listener gone now"),
            "{}",
            alert.summary
        );
        assert!(alert.summary.contains("closed since"), "{}", alert.summary);
    }

    #[test]
    fn unknown_backlog_is_not_zero() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.source = crate::model::SourceKind::Proc;
        let mut proc_listener = listener("127.0.0.1:10000", 3, 0);
        proc_listener.backlog_known = false;
        snap.listeners.push(proc_listener);
        for _ in 0..3 {
            let events = script.tick(snap.clone());
            assert!(events.is_empty(), "{events:?}");
        }
        // 4097 waiting exceeds somaxconn (4096): full whatever the backlog.
        let mut big = snap.clone();
        big.listeners[0].recv_queue = 4097;
        let events = script.tick(big);
        let alert = find(&events, AlertKind::BacklogFull).expect("provably full");
        assert!(
            alert.cause.contains("does not report the backlog"),
            "{}",
            alert.cause
        );
        assert!(alert.fix.contains("somaxconn"));
    }

    #[test]
    fn owner_reason_is_given_when_unknown() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.owners_complete = false;
        snap.listeners.push(listener("127.0.0.1:10000", 2, 1));
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::BacklogFull).expect("full");
        assert!(
            alert.summary.contains("process unknown: another user's"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn fire_count_grows_on_re_raise() {
        let mut script = Script::with(Thresholds {
            clear_after: 1,
            ..Thresholds::default()
        });
        let mut full = script.base();
        full.listeners.push(listener("127.0.0.1:10000", 2, 1));
        let counts: Vec<u32> = (0..3)
            .map(|_| {
                let events = script.tick(full.clone());
                script.tick(script.base());
                find(&events, AlertKind::BacklogFull).map_or(0, |a| a.fire_count)
            })
            .collect();
        assert_eq!(counts, vec![1, 2, 3]);
    }
}
