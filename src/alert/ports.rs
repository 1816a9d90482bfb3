//! Ephemeral port exhaustion (`port_exhaustion`): for each (local IP,
//! remote IP, remote port) among client-side sockets, how many local ports
//! are held (TIME_WAIT included: it keeps its port for 60 s) against the size
//! of net.ipv4.ip_local_port_range. Warning at the ratio, critical when no
//! port is left and connect() fails with EADDRNOTAVAIL.
//!
//! Owns: that kind. Must not: count server-side sockets (local port is a
//! listener's) or ports bound outside the ephemeral range, or guess a range
//! it could not read.

use crate::model::{StateCounts, Sysctl, TcpState};

use super::context::{Context, owners_of_inodes};
use super::{AlertKind, Evidence, Finding, Severity};

/// Reads the destinations counted while the dump streamed in
/// (`RuleAggregates::destinations`): exact over the whole table, whatever
/// the snapshot kept.
pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let settings = &ctx.snapshot.settings;
    let Some(range) = settings.ephemeral_port_count() else {
        return;
    };
    let ratio = ctx.thresholds.port_exhaustion_ratio;
    for held in ctx
        .aggregates
        .rules
        .destinations
        .iter()
        .filter(|d| d.held() as f64 >= ratio * f64::from(range))
    {
        let (source, destination) = (held.source, held.destination);
        let all = held.held();
        let time_wait = held.states.get(TcpState::TimeWait);
        let reuse = match settings.tcp_tw_reuse {
            Some(1) => true,
            Some(2) => destination.ip().is_loopback(),
            _ => false,
        };
        let blocking = if reuse { all - time_wait } else { all };
        let severity = if blocking >= u64::from(range) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let by_state = states_text(&held.states);
        let consequence = if severity == Severity::Critical {
            "no port is left: connect() fails with EADDRNOTAVAIL"
        } else {
            "when none is left, connect() fails with EADDRNOTAVAIL"
        };
        let owners = owners_of_inodes(
            ctx.snapshot,
            TcpState::Established,
            &held.inodes,
            all - time_wait,
        );
        let reuse_note = match settings.tcp_tw_reuse {
            Some(1) => "; net.ipv4.tcp_tw_reuse=1 already lets connect() reuse TIME_WAIT ports \
                        (with TCP timestamps)"
                .to_string(),
            Some(2) if reuse => "; net.ipv4.tcp_tw_reuse=2 lets connect() reuse TIME_WAIT ports \
                                 to loopback destinations"
                .to_string(),
            _ => format!(
                "; {} does not let connect() reuse TIME_WAIT ports to this destination",
                ctx.sysctl(Sysctl::TcpTwReuse)
            ),
        };
        out.push(Finding {
            kind: AlertKind::PortExhaustion,
            subject: format!("{source} → {destination}"),
            severity,
            evidence: Evidence::Level,
            summary: format!(
                "{source} → {destination} holds {all} of {range} ephemeral ports ({}%): \
                 {by_state} ({owners}); {consequence}",
                all * 100 / u64::from(range)
            ),
            cause: format!(
                "every connect() from {source} to {destination} takes its own local port from \
                 {} ({range} ports), and TIME_WAIT sockets keep theirs for 60 s{reuse_note}",
                ctx.sysctl(Sysctl::IpLocalPortRange)
            ),
            fix: "reuse connections (keep-alive, pooling) instead of one connect() per request; \
                  set net.ipv4.tcp_tw_reuse=1 for outgoing connections; widen \
                  net.ipv4.ip_local_port_range; spread over more destination IPs or ports (or \
                  source IPs)"
                .to_string(),
        });
    }
}

