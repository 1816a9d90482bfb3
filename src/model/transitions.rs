//! Follows each connection across snapshots and logs its state changes,
//! each labelled with the socket call or kernel event that explains it.
//!
//! Owns: `TransitionTracker`, `Transition`, the cause labels and the
//! skipped-state inference. Must not: do I/O or read the clock (time comes in
//! with each snapshot); memory stays bounded (a capped log and a capped set of
//! followed connections).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use super::slack::release_slack;
use super::snapshot::Snapshot;
use super::socket::{SocketRecord, TimerKind};
use super::state::TcpState;

/// Logged changes kept by default.
pub(crate) const DEFAULT_LOG_CAPACITY: usize = 500;
/// Connections followed at most; beyond that new ones are not followed.
pub(crate) const DEFAULT_MAX_FOLLOWED: usize = 200_000;

const SYN_RETRANSMIT_CAUSE: &str =
    "no SYN-ACK: the peer's accept queue is full or the peer is unreachable";

/// What happened to a connection between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// First seen, already in this state.
    Appeared(TcpState),
    /// Moved from one state to another; `skipped` are the states it must have
    /// passed through between two polls.
    Moved {
        from: TcpState,
        to: TcpState,
        skipped: Vec<TcpState>,
    },
    /// No longer in the table (CLOSED).
    Gone(TcpState),
    /// A SYN_SENT socket retransmitted its SYN.
    SynRetransmit { count: u8, next_retry_ms: u32 },
}

/// One logged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at_ms: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub change: Change,
    /// How long the connection sat in its previous state, when known.
    pub after_ms: Option<u64>,
    /// The call or event that explains it, e.g. `close()` or `recv FIN`.
    pub cause: &'static str,
}

