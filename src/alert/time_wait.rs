//! TIME_WAIT rules: `time_wait_near_limit` (namespace count against
//! net.ipv4.tcp_max_tw_buckets), `time_wait_overflow` (TCPTimeWaitOverflow
//! rose: sockets skipped TIME_WAIT), and `time_wait_growth` (one port gains
//! TIME_WAIT fast, naming the side that calls close() first).
//!
//! Owns: those kinds and the previous per-port TIME_WAIT counts (replaced
//! every evaluation, so bounded by the ports present). Must not: claim a
//! side without looking at which end holds the service port.

use std::collections::HashMap;

use crate::model::judging::PortTimeWait;
use crate::model::{Counter, Sysctl};

use super::context::Context;
use super::{AlertKind, Evidence, Finding, Severity};

const LINGER: &str = "SO_LINGER with a 0 timeout (an RST on close) skips TIME_WAIT: only if you \
                      know why";

/// Per-port TIME_WAIT counts from the previous evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeWaitHistory {
    previous: Option<HashMap<u16, u64>>,
}

impl TimeWaitHistory {
    /// Ports with a remembered count (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn tracked_ports(&self) -> usize {
        self.previous.as_ref().map_or(0, HashMap::len)
    }

    pub fn check(&mut self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        near_limit(ctx, out);
        overflow(ctx, out);
        // Counted while the dump streamed in: exact over the whole table.
        let ports = &ctx.aggregates.rules.time_wait;
        if let Some(previous) = &self.previous {
            growth(ctx, ports, previous, out);
        }
        self.previous = Some(ports.iter().map(|tw| (tw.port, tw.total)).collect());
    }
}

fn tw_count(ctx: &Context<'_>) -> (u64, &'static str) {
    match ctx.aggregates.time_wait.sockstat_total {
        Some(total) => (total, ""),
        None => (ctx.aggregates.time_wait.total, "at least "),
    }
}

/// "350 in TIME_WAIT, " (nothing when the count is unknown and none are seen).
fn tw_now(ctx: &Context<'_>) -> String {
    match tw_count(ctx) {
        (0, "at least ") => String::new(),
        (used, at_least) => format!("{at_least}{used} in TIME_WAIT, "),
    }
}

fn busiest_port(ctx: &Context<'_>) -> String {
    ctx.aggregates
        .time_wait
        .by_port
        .iter()
        .max_by_key(|(port, n)| (*n, std::cmp::Reverse(*port)))
        .map(|(port, n)| format!("; most on port {port} ({n})"))
        .unwrap_or_default()
}

const REUSE_FIX: &str = "reuse connections (HTTP keep-alive, pooling) so fewer of them close; \
                         let the peer close first where the protocol allows";

fn near_limit(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(max) = ctx.snapshot.settings.tcp_max_tw_buckets.filter(|m| *m > 0) else {
        return;
    };
    let (used, at_least) = tw_count(ctx);
    if (used as f64) < ctx.thresholds.time_wait_near_limit_ratio * max as f64 {
        return;
    }
    out.push(Finding {
        kind: AlertKind::TimeWaitNearLimit,
        subject: ctx.namespace(),
        severity: Severity::Warning,
        evidence: Evidence::Level,
        summary: format!(
            "{at_least}{used} TIME_WAIT sockets, {}% of {}{}",
            used.saturating_mul(100) / max,
            ctx.sysctl(Sysctl::TcpMaxTwBuckets),
            busiest_port(ctx)
        ),
        cause: "TIME_WAIT lands on the side that calls close() first and lasts 60 s on Linux \
                (tcp_fin_timeout does not shorten it); beyond tcp_max_tw_buckets, closing \
                sockets skip TIME_WAIT (TCPTimeWaitOverflow)"
            .to_string(),
        fix: format!(
            "{REUSE_FIX}; raise net.ipv4.tcp_max_tw_buckets if memory allows (an entry is small)"
        ),
    });
}

