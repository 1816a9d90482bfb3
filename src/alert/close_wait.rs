//! CLOSE_WAIT leak (`close_wait_leak`): CLOSE_WAIT sockets on a service port
//! that stay or grow over N consecutive evaluations. The peer closed (sent
//! FIN, which the kernel ACKed), and the application owning the socket never
//! called close().
//!
//! Owns: that kind and the per-port CLOSE_WAIT counts of the last N
//! evaluations (a port is forgotten as soon as it has none, so memory is
//! bounded by the ports in CLOSE_WAIT). Must not: blame a process it did not
//! see owning the sockets.
//!
//! The owners of new sockets are looked up on a thread of their own, at most
//! every couple of seconds, so a leak can qualify before its sockets' owner
//! is known. The finding then waits up to `OWNER_WAIT_MS` for the owner, so
//! the alert names the process that does not call close(); after that it is
//! raised anyway, saying the owner is unknown.

use std::collections::{HashMap, VecDeque};

use crate::model::{NoOwnerReason, TcpState};

use super::context::{Context, owners_of_inodes};
use super::{AlertKind, Evidence, Finding, Severity};

/// How long a qualifying leak waits for its sockets' owner to be looked
/// up (the owner scan runs at most every 2 s) before being raised without.
pub(crate) const OWNER_WAIT_MS: u64 = 3_000;

/// CLOSE_WAIT counts per service port over the last evaluations.
#[derive(Debug, Clone, Default)]
pub(crate) struct CloseWaitHistory {
    by_port: HashMap<u16, VecDeque<u64>>,
    /// Per port: when its leak first qualified with no owner known yet
    /// (`Some`), or `None` once the wait is over (owner seen, or timed out).
    owner_wait: HashMap<u16, Option<u64>>,
}

impl CloseWaitHistory {
    /// Ports with CLOSE_WAIT history (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn tracked_ports(&self) -> usize {
        self.by_port.len()
    }

    /// Reads the per-port CLOSE_WAIT counted while the dump streamed in
    /// (exact over the whole table), with a sample of its owners.
    pub fn check(&mut self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let window = ctx.thresholds.close_wait_min_ticks as usize;
        let snapshot = ctx.snapshot;
        let now = &ctx.aggregates.rules.close_wait;
        self.by_port
            .retain(|port, _| now.binary_search_by_key(port, |p| p.port).is_ok());
        self.owner_wait
            .retain(|port, _| now.binary_search_by_key(port, |p| p.port).is_ok());
        for close_wait in now {
            let port = close_wait.port;
            let history = self.by_port.entry(port).or_default();
            history.push_back(close_wait.total);
            while history.len() > window {
                history.pop_front();
            }
            let (Some(first), Some(last)) = (history.front(), history.back()) else {
                continue;
            };
            if history.len() < window || last < first {
                continue;
            }
            if waits_for_owner(&mut self.owner_wait, port, &close_wait.inodes, ctx) {
                continue;
            }
            let server_side = close_wait.server_side;
            let side = if server_side * 2 >= close_wait.total {
                format!("the server on port {port}")
            } else {
                format!("a client of port {port}")
            };
            let trend = if first == last {
                format!("{last} steady")
            } else {
                format!("{first} → {last}")
            };
            let owners = owners_of_inodes(
                snapshot,
                TcpState::CloseWait,
                &close_wait.inodes,
                close_wait.total,
            );
            out.push(Finding {
                kind: AlertKind::CloseWaitLeak,
                subject: format!("port {port}"),
                severity: Severity::Warning,
                evidence: Evidence::Level,
                summary: format!(
                    "{last} sockets in CLOSE_WAIT on port {port} for {} consecutive samples \
                     ({trend}), owned by {owners}",
                    history.len()
                ),
                cause: format!(
                    "the peer closed its end (sent FIN, which the kernel ACKed), but {side} \
                     never called close() on these sockets; CLOSE_WAIT lasts until it does, \
                     holding a file descriptor and buffers each"
                ),
                fix: "close the socket when recv()/read() returns 0 (EOF), on every path \
                      including errors and timeouts; watch the process's fd count \
                      (ls /proc/PID/fd | wc -l) for the leak"
                    .to_string(),
            });
        }
    }
}