impl Transition {
    /// `127.0.0.1:53356 → 127.0.0.1:10000  SYN_SENT → ESTABLISHED (+1.0 s)  recv SYN-ACK, send ACK`
    pub fn describe(&self) -> String {
        let what = match &self.change {
            Change::Appeared(state) => format!("appeared in {state}"),
            Change::Moved { from, to, skipped } if skipped.is_empty() => format!("{from} → {to}"),
            Change::Moved { from, to, skipped } => {
                let via: Vec<&str> = skipped.iter().map(|s| s.name()).collect();
                format!("{from} → {to} (passed {} between samples)", via.join(", "))
            }
            Change::Gone(state) => format!("{state} → gone (CLOSED)"),
            Change::SynRetransmit {
                count,
                next_retry_ms,
            } => format!(
                "SYN_SENT: SYN retransmit #{count}, next retry in {:.1} s",
                f64::from(*next_retry_ms) / 1000.0
            ),
        };
        let after = self
            .after_ms
            .map(|ms| format!(" (+{:.1} s)", ms as f64 / 1000.0))
            .unwrap_or_default();
        format!(
            "{} → {}  {what}{after}  {}",
            self.local, self.remote, self.cause
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Followed {
    state: TcpState,
    inode: u64,
    since_ms: u64,
    retransmits: u8,
    server_side: bool,
    seen_in_tick: u64,
}

/// How a followed socket is told apart from the others.
///
/// A connected socket is unique by its 4-tuple; its inode is 0 until
/// accept() and after close(), and TIME_WAIT has its own, so the inode is
/// no part of a connection's identity. Sockets with no peer (LISTEN, or bound
/// but not connected) share the 4-tuple when several are bound with
/// SO_REUSEPORT, and always have a file: their inode tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FollowKey {
    local: SocketAddr,
    remote: SocketAddr,
    unconnected_inode: u64,
}

impl FollowKey {
    fn of(record: &SocketRecord) -> FollowKey {
        let unconnected = record.remote.port() == 0;
        FollowKey {
            local: record.local,
            remote: record.remote,
            unconnected_inode: if unconnected { record.inode } else { 0 },
        }
    }
}

/// Follows connections by 4-tuple (plus inode to notice reuse, and to tell
/// SO_REUSEPORT listeners apart).
#[derive(Debug, Clone)]
pub(crate) struct TransitionTracker {
    followed: HashMap<FollowKey, Followed>,
    log: VecDeque<Transition>,
    log_capacity: usize,
    max_followed: usize,
    tick: u64,
    primed: bool,
    /// True when some connections were not followed because of the cap.
    pub truncated: bool,
}

impl Default for TransitionTracker {
    fn default() -> Self {
        TransitionTracker::new(DEFAULT_LOG_CAPACITY, DEFAULT_MAX_FOLLOWED)
    }
}

impl TransitionTracker {
    pub fn new(log_capacity: usize, max_followed: usize) -> TransitionTracker {
        TransitionTracker {
            followed: HashMap::new(),
            log: VecDeque::with_capacity(log_capacity.min(1024)),
            log_capacity,
            max_followed,
            tick: 0,
            primed: false,
            truncated: false,
        }
    }

    /// The logged changes, oldest first.
    #[cfg(test)]
    pub fn log(&self) -> impl DoubleEndedIterator<Item = &Transition> + ExactSizeIterator {
        self.log.iter()
    }

    /// How many connections are followed (kept between ticks).
    #[cfg(test)]
    pub(crate) fn followed_count(&self) -> usize {
        self.followed.len()
    }

    #[cfg(test)]
    pub(crate) fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Compares the next snapshot's sockets (LISTEN excluded or not, as the
    /// caller likes) with the previous ones and returns the new transitions.
    /// The first call only learns the table: nothing "appears" at start-up.
    /// Follows a snapshot's listeners and sockets (listener ports decide
    /// which side is the server).
    pub(crate) fn observe_snapshot(&mut self, snapshot: &Snapshot) -> Vec<Transition> {
        let listener_ports: Vec<u16> = snapshot.listeners.iter().map(|l| l.local.port()).collect();
        self.observe(
            snapshot.listeners.iter().chain(snapshot.sockets.iter()),
            &listener_ports,
            snapshot.taken_at_ms,
        )
    }

    pub(crate) fn observe<'a>(
        &mut self,
        sockets: impl IntoIterator<Item = &'a SocketRecord>,
        listener_ports: &[u16],
        now_ms: u64,
    ) -> Vec<Transition> {
        self.tick += 1;
        let tick = self.tick;
        let mut new = Vec::new();
        for record in sockets {
            let key = FollowKey::of(record);
            let server_side = listener_ports.contains(&record.local.port());
            match self.followed.get_mut(&key) {
                Some(followed) => {
                    let reused = is_new_connection(followed, record);
                    if reused {
                        new.push(gone(key, followed, now_ms));
                        *followed = start_following(record, now_ms, tick, server_side);
                        new.push(appeared(key, record, server_side, now_ms));
                        continue;
                    }
                    followed.seen_in_tick = tick;
                    followed.inode = if record.inode != 0 {
                        record.inode
                    } else {
                        followed.inode
                    };
                    if followed.state != record.state {
                        let from = followed.state;
                        new.push(Transition {
                            at_ms: now_ms,
                            local: key.local,
                            remote: key.remote,
                            change: Change::Moved {
                                from,
                                to: record.state,
                                skipped: skipped_between(from, record.state),
                            },
                            after_ms: Some(now_ms.saturating_sub(followed.since_ms)),
                            cause: move_cause(
                                from,
                                record.state,
                                followed.server_side,
                                record.inode != 0,
                            ),
                        });
                        followed.state = record.state;
                        followed.since_ms = now_ms;
                    } else if record.state == TcpState::SynSent
                        && record.timer == TimerKind::Retransmit
                        && record.retransmits > followed.retransmits
                    {
                        new.push(Transition {
                            at_ms: now_ms,
                            local: key.local,
                            remote: key.remote,
                            change: Change::SynRetransmit {
                                count: record.retransmits,
                                next_retry_ms: record.timer_expires_ms,
                            },
                            after_ms: None,
                            cause: SYN_RETRANSMIT_CAUSE,
                        });
                    }
                    followed.retransmits = record.retransmits;
                }
                None => {
                    if self.followed.len() >= self.max_followed {
                        self.truncated = true;
                        continue;
                    }
                    self.followed
                        .insert(key, start_following(record, now_ms, tick, server_side));
                    if self.primed {
                        new.push(appeared(key, record, server_side, now_ms));
                    }
                }
            }
        }
        let mut vanished = Vec::new();
        self.followed.retain(|key, followed| {
            let still_there = followed.seen_in_tick == tick;
            if !still_there {
                vanished.push(gone(*key, followed, now_ms));
            }
            still_there
        });
        release_slack(&mut self.followed);
        vanished.sort_by_key(|t| (t.local, t.remote));
        new.extend(vanished);
        self.primed = true;
        // A capacity of 0 keeps no log (the pipeline hands each tick's
        // changes on instead); the log never outgrows its capacity.
        if self.log_capacity > 0 {
            for transition in &new {
                while self.log.len() >= self.log_capacity {
                    self.log.pop_front();
                }
                self.log.push_back(transition.clone());
            }
        }
        new
    }
}

fn start_following(record: &SocketRecord, now_ms: u64, tick: u64, server_side: bool) -> Followed {
    Followed {
        state: record.state,
        inode: record.inode,
        since_ms: now_ms,
        retransmits: record.retransmits,
        server_side,
        seen_in_tick: tick,
    }
}

/// The same 4-tuple now carries a different connection: both inodes known and
/// different, or a state that cannot follow the old one (e.g. TIME_WAIT →
/// SYN_SENT when a port is reused).
fn is_new_connection(followed: &Followed, record: &SocketRecord) -> bool {
    let different_inode =
        followed.inode != 0 && record.inode != 0 && followed.inode != record.inode;
    let restarted = matches!(record.state, TcpState::SynSent | TcpState::SynRecv)
        && !matches!(followed.state, TcpState::SynSent | TcpState::SynRecv);
    different_inode || restarted
}

fn appeared(key: FollowKey, record: &SocketRecord, server_side: bool, now_ms: u64) -> Transition {
    Transition {
        at_ms: now_ms,
        local: key.local,
        remote: key.remote,
        change: Change::Appeared(record.state),
        after_ms: None,
        cause: appear_cause(record.state, server_side, record.inode != 0),
    }
}

fn gone(key: FollowKey, followed: &Followed, now_ms: u64) -> Transition {
    Transition {
        at_ms: now_ms,
        local: key.local,
        remote: key.remote,
        change: Change::Gone(followed.state),
        after_ms: Some(now_ms.saturating_sub(followed.since_ms)),
        cause: gone_cause(followed.state),
    }
}

/// The usual lives of a connection, in order; used to name skipped states.
const LIVES: [&[TcpState]; 4] = [
    &[
        TcpState::SynSent,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
    ],
    &[
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
    ],
    &[
        TcpState::SynSent,
        TcpState::Established,
        TcpState::CloseWait,
        TcpState::LastAck,
    ],
    &[
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::CloseWait,
        TcpState::LastAck,
    ],
];

/// The states a connection must have passed through to get from `from` to
/// `to`, following the usual life that contains both in order.
pub(crate) fn skipped_between(from: TcpState, to: TcpState) -> Vec<TcpState> {
    for life in LIVES {
        let start = life.iter().position(|s| *s == from);
        let end = life.iter().position(|s| *s == to);
        if let (Some(start), Some(end)) = (start, end)
            && start < end
        {
            return life[start + 1..end].to_vec();
        }
    }
    Vec::new()
}

/// The cause label with this text, for transitions read back from a
/// recording; "state change" for a text this version does not know.
pub fn intern_cause(text: &str) -> &'static str {
    let candidates = TcpState::ALL.iter().flat_map(|from| {
        [(false, false), (false, true), (true, false), (true, true)]
            .into_iter()
            .flat_map(move |(server_side, has_file)| {
                let moves = TcpState::ALL
                    .iter()
                    .map(move |to| move_cause(*from, *to, server_side, has_file));
                moves.chain([
                    appear_cause(*from, server_side, has_file),
                    gone_cause(*from),
                ])
            })
    });
    candidates
        .chain([SYN_RETRANSMIT_CAUSE])
        .find(|cause| *cause == text)
        .unwrap_or("state change")
}

