//! Counter jumps worth a line in the alert log: a refused connect (an RST),
//! an overflowing accept queue, a dropped SYN. One interval's "+1" would
//! otherwise show for a second and be gone; in the log it stays, with its
//! time and what it means.
//!
//! Owns: which counters are logged and their explanations. Must not: judge
//! (alert rules do), draw, or read the clock.

use super::alerts::AlertView;
use crate::alert::Severity;
use crate::model::{Counter, CounterDeltas};

/// The `kind` of a counter-jump log entry.
pub const COUNTER_JUMP_KIND: &str = "counter_jump";

struct Meaning {
    counter: Counter,
    severity: Severity,
    what: &'static str,
    cause: &'static str,
    fix: &'static str,
}

const LOGGED: [Meaning; 9] = [
    Meaning {
        counter: Counter::ListenOverflows,
        severity: Severity::Warning,
        what: "a listener's accept queue was full",
        cause: "a connection arrived while a listener's accept queue held more than its backlog (listen(N) holds N+1): the kernel dropped the SYN or the handshake's last ACK, and the client retries its SYN after 1 s, 2 s, 4 s…",
        fix: "find the FULL listener in the Listeners panel; make its application call accept() faster, or raise its backlog (listen(N), capped by net.core.somaxconn)",
    },
    Meaning {
        counter: Counter::ListenDrops,
        severity: Severity::Warning,
        what: "connections dropped at a listener",
        cause: "every connection a listener dropped: accept-queue overflows (ListenOverflows) and other drops such as a failed allocation",
        fix: "when it rises with ListenOverflows, the accept queue is the cause; otherwise check memory pressure",
    },
    Meaning {
        counter: Counter::TcpReqQFullDrop,
        severity: Severity::Warning,
        what: "SYNs dropped: a SYN queue was full",
        cause: "more half-open connections (SYN_RECV) than the SYN queue holds, and syncookies were off, so new SYNs were dropped",
        fix: "enable net.ipv4.tcp_syncookies=1, or raise net.ipv4.tcp_max_syn_backlog; if it is a flood, filter it upstream",
    },
    Meaning {
        counter: Counter::TcpTimeWaitOverflow,
        severity: Severity::Warning,
        what: "closing sockets skipped TIME_WAIT",
        cause: "the namespace already held net.ipv4.tcp_max_tw_buckets sockets in TIME_WAIT, so closing connections were destroyed at once, without the 60 s wait that guards against late segments",
        fix: "reuse connections (keep-alive, pooling), let the server close first less often, or raise net.ipv4.tcp_max_tw_buckets",
    },
    Meaning {
        counter: Counter::TcpAbortOnOverflow,
        severity: Severity::Warning,
        what: "connections reset: the accept queue was full",
        cause: "with net.ipv4.tcp_abort_on_overflow=1, a handshake that finds the accept queue full is answered with an RST instead of being dropped",
        fix: "make the application accept() faster or raise its backlog; the clients saw ECONNRESET",
    },
    Meaning {
        counter: Counter::SyncookiesSent,
        severity: Severity::Info,
        what: "syncookies sent: a SYN queue was full",
        cause: "the SYN queue of a listener overflowed and the kernel answered with syncookies instead of keeping state; connections still succeed, but some TCP options are lost",
        fix: "if it is not an attack, raise the listener's backlog and net.ipv4.tcp_max_syn_backlog",
    },
    Meaning {
        counter: Counter::OutRsts,
        severity: Severity::Info,
        what: "RSTs sent",
        cause: "the kernel answered with a reset: a SYN to a port with no listener (the client's connect() gets ECONNREFUSED), a segment for a connection that no longer exists, or a socket closed with unread data or SO_LINGER 0",
        fix: "if unexpected, look for clients connecting to a port nothing listens on (a service down, a wrong port) and for applications closing sockets with unread data",
    },
    Meaning {
        counter: Counter::AttemptFails,
        severity: Severity::Info,
        what: "connection attempts failed",
        cause: "connections went from SYN_SENT or SYN_RECV straight to CLOSED (refused by an RST, reset or timed out during the handshake), or from SYN_RECV back to LISTEN",
        fix: "a client here could not connect: check that the server it calls is up and listening, and reachable",
    },
    Meaning {
        counter: Counter::EstabResets,
        severity: Severity::Info,
        what: "established connections reset",
        cause: "connections went from ESTABLISHED or CLOSE_WAIT straight to CLOSED: an RST was sent or received",
        fix: "if unexpected, check which side resets: a peer that crashed or closed with unread data, a timeout in a middlebox, or an application aborting",
    },
];