/// "21000 TIME_WAIT, 3000 ESTABLISHED", most first.
fn states_text(states: &StateCounts) -> String {
    let mut counts: Vec<(TcpState, u64)> = states.non_zero().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find};
    use crate::alert::{AlertEvent, AlertKind, Severity};
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{ProcessInfo, Snapshot, TcpState};

    /// A port range of 10 (50000..=50009) to exhaust cheaply.
    fn small_range(script: &Script) -> Snapshot {
        let mut snap = script.base();
        snap.settings.ip_local_port_range = Some((50000, 50009));
        snap.settings.tcp_tw_reuse = Some(0);
        snap
    }

    fn connect(snap: &mut Snapshot, state: TcpState, ports: std::ops::Range<u16>, to: &str) {
        for port in ports {
            let mut rec = record(state, &format!("10.0.0.1:{port}"), to);
            if state != TcpState::TimeWait {
                rec.inode = 7;
            }
            snap.sockets.push(rec);
        }
    }

    #[test]
    fn warning_at_the_ratio_critical_when_full() {
        let mut script = Script::new();
        let mut snap = small_range(&script);
        snap.owners.insert(
            7,
            ProcessInfo {
                pid: 9,
                name: "loadgen".to_string(),
            },
        );
        connect(&mut snap, TcpState::TimeWait, 50000..50006, "10.0.0.5:80");
        connect(
            &mut snap,
            TcpState::Established,
            50006..50008,
            "10.0.0.5:80",
        );
        script.tick(snap.clone());
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::PortExhaustion).expect("80%");
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.subject, "10.0.0.1 → 10.0.0.5:80");
        assert!(
            alert.summary.contains(
                "holds 8 of 10 ephemeral ports (80%): 6 TIME_WAIT, 2 ESTABLISHED (loadgen pid 9)"
            ),
            "{}",
            alert.summary
        );
        assert!(
            alert
                .cause
                .contains("net.ipv4.ip_local_port_range=50000 50009"),
            "{}",
            alert.cause
        );
        assert!(
            alert.fix.contains("tcp_tw_reuse=1") && alert.fix.contains("keep-alive"),
            "{}",
            alert.fix
        );

        connect(&mut snap, TcpState::SynSent, 50008..50010, "10.0.0.5:80");
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::PortExhaustion).expect("escalated");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.fire_count, 1, "same occurrence, now worse");
        assert!(alert.summary.contains("EADDRNOTAVAIL"), "{}", alert.summary);
    }

    #[test]
    fn destinations_are_counted_apart_and_servers_are_ignored() {
        let mut script = Script::new();
        let mut snap = small_range(&script);
        snap.listeners.push(listener("10.0.0.1:50000", 0, 128));
        // Server side of port 50000 (a listener port inside the range).
        for i in 0..9 {
            let client = format!("10.0.0.9:{}", 40000 + i);
            snap.sockets
                .push(record(TcpState::Established, "10.0.0.1:50000", &client));
        }
        connect(
            &mut snap,
            TcpState::Established,
            50001..50006,
            "10.0.0.5:80",
        );
        connect(
            &mut snap,
            TcpState::Established,
            50001..50006,
            "10.0.0.5:443",
        );
        // Outside the ephemeral range: bound explicitly.
        connect(&mut snap, TcpState::Established, 1000..1010, "10.0.0.6:80");
        for _ in 0..3 {
            assert!(script.tick(snap.clone()).is_empty());
        }
    }

    #[test]
    fn tw_reuse_on_loopback_keeps_it_a_warning() {
        let mut script = Script::new();
        let mut snap = small_range(&script);
        snap.settings.tcp_tw_reuse = Some(2);
        for port in 50000..50010 {
            snap.sockets.push(record(
                TcpState::TimeWait,
                &format!("127.0.0.1:{port}"),
                "127.0.0.1:10000",
            ));
        }
        script.tick(snap.clone());
        let events = script.tick(snap);
        let alert = find(&events, AlertKind::PortExhaustion).expect("100% but reusable");
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.subject, "127.0.0.1 → 127.0.0.1:10000");
        assert!(
            alert.cause.contains("tcp_tw_reuse=2 lets connect() reuse"),
            "{}",
            alert.cause
        );
        assert!(matches!(events[..], [AlertEvent::Raised(_)]));
    }

    #[test]
    fn unknown_range_is_quiet() {
        let mut script = Script::new();
        let mut snap = small_range(&script);
        snap.settings.ip_local_port_range = None;
        connect(
            &mut snap,
            TcpState::Established,
            50000..50010,
            "10.0.0.5:80",
        );
        for _ in 0..3 {
            assert!(script.tick(snap.clone()).is_empty());
        }
    }
}