/// Why a connection is first seen in `state`. `has_file` is a non-zero
/// inode: on the server side, the connection has been accept()ed.
fn appear_cause(state: TcpState, server_side: bool, has_file: bool) -> &'static str {
    match state {
        TcpState::Listen => "listen()",
        TcpState::SynSent => "connect(): SYN sent",
        TcpState::SynRecv => "recv SYN, send SYN-ACK (kernel, no call)",
        TcpState::Established if server_side && has_file => {
            "handshake done and accept()ed between samples"
        }
        TcpState::Established if server_side => {
            "handshake done: waiting in the accept queue for accept()"
        }
        TcpState::Established => "connect() completed between samples",
        TcpState::FinWait1 | TcpState::FinWait2 => {
            "close() (the connection opened between samples)"
        }
        TcpState::CloseWait => "recv FIN: the peer closed",
        TcpState::LastAck => "close() after the peer closed",
        TcpState::Closing => "simultaneous close",
        TcpState::TimeWait => "this side closed first (the whole life passed between samples)",
        TcpState::Close => "socket() + bind(), not yet listen() or connect()",
    }
}

fn move_cause(from: TcpState, to: TcpState, server_side: bool, has_file: bool) -> &'static str {
    use TcpState::*;
    match (from, to) {
        (SynSent, Established) => "recv SYN-ACK, send ACK: connect() returns",
        (SynRecv, Established) if server_side && has_file => {
            "recv ACK: queued, and accept()ed between samples"
        }
        (SynRecv, Established) if server_side => "recv ACK: queued for accept()",
        (SynRecv, Established) => "recv ACK",
        (SynSent, SynRecv) => "simultaneous open",
        (Established, FinWait1) | (SynRecv, FinWait1) => "close(): send FIN",
        (Established, CloseWait) => "recv FIN: the peer closed (no call)",
        (FinWait1, FinWait2) => "recv ACK of our FIN (no call)",
        (FinWait1, Closing) => "recv FIN while ours is unacknowledged: simultaneous close",
        (FinWait1, TimeWait) | (FinWait2, TimeWait) => "recv FIN, send ACK: 2MSL wait (60 s)",
        (Closing, TimeWait) => "recv ACK of our FIN: 2MSL wait (60 s)",
        (CloseWait, LastAck) => "close(): send FIN",
        (Established, FinWait2) => "close(): send FIN, recv its ACK (no call)",
        (Established, TimeWait) => "close() first, then the peer's FIN: 2MSL wait (60 s)",
        (Established, LastAck) => "recv FIN, then close()",
        (Close, Listen) => "listen()",
        (Close, SynSent) => "connect()",
        _ => "state change",
    }
}

