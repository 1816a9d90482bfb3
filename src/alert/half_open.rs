//! Half-open mismatch (`half_open_mismatch`): when both ends of a connection
//! are in the snapshot (loopback or this host), a client socket that is
//! ESTABLISHED while its peer, the reversed 4-tuple, is still SYN_RECV, or
//! is missing while the listener for that port is full. That is Linux's odd
//! case from the write-up: the server dropped the client's final ACK because
//! its accept queue was full, and keeps retransmitting SYN-ACK; the client
//! thinks it is connected, and its first data gets an RST (or is dropped).
//!
//! Owns: that kind. Must not: judge connections whose server is not on this
//! host (its end cannot be in the snapshot), or call a missing peer a
//! mismatch when the listener was not seen full.

use crate::model::{Sysctl, TcpState};

use super::context::{Context, FullEvidence, process_of_inode};
use super::{AlertKind, Evidence, Finding, Severity};

/// Reads the pairs joined while the dump streamed in
/// (`RuleAggregates::half_open`): exact over the whole table.
pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let snapshot = ctx.snapshot;
    for pairs in &ctx.aggregates.rules.half_open {
        let server = pairs.server;
        let Some(listener) = ctx.listener_for(&server) else {
            continue;
        };
        let full = listener.full;
        // A missing server end is a mismatch only when the listener was full.
        let missing = if full.is_some() { pairs.missing } else { 0 };
        let total = pairs.syn_recv + missing;
        if total == 0 {
            continue;
        }
        let mut server_side = Vec::new();
        if pairs.syn_recv > 0 {
            server_side.push(format!("SYN_RECV ({})", pairs.syn_recv));
        }
        if missing > 0 {
            server_side.push(format!("missing ({missing})"));
        }
        let first_missing = pairs.first_missing.filter(|_| missing > 0);
        let example = [pairs.first_syn_recv, first_missing]
            .into_iter()
            .flatten()
            .min_by_key(|e| e.order)
            .map(|e| {
                let process = process_of_inode(snapshot, TcpState::Established, e.inode);
                format!(", e.g. {} ({process})", e.client)
            })
            .unwrap_or_default();
        let queue = match full {
            Some(FullEvidence::Now { queue, backlog }) => {
                format!("was full ({queue}/{backlog} now)")
            }
            Some(FullEvidence::Peak {
                peak_queue,
                backlog,
                ..
            }) => format!("was full (peaked at {peak_queue}/{backlog})"),
            Some(FullEvidence::AboveSomaxconn { queue, .. }) => {
                format!("was full ({queue} waiting)")
            }
            None => "was full (or the final ACK was lost)".to_string(),
        };
        out.push(Finding {
            kind: AlertKind::HalfOpenMismatch,
            subject: server.to_string(),
            severity: Severity::Warning,
            evidence: Evidence::Level,
            summary: format!(
                "{total} connections to {server} are ESTABLISHED on the client but {} on the \
                 server{example}",
                server_side.join(" or ")
            ),
            cause: format!(
                "the server's accept queue {queue} when the client's final ACK arrived, so the \
                 kernel dropped that ACK and keeps retransmitting SYN-ACK (after ~1, 2, 4, 8, \
                 16 s); the client believes it is connected, and its first data will be \
                 answered with an RST (or dropped) once the server gives up"
            ),
            fix: format!(
                "fix the backlog: call accept() faster or raise the listen() backlog (and \
                 net.core.somaxconn); or set net.ipv4.tcp_abort_on_overflow=1 (now {}) so the \
                 server answers with an RST at once and the client fails fast",
                ctx.value(Sysctl::TcpAbortOnOverflow)
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find};
    use crate::alert::{AlertKind, Severity};
    use crate::model::listen_one::ListenOne;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Snapshot, TcpState};

    /// The write-up's experiment on loopback: listen(1), no accept(); two
    /// connections accepted into the queue, two more ESTABLISHED on the
    /// client while the server holds them in SYN_RECV.
    fn odd_linux_case(script: &Script) -> Snapshot {
        let scene = ListenOne {
            queued: 2,
            half_open: 2,
            waiting: 0,
            seconds: 0,
        };
        let mut snap = script.base();
        snap.listeners.push(scene.listener());
        snap.sockets = scene.sockets();
        snap
    }

    #[test]
    fn client_established_server_syn_recv_is_a_mismatch() {
        let mut script = Script::new();
        script.tick(odd_linux_case(&script));
        let events = script.tick(odd_linux_case(&script));
        let alert = find(&events, AlertKind::HalfOpenMismatch).expect("mismatch");
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.subject, "127.0.0.1:10000");
        assert!(alert.summary.starts_with("2 connections to 127.0.0.1:10000 are ESTABLISHED on the client but SYN_RECV (2) on the server, e.g. 127.0.0.1:40003"), "{}", alert.summary);
        assert!(
            alert.cause.contains("accept queue was full (2/1 now)"),
            "{}",
            alert.cause
        );
        assert!(alert.cause.contains("RST"), "{}", alert.cause);
        assert!(
            alert
                .fix
                .contains("net.ipv4.tcp_abort_on_overflow=1 (now 0)"),
            "{}",
            alert.fix
        );
    }

    #[test]
    fn missing_peer_counts_only_when_the_listener_is_full() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:10000", 2, 1));
        snap.sockets.push(record(
            TcpState::Established,
            "127.0.0.1:40005",
            "127.0.0.1:10000",
        ));
        script.tick(snap.clone());
        let events = script.tick(snap.clone());
        let alert = find(&events, AlertKind::HalfOpenMismatch).expect("missing peer");
        assert!(alert.summary.contains("missing (1)"), "{}", alert.summary);

        let mut script = Script::new();
        snap.listeners[0].recv_queue = 0;
        for _ in 0..3 {
            let events = script.tick(snap.clone());
            assert!(
                find(&events, AlertKind::HalfOpenMismatch).is_none(),
                "{events:?}"
            );
        }
    }

    #[test]
    fn remote_servers_and_healthy_pairs_are_ignored() {
        let mut script = Script::new();
        let mut snap = script.base();
        snap.listeners.push(listener("0.0.0.0:80", 2, 1));
        // This host is a client of another host's port 80: its peer cannot be here.
        snap.sockets.push(record(
            TcpState::Established,
            "10.0.0.1:40000",
            "10.0.0.9:80",
        ));
        // A healthy loopback pair.
        snap.sockets.push(record(
            TcpState::Established,
            "127.0.0.1:40001",
            "127.0.0.1:80",
        ));
        snap.sockets.push(record(
            TcpState::Established,
            "127.0.0.1:80",
            "127.0.0.1:40001",
        ));
        for _ in 0..3 {
            let events = script.tick(snap.clone());
            assert!(
                find(&events, AlertKind::HalfOpenMismatch).is_none(),
                "{events:?}"
            );
        }
    }
}
