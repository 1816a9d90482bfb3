//! SYN-queue rules: `syn_queue_pressure` (a listener's half-open SYN_RECV
//! count against its backlog, which is also the SYN queue's size),
//! `syn_cookies` (TCPReqQFullDoCookies / SyncookiesSent rose) and
//! `syn_drops` (TCPReqQFullDrop rose: SYNs dropped).
//!
//! Owns: the wording of those kinds. Must not: treat an unknown backlog as
//! 0, or blame cookies that `tcp_syncookies=2` sends for every SYN.

use crate::model::{Counter, Sysctl};

use super::context::Context;
use super::{AlertKind, Evidence, Finding, Severity};

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    pressure(ctx, out);
    cookies(ctx, out);
    drops(ctx, out);
}

fn pressure(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for view in &ctx.listeners {
        let (Some(summary), Some(backlog)) = (view.summary, view.backlog()) else {
            continue;
        };
        let syn = summary.syn_recv;
        let by_ratio = (ctx.thresholds.syn_recv_ratio * f64::from(backlog.max(1))).ceil();
        if syn < ctx.thresholds.syn_recv_min || f64::from(syn) < by_ratio {
            continue;
        }
        let level = if syn >= backlog {
            format!("the SYN queue is full at {backlog}")
        } else {
            format!(
                "{}% of the {backlog} the SYN queue holds",
                u64::from(syn) * 100 / u64::from(backlog.max(1))
            )
        };
        let (cause, fix) = if view.full.is_some() {
            (
                "the accept queue is full too, so the kernel ignores the clients' final ACKs, \
                 keeps these connections in SYN_RECV and retransmits SYN-ACK: the application \
                 is not calling accept() fast enough"
                    .to_string(),
                "call accept() faster or raise the listen() backlog (see backlog_full)".to_string(),
            )
        } else {
            (
                format!(
                    "handshakes are not completing: clients' final ACKs are late or missing \
                     (a SYN flood, spoofed sources, a lossy path), or connections arrive faster \
                     than a backlog of {backlog} absorbs; the SYN queue holds as many half-open \
                     connections as the listen() backlog"
                ),
                format!(
                    "for bursts, raise the listen() backlog (and net.core.somaxconn, which caps \
                     it); keep net.ipv4.tcp_syncookies=1 (now {}) so a flood cannot deny service",
                    ctx.value(Sysctl::TcpSyncookies)
                ),
            )
        };
        out.push(Finding {
            kind: AlertKind::SynQueuePressure,
            subject: view.local.to_string(),
            severity: Severity::Warning,
            evidence: Evidence::Level,
            summary: format!(
                "{} ({}) has {syn} half-open connections (SYN_RECV) against backlog {backlog}: {level}",
                view.local, view.process
            ),
            cause,
            fix,
        });
    }
}

/// "; most half-open: 0.0.0.0:80 (128 SYN_RECV)", or nothing.
fn busiest(ctx: &Context<'_>) -> String {
    ctx.listeners
        .iter()
        .filter_map(|v| v.summary.map(|s| (s.syn_recv, v.local)))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, local)| (*n, std::cmp::Reverse(*local)))
        .map(|(n, local)| format!("; most half-open: {local} ({n} SYN_RECV)"))
        .unwrap_or_default()
}

fn cookies(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let full = ctx.growth(Counter::TcpReqQFullDoCookies);
    let sent = ctx.growth(Counter::SyncookiesSent);
    let always = ctx.snapshot.settings.tcp_syncookies == Some(2);
    if full == 0 && (sent == 0 || always) {
        return;
    }
    out.push(Finding {
        kind: AlertKind::SynCookies,
        subject: ctx.namespace(),
        severity: Severity::Warning,
        evidence: Evidence::Event,
        summary: format!(
            "a SYN queue overflowed and the kernel answered with syncookies: {} {}{}",
            ctx.growth_text(&[Counter::TcpReqQFullDoCookies, Counter::SyncookiesSent]),
            ctx.interval_text(),
            busiest(ctx)
        ),
        cause: format!(
            "a SYN flood or a connection burst filled a listener's SYN queue, which holds as \
             many half-open connections as its listen() backlog; with {} the kernel sends \
             cookies instead of queueing, so connections still complete (losing window \
             scaling and SACK when TCP timestamps are off)",
            ctx.sysctl(Sysctl::TcpSyncookies)
        ),
        fix: format!(
            "for legitimate bursts raise the listen() backlog and net.core.somaxconn (now {}); \
             check {}; for a flood, cookies are doing their job: filter the sources upstream",
            ctx.value(Sysctl::Somaxconn),
            ctx.sysctl(Sysctl::TcpMaxSynBacklog)
        ),
    });
}