fn gone_cause(state: TcpState) -> &'static str {
    match state {
        TcpState::TimeWait => "2MSL timer expired (60 s)",
        TcpState::LastAck => "recv ACK of our FIN",
        TcpState::SynSent => {
            "connect() failed: RST (refused) or timed out, or the socket was closed"
        }
        TcpState::SynRecv => "handshake never completed, or completed and accepted between samples",
        TcpState::FinWait2 => {
            "orphan timeout (net.ipv4.tcp_fin_timeout) or the peer's FIN between samples"
        }
        TcpState::Listen => "close() on the listener",
        TcpState::Established | TcpState::CloseWait => "RST, or close() between samples",
        _ => "closed",
    }
}

#[cfg(test)]
mod log_bound_tests {
    use super::*;
    use crate::collect::scenarios::listen_one_script;

    #[test]
    fn a_tracker_with_no_log_capacity_keeps_no_log() {
        let mut tracker = TransitionTracker::new(0, 1_000);
        let mut changes = 0;
        for snapshot in listen_one_script(0, 6) {
            changes += tracker.observe_snapshot(&snapshot).len();
        }
        assert!(changes > 0, "the script changes connections");
        assert_eq!(tracker.log().len(), 0, "no log kept: memory stays flat");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    const CLIENT: &str = "127.0.0.1:53356";
    const SERVER: &str = "127.0.0.1:10000";

    fn client(state: TcpState, inode: u64) -> SocketRecord {
        SocketRecord {
            inode,
            ..record(state, CLIENT, SERVER)
        }
    }

    fn server(state: TcpState, inode: u64) -> SocketRecord {
        SocketRecord {
            inode,
            ..record(state, SERVER, CLIENT)
        }
    }

    fn kinds(transitions: &[Transition]) -> Vec<String> {
        transitions
            .iter()
            .map(|t| format!("{} {:?}", t.local.port(), t.change))
            .collect()
    }

    #[test]
    fn a_normal_open_and_close_is_logged_step_by_step_with_causes() {
        let mut tracker = TransitionTracker::default();
        let ports = [10000];
        assert!(tracker.observe(&[], &ports, 0).is_empty());
        let t = tracker.observe(&[client(TcpState::SynSent, 7)], &ports, 1000);
        assert_eq!(t[0].change, Change::Appeared(TcpState::SynSent));
        assert_eq!(t[0].cause, "connect(): SYN sent");

        let t = tracker.observe(
            &[
                client(TcpState::Established, 7),
                server(TcpState::Established, 0),
            ],
            &ports,
            2000,
        );
        assert_eq!(t.len(), 2, "{:?}", kinds(&t));
        assert!(
            t[0].describe().contains("SYN_SENT → ESTABLISHED (+1.0 s)"),
            "{}",
            t[0].describe()
        );
        assert!(t[1].cause.contains("accept queue"), "{}", t[1].cause);

        let t = tracker.observe(
            &[
                client(TcpState::FinWait2, 7),
                server(TcpState::CloseWait, 9),
            ],
            &ports,
            3000,
        );
        assert_eq!(
            t[0].change,
            Change::Moved {
                from: TcpState::Established,
                to: TcpState::FinWait2,
                skipped: vec![TcpState::FinWait1]
            }
        );
        assert_eq!(t[1].cause, "recv FIN: the peer closed (no call)");

        let t = tracker.observe(&[client(TcpState::TimeWait, 0)], &ports, 4000);
        assert_eq!(t[0].cause, "recv FIN, send ACK: 2MSL wait (60 s)");
        assert_eq!(
            t[1].change,
            Change::Gone(TcpState::CloseWait),
            "the server went via LAST_ACK between samples"
        );

        let t = tracker.observe(&[], &ports, 64_000);
        assert_eq!(t[0].change, Change::Gone(TcpState::TimeWait));
        assert_eq!(t[0].after_ms, Some(60_000));
        assert_eq!(tracker.log().len(), 8);
    }

    #[test]
    fn a_jump_over_states_says_what_was_skipped() {
        assert_eq!(
            skipped_between(TcpState::Established, TcpState::TimeWait),
            vec![TcpState::FinWait1, TcpState::FinWait2]
        );
        assert_eq!(
            skipped_between(TcpState::SynSent, TcpState::CloseWait),
            vec![TcpState::Established]
        );
        assert!(skipped_between(TcpState::TimeWait, TcpState::SynSent).is_empty());
        let mut tracker = TransitionTracker::default();
        tracker.observe(&[client(TcpState::Established, 7)], &[], 0);
        let t = tracker.observe(&[client(TcpState::TimeWait, 0)], &[], 1000);
        assert!(
            t[0].describe()
                .contains("passed FIN_WAIT1, FIN_WAIT2 between samples"),
            "{}",
            t[0].describe()
        );
    }

    #[test]
    fn a_reused_tuple_is_a_new_connection() {
        let mut tracker = TransitionTracker::default();
        tracker.observe(&[client(TcpState::Established, 7)], &[], 0);
        let t = tracker.observe(&[client(TcpState::Established, 8)], &[], 1000);
        assert_eq!(
            kinds(&t),
            vec!["53356 Gone(Established)", "53356 Appeared(Established)"]
        );
        tracker.observe(&[client(TcpState::TimeWait, 0)], &[], 2000);
        let t = tracker.observe(&[client(TcpState::SynSent, 9)], &[], 3000);
        assert_eq!(
            kinds(&t),
            vec!["53356 Gone(TimeWait)", "53356 Appeared(SynSent)"]
        );
    }

    #[test]
    fn reuseport_listeners_on_one_address_are_two_sockets_not_phantom_events() {
        let mut tracker = TransitionTracker::default();
        let first = SocketRecord {
            inode: 501,
            ..record(TcpState::Listen, "127.0.0.1:18082", "0.0.0.0:0")
        };
        let second = SocketRecord {
            inode: 502,
            ..first
        };
        for tick in 0..8u64 {
            let order = if tick % 2 == 0 {
                [first, second]
            } else {
                [second, first]
            };
            let t = tracker.observe(&order, &[18082], tick * 250);
            assert!(t.is_empty(), "tick {tick}: {:?}", kinds(&t));
        }
        let t = tracker.observe(&[first], &[18082], 3000);
        assert_eq!(kinds(&t), vec!["18082 Gone(Listen)"], "one closed");
    }

    #[test]
    fn a_connection_accepted_at_once_is_not_said_to_wait_for_accept() {
        let mut tracker = TransitionTracker::default();
        tracker.observe(&[], &[10000], 0);
        let t = tracker.observe(&[server(TcpState::Established, 77)], &[10000], 1000);
        assert_eq!(t[0].cause, "handshake done and accept()ed between samples");
        let mut tracker = TransitionTracker::default();
        tracker.observe(&[], &[10000], 0);
        let t = tracker.observe(&[server(TcpState::Established, 0)], &[10000], 1000);
        assert!(t[0].cause.contains("waiting in the accept queue"), "{t:?}");
    }

    #[test]
    fn syn_retransmits_are_logged_with_the_next_retry() {
        let mut tracker = TransitionTracker::default();
        let mut syn = client(TcpState::SynSent, 7);
        syn.timer = TimerKind::Retransmit;
        tracker.observe(&[syn], &[], 0);
        syn.retransmits = 1;
        syn.timer_expires_ms = 1900;
        let t = tracker.observe(&[syn], &[], 1100);
        assert_eq!(
            t[0].change,
            Change::SynRetransmit {
                count: 1,
                next_retry_ms: 1900
            }
        );
        assert!(
            t[0].describe()
                .contains("SYN retransmit #1, next retry in 1.9 s"),
            "{}",
            t[0].describe()
        );
        assert!(
            tracker.observe(&[syn], &[], 2000).is_empty(),
            "same count: nothing new"
        );
    }

    #[test]
    fn the_log_and_the_followed_set_stay_bounded() {
        let mut tracker = TransitionTracker::new(3, 2);
        tracker.observe(&[], &[], 0);
        let sockets: Vec<SocketRecord> = (1..=5u16)
            .map(|i| {
                record(
                    TcpState::Established,
                    &format!("127.0.0.1:{}", 40000 + i),
                    SERVER,
                )
            })
            .collect();
        tracker.observe(&sockets, &[], 1000);
        assert!(tracker.truncated);
        assert_eq!(tracker.log().len(), 2);
        tracker.observe(&[], &[], 2000);
        assert_eq!(tracker.log().len(), 3, "capped");
        tracker.clear_log();
        assert_eq!(tracker.log().len(), 0);
    }
}