/// `OutRsts +3: RSTs sent`.
fn title(counter: Counter, growth: u64, what: &str) -> String {
    format!("{} +{growth}: {what}", counter.kernel_name())
}

/// The log entries for one interval's counter growth, most severe first.
pub fn counter_jumps(at_ms: u64, deltas: &CounterDeltas) -> Vec<AlertView> {
    let mut jumps: Vec<AlertView> = LOGGED
        .iter()
        .filter_map(|meaning| {
            let growth = deltas.get(meaning.counter).filter(|g| *g > 0)?;
            Some(AlertView {
                kind: COUNTER_JUMP_KIND.to_string(),
                subject: meaning.counter.kernel_name().to_string(),
                title: title(meaning.counter, growth, meaning.what),
                severity: meaning.severity,
                summary: format!(
                    "{} rose by {growth} between two samples: {}.",
                    meaning.counter.kernel_name(),
                    meaning.what
                ),
                cause: meaning.cause.to_string(),
                fix: meaning.fix.to_string(),
                since_ms: at_ms,
                last_seen_ms: at_ms,
                fire_count: 1,
            })
        })
        .collect();
    jumps.sort_by_key(|j| std::cmp::Reverse(j.severity));
    jumps
}

/// Folds a newer jump of the same counter into `earlier` (consecutive
/// intervals read as one run): the growth adds up, the times span both.
pub fn merge(earlier: &mut AlertView, newer: &AlertView) {
    let growth_of = |view: &AlertView| -> u64 {
        view.title
            .split_once(" +")
            .and_then(|(_, rest)| rest.split_once(':'))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or(0)
    };
    let total = growth_of(earlier) + growth_of(newer);
    let what = LOGGED
        .iter()
        .find(|m| m.counter.kernel_name() == earlier.subject)
        .map_or("", |m| m.what);
    let counter_name = earlier.subject.clone();
    earlier.title = format!("{counter_name} +{total}: {what}");
    earlier.summary = format!(
        "{counter_name} rose by {total} over {} samples in a row: {what}.",
        earlier.fire_count + 1
    );
    earlier.last_seen_ms = newer.last_seen_ms;
    earlier.fire_count += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Counters;

    fn deltas(pairs: &[(Counter, u64)], then: &[(Counter, u64)]) -> CounterDeltas {
        let mut before = Counters::default();
        let mut after = Counters::default();
        for (counter, value) in pairs {
            before.set(*counter, *value);
        }
        for (counter, value) in then {
            after.set(*counter, *value);
        }
        after.delta_since(&before)
    }

    #[test]
    fn one_refused_connect_is_logged_with_its_meaning() {
        let d = deltas(
            &[(Counter::OutRsts, 10), (Counter::ListenOverflows, 4)],
            &[(Counter::OutRsts, 11), (Counter::ListenOverflows, 4)],
        );
        let jumps = counter_jumps(5_000, &d);
        assert_eq!(jumps.len(), 1, "{jumps:?}");
        assert_eq!(jumps[0].title, "OutRsts +1: RSTs sent");
        assert!(jumps[0].cause.contains("ECONNREFUSED"));
        let mut first = jumps[0].clone();
        let again = counter_jumps(6_000, &d);
        merge(&mut first, &again[0]);
        assert_eq!(first.title, "OutRsts +2: RSTs sent");
        assert_eq!((first.since_ms, first.last_seen_ms), (5_000, 6_000));
    }
}