/// Whether the leak on `port` should wait for its owner: no socket's
/// owner has been looked up yet, and it has waited less than
/// `OWNER_WAIT_MS`. Once over, the wait does not start again while the
/// port stays in CLOSE_WAIT, so a raised alert is never held back.
fn waits_for_owner(
    owner_wait: &mut HashMap<u16, Option<u64>>,
    port: u16,
    inodes: &[u64],
    ctx: &Context<'_>,
) -> bool {
    let snapshot = ctx.snapshot;
    let now_ms = snapshot.taken_at_ms;
    let not_looked_up = !inodes.is_empty()
        && inodes.iter().all(|inode| {
            snapshot.owner_of_inode(TcpState::CloseWait, *inode) == Err(NoOwnerReason::Unknown)
        });
    let wait = owner_wait.entry(port).or_insert(Some(now_ms));
    match *wait {
        Some(since) if not_looked_up && now_ms.saturating_sub(since) < OWNER_WAIT_MS => true,
        _ => {
            *wait = None;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::testkit::{Script, find, find_cleared};
    use crate::alert::{AlertKind, Severity};
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{ProcessInfo, Snapshot, TcpState};

    fn with_close_wait(script: &Script, count: u16) -> Snapshot {
        let mut snap = script.base();
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        snap.owners.insert(
            77,
            ProcessInfo {
                pid: 42,
                name: "server".to_string(),
            },
        );
        for i in 0..count {
            let mut rec = record(
                TcpState::CloseWait,
                "127.0.0.1:10000",
                &format!("127.0.0.1:{}", 30000 + i),
            );
            rec.inode = 77;
            snap.sockets.push(rec);
        }
        snap
    }

    #[test]
    fn sockets_that_stay_in_close_wait_are_a_leak() {
        let mut script = Script::new();
        let mut events = Vec::new();
        for count in [2, 3, 5] {
            events = script.tick(with_close_wait(&script, count));
            if count < 5 {
                assert!(events.is_empty(), "needs 3 samples: {events:?}");
            }
        }
        assert!(events.is_empty(), "level warning waits for raise_after");
        let events = script.tick(with_close_wait(&script, 6));
        let alert = find(&events, AlertKind::CloseWaitLeak).expect("leak");
        assert_eq!(alert.subject, "port 10000");
        assert_eq!(alert.severity, Severity::Warning);
        assert!(alert.summary.contains("6 sockets in CLOSE_WAIT on port 10000 for 3 consecutive samples (3 → 6), owned by server pid 42"), "{}", alert.summary);
        assert!(
            alert.cause.contains("never called close()")
                && alert.cause.contains("the server on port 10000"),
            "{}",
            alert.cause
        );
        assert!(
            alert.fix.contains("recv()/read() returns 0"),
            "{}",
            alert.fix
        );
    }

    #[test]
    fn draining_close_wait_is_not_a_leak_and_clears() {
        let mut script = Script::new();
        for count in [5, 5, 5, 5] {
            script.tick(with_close_wait(&script, count));
        }
        assert_eq!(script.active().len(), 1);
        assert!(
            script.tick(with_close_wait(&script, 4)).is_empty(),
            "one absence"
        );
        let events = script.tick(with_close_wait(&script, 3));
        assert!(
            find_cleared(&events, AlertKind::CloseWaitLeak).is_some(),
            "{events:?}"
        );
    }

    #[test]
    fn a_gap_restarts_the_count() {
        let mut script = Script::new();
        for count in [4, 4, 0, 4, 4] {
            assert!(script.tick(with_close_wait(&script, count)).is_empty());
        }
    }

    #[test]
    fn a_leak_waits_for_its_owner_then_names_it() {
        let mut script = Script::new();
        let without_owner = |script: &Script, count| {
            let mut snap = with_close_wait(script, count);
            snap.owners.clear();
            snap
        };
        // Qualifies at the 3rd sample, but no owner is known yet: wait.
        for count in [3, 3, 3, 3] {
            assert!(script.tick(without_owner(&script, count)).is_empty());
        }
        // The owner scan found it: raised, naming the process.
        script.tick(with_close_wait(&script, 3));
        let events = script.tick(with_close_wait(&script, 3));
        let alert = find(&events, AlertKind::CloseWaitLeak).expect("leak");
        assert!(
            alert.summary.contains("owned by server pid 42"),
            "{}",
            alert.summary
        );
    }

    #[test]
    fn a_leak_whose_owner_stays_unknown_is_raised_after_the_wait() {
        let mut script = Script::new();
        let mut raised = None;
        for _ in 0..10 {
            let mut snap = with_close_wait(&script, 3);
            snap.owners.clear();
            if let Some(alert) = find(&script.tick(snap), AlertKind::CloseWaitLeak) {
                raised = Some((script.now_ms, alert.summary.clone()));
                break;
            }
        }
        let (at_ms, summary) = raised.expect("raised without an owner in the end");
        assert!(summary.contains("process unknown"), "{summary}");
        assert!(
            at_ms >= 3_000 + super::OWNER_WAIT_MS,
            "waited: raised at {at_ms} ms"
        );
    }
}