fn drops(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let dropped = ctx.growth(Counter::TcpReqQFullDrop);
    if dropped == 0 {
        return;
    }
    let cookies_on = matches!(ctx.snapshot.settings.tcp_syncookies, Some(1 | 2));
    out.push(Finding {
        kind: AlertKind::SynDrops,
        subject: ctx.namespace(),
        severity: Severity::Critical,
        evidence: Evidence::Event,
        summary: format!(
            "SYNs dropped: TCPReqQFullDrop +{dropped} {}; clients get no SYN-ACK and retry \
             {}{}",
            ctx.interval_text(),
            super::SYN_RETRY_SCHEDULE,
            busiest(ctx)
        ),
        cause: format!(
            "a listener's SYN queue (as large as its listen() backlog) was full and the kernel \
             dropped the SYN instead of answering with a syncookie ({}{}); with cookies off, {} \
             also drops SYNs from unknown peers once the queue passes 3/4 of it",
            ctx.sysctl(Sysctl::TcpSyncookies),
            if cookies_on {
                ", which should send cookies: the kernel may lack CONFIG_SYN_COOKIES"
            } else {
                ""
            },
            ctx.sysctl(Sysctl::TcpMaxSynBacklog)
        ),
        fix: format!(
            "{}raise the listen() backlog and net.core.somaxconn; raise \
             net.ipv4.tcp_max_syn_backlog",
            if cookies_on {
                ""
            } else {
                "set net.ipv4.tcp_syncookies=1; "
            }
        ),
    });
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find};
    use crate::alert::{AlertKind, Severity};
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Counter, Snapshot, TcpState};

    fn half_open(snap: &mut Snapshot, count: u16) {
        for port in 0..count {
            let client = format!("10.0.0.2:{}", 40000 + port);
            snap.sockets
                .push(record(TcpState::SynRecv, "10.0.0.1:80", &client));
        }
    }

    #[test]
    fn many_syn_recv_against_the_backlog_is_pressure() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:80", 0, 10));
        half_open(&mut snap, 8);
        assert!(
            script.tick(snap.clone()).is_empty(),
            "pending: level warning"
        );
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::SynQueuePressure).expect("pressure");
        assert_eq!(alert.subject, "0.0.0.0:80");
        assert_eq!(alert.severity, Severity::Warning);
        assert!(
            alert
                .summary
                .contains("8 half-open connections (SYN_RECV) against backlog 10"),
            "{}",
            alert.summary
        );
        assert!(alert.summary.contains("80%"), "{}", alert.summary);
        assert!(alert.cause.contains("final ACK"), "{}", alert.cause);
        assert!(
            alert.fix.contains("tcp_syncookies=1 (now 1)"),
            "{}",
            alert.fix
        );
    }

    #[test]
    fn below_the_ratio_or_minimum_is_quiet() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:80", 0, 10));
        half_open(&mut snap, 7);
        snap.listeners.push(listener("0.0.0.0:81", 0, 1));
        snap.sockets
            .push(record(TcpState::SynRecv, "10.0.0.1:81", "10.0.0.2:5000"));
        for _ in 0..3 {
            assert!(script.tick(snap.clone()).is_empty());
        }
    }

    #[test]
    fn with_a_full_accept_queue_the_cause_is_accept() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:80", 2, 1));
        half_open(&mut snap, 3);
        script.tick(snap.clone());
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::SynQueuePressure).expect("pressure");
        assert!(
            alert.cause.contains("accept queue is full"),
            "{}",
            alert.cause
        );
        assert!(
            alert.summary.contains("SYN queue is full at 1"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn cookies_and_drops_come_from_counters() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:80", 0, 128));
        half_open(&mut snap, 5);
        for counter in [
            Counter::TcpReqQFullDoCookies,
            Counter::SyncookiesSent,
            Counter::TcpReqQFullDrop,
        ] {
            snap.counters.set(counter, 0);
        }
        script.tick(snap.clone());
        snap.counters.set(Counter::TcpReqQFullDoCookies, 40);
        snap.counters.set(Counter::SyncookiesSent, 40);
        snap.counters.set(Counter::TcpReqQFullDrop, 3);
        let events = script.tick(snap);
        let cookies = find(&events, AlertKind::SynCookies).expect("cookies raise at once");
        assert_eq!(cookies.severity, Severity::Warning);
        assert!(
            cookies
                .summary
                .contains("TCPReqQFullDoCookies +40, SyncookiesSent +40"),
            "{}",
            cookies.summary
        );
        assert!(
            cookies
                .summary
                .contains("most half-open: 0.0.0.0:80 (5 SYN_RECV)"),
            "{}",
            cookies.summary
        );
        assert!(
            cookies.fix.contains("net.ipv4.tcp_max_syn_backlog=1024"),
            "{}",
            cookies.fix
        );
        let drops = find(&events, AlertKind::SynDrops).expect("drops");
        assert_eq!(drops.severity, Severity::Critical);
        assert!(
            drops.summary.contains("TCPReqQFullDrop +3"),
            "{}",
            drops.summary
        );
        assert!(
            drops.cause.contains("CONFIG_SYN_COOKIES"),
            "{}",
            drops.cause
        );
        assert!(!drops.fix.contains("tcp_syncookies"), "{}", drops.fix);
    }

    #[test]
    fn drops_with_cookies_off_ask_for_cookies() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.settings.tcp_syncookies = Some(0);
        snap.counters.set(Counter::TcpReqQFullDrop, 0);
        script.tick(snap.clone());
        snap.counters.set(Counter::TcpReqQFullDrop, 9);
        let events = script.tick(snap);
        let drops = find(&events, AlertKind::SynDrops).expect("drops");
        assert!(
            drops.cause.contains("net.ipv4.tcp_syncookies=0"),
            "{}",
            drops.cause
        );
        assert!(
            drops.fix.starts_with("set net.ipv4.tcp_syncookies=1"),
            "{}",
            drops.fix
        );
    }

    #[test]
    fn always_on_cookies_are_not_an_alert() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.settings.tcp_syncookies = Some(2);
        snap.counters.set(Counter::SyncookiesSent, 0);
        script.tick(snap.clone());
        snap.counters.set(Counter::SyncookiesSent, 500);
        assert!(script.tick(snap).is_empty());
    }
}