fn overflow(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let skipped = ctx.growth(Counter::TcpTimeWaitOverflow);
    if skipped == 0 {
        return;
    }
    out.push(Finding {
        kind: AlertKind::TimeWaitOverflow,
        subject: ctx.namespace(),
        severity: Severity::Critical,
        evidence: Evidence::Event,
        summary: format!(
            "TCPTimeWaitOverflow +{skipped} {}: {skipped} closing sockets skipped TIME_WAIT \
             ({}{}){}",
            ctx.interval_text(),
            tw_now(ctx),
            ctx.sysctl(Sysctl::TcpMaxTwBuckets),
            busiest_port(ctx)
        ),
        cause: "more connections close from this side per 60 s than tcp_max_tw_buckets allows; \
                without TIME_WAIT a delayed segment of an old connection can be taken into a new \
                one on the same 4-tuple, and a lost final ACK is answered with an RST"
            .to_string(),
        fix: format!("{REUSE_FIX}; raise net.ipv4.tcp_max_tw_buckets"),
    });
}

fn growth(
    ctx: &Context<'_>,
    ports: &[PortTimeWait],
    previous: &HashMap<u16, u64>,
    out: &mut Vec<Finding>,
) {
    if ctx.interval_ms == 0 {
        return;
    }
    let per_sec = ctx.thresholds.time_wait_growth_per_sec;
    for tw in ports {
        let port = &tw.port;
        let grew = tw
            .total
            .saturating_sub(previous.get(port).copied().unwrap_or(0));
        let new = grew.max(tw.entered_within(ctx.interval_ms));
        let rate = new as f64 * 1000.0 / ctx.interval_ms as f64;
        if rate < per_sec {
            continue;
        }
        let severity = if rate >= per_sec * ctx.thresholds.time_wait_growth_warning_factor {
            Severity::Warning
        } else {
            Severity::Info
        };
        let server_first = tw.server_closed >= tw.client_closed;
        let side = if server_first {
            format!(
                "in {} of {} the local port is {port}: this host's server on port {port} \
                 calls close() first",
                tw.server_closed, tw.total
            )
        } else {
            format!(
                "in {} of {} the remote port is {port}: the clients on this host \
                 (connect()ing to port {port}) call close() first",
                tw.client_closed, tw.total
            )
        };
        let fix = if server_first {
            format!(
                "keep connections open (HTTP keep-alive, connection reuse) or let the client \
                 close first so TIME_WAIT stays with the clients; {LINGER}"
            )
        } else {
            format!(
                "reuse connections (keep-alive, pooling) instead of one connect() per request; \
                 {} for outgoing connections lets connect() reuse TIME_WAIT ports (now {}); \
                 let the server close first; {LINGER}",
                "net.ipv4.tcp_tw_reuse=1",
                ctx.value(Sysctl::TcpTwReuse)
            )
        };
        out.push(Finding {
            kind: AlertKind::TimeWaitGrowth,
            subject: format!("port {port}"),
            severity,
            evidence: Evidence::Level,
            summary: format!(
                "{new} new TIME_WAIT sockets on port {port} {} (~{rate:.0}/s, {} now)",
                ctx.interval_text(),
                tw.total
            ),
            cause: format!(
                "TIME_WAIT lands on the side that calls close() first and lasts 60 s; {side}"
            ),
            fix,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find};
    use crate::alert::{AlertKind, Severity, Thresholds};
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Counter, Snapshot, Sockstat, TcpState, TimerKind};

    /// `count` TIME_WAIT sockets on port 10000; `server_first` puts the
    /// service port on the local side.
    fn time_wait(snap: &mut Snapshot, count: u32, server_first: bool, offset: u32) {
        for i in 0..count {
            let client = format!("127.0.0.1:{}", 20000 + offset + i);
            let rec = if server_first {
                record(TcpState::TimeWait, "127.0.0.1:10000", &client)
            } else {
                record(TcpState::TimeWait, &client, "127.0.0.1:10000")
            };
            snap.sockets.push(rec);
        }
    }

    #[test]
    fn near_limit_uses_sockstat_and_names_the_sysctl() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.settings.tcp_max_tw_buckets = Some(1000);
        snap.sockstat = Some(Sockstat {
            tw: 850,
            ..Sockstat::default()
        });
        script.tick(snap.clone());
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::TimeWaitNearLimit).expect("near limit");
        assert_eq!(alert.severity, Severity::Warning);
        assert!(
            alert
                .summary
                .contains("850 TIME_WAIT sockets, 85% of net.ipv4.tcp_max_tw_buckets=1000"),
            "{}",
            alert.summary
        );
        assert!(alert.cause.contains("close() first"));

        snap.sockstat = Some(Sockstat {
            tw: 700,
            ..Sockstat::default()
        });
        script.tick(snap.clone());
        let events = script.tick(snap);
        assert!(
            crate::alert::testkit::find_cleared(&events, AlertKind::TimeWaitNearLimit).is_some()
        );
    }

    #[test]
    fn near_limit_falls_back_to_the_table_count() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.settings.tcp_max_tw_buckets = Some(10);
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        time_wait(&mut snap, 9, true, 0);
        script.tick(snap.clone());
        let alert = find(&script.tick(snap), AlertKind::TimeWaitNearLimit)
            .cloned()
            .expect("near");
        assert!(
            alert.summary.starts_with("at least 9 TIME_WAIT"),
            "{}",
            alert.summary
        );
        assert!(
            alert.summary.contains("most on port 10000 (9)"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn overflow_is_critical_at_once() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.counters.set(Counter::TcpTimeWaitOverflow, 5);
        script.tick(snap.clone());
        snap.counters.set(Counter::TcpTimeWaitOverflow, 25);
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::TimeWaitOverflow).expect("overflow");
        assert_eq!(alert.severity, Severity::Critical);
        assert!(
            alert.summary.contains("TCPTimeWaitOverflow +20"),
            "{}",
            alert.summary
        );
        assert!(alert.cause.contains("old connection"), "{}", alert.cause);
    }

    #[test]
    fn growth_on_the_server_side_says_the_server_closes_first() {
        let mut script = Script::with(Thresholds {
            raise_after: 1,
            ..Thresholds::default()
        });
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        script.tick(snap.clone());
        time_wait(&mut snap, 150, true, 0);
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::TimeWaitGrowth).expect("growth");
        assert_eq!(alert.subject, "port 10000");
        assert_eq!(alert.severity, Severity::Info);
        assert!(
            alert.summary.contains(
                "150 new TIME_WAIT sockets on port 10000 in the last 1.0 s (~150/s, 150 now)"
            ),
            "{}",
            alert.summary
        );
        assert!(
            alert
                .cause
                .contains("server on port 10000 calls close() first"),
            "{}",
            alert.cause
        );
        assert!(
            alert.fix.contains("keep-alive") && alert.fix.contains("SO_LINGER"),
            "{}",
            alert.fix
        );
        // Flat count, no timer information: growth stops, the alert clears.
        script.tick(snap.clone());
        assert!(script.tick(snap).len() == 1);
    }

    #[test]
    fn growth_on_the_client_side_says_the_clients_close_first() {
        let mut script = Script::with(Thresholds {
            raise_after: 1,
            ..Thresholds::default()
        });
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        script.tick(snap.clone());
        time_wait(&mut snap, 1200, false, 0);
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::TimeWaitGrowth).expect("growth");
        assert_eq!(alert.severity, Severity::Warning, "≥ 10× the rate");
        assert!(
            alert.cause.contains("the clients on this host"),
            "{}",
            alert.cause
        );
        assert!(alert.fix.contains("tcp_tw_reuse=1"), "{}", alert.fix);
    }

    #[test]
    fn steady_churn_is_seen_through_the_timers() {
        let mut script = Script::with(Thresholds {
            raise_after: 1,
            ..Thresholds::default()
        });
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        time_wait(&mut snap, 6000, true, 0);
        for (i, rec) in snap.sockets.iter_mut().enumerate() {
            rec.timer = TimerKind::TimeWait;
            // Evenly spread over 60 s: 100 entered in the last second.
            rec.timer_expires_ms = u32::try_from(i * 10 + 5).expect("fits");
        }
        script.tick(snap.clone());
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::TimeWaitGrowth).expect("churn");
        assert!(
            alert.summary.contains("100 new TIME_WAIT"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn slow_growth_is_quiet() {
        let mut script = Script::new();
        let mut snap = script.base();
        for i in 0..5 {
            time_wait(&mut snap, 50, true, i * 50);
            assert!(script.tick(snap.clone()).is_empty());
        }
    }
}
