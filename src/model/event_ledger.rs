//! Turns exact kernel events into what the user reads: one line per event
//! ("RST sent: SYN to 127.0.0.1:10002, no listener (connect() gets
//! ECONNREFUSED)"), and counters: RSTs per port, drops per reason and per
//! listener, SYN-ACK retransmits per listener.
//!
//! It remembers the sockets it has seen in events (by the kernel's socket
//! address) so that a drop naming `rx_sk`, or an RST answering a SYN, can be
//! tied to endpoints. Where the kernel names no socket, nothing is guessed
//! here: the line says the socket is unknown.
//!
//! Owns: `EventLedger`, `EventLine`, `EventCounts`. Must not: do I/O or read
//! the clock; memory stays bounded (capped socket memory).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use super::event::{EventKind, TcpEvent, drop_reason_words, rst_reason_words};
use super::state::TcpState;

/// Sockets remembered at most; beyond that the oldest half is forgotten.
pub const MAX_REMEMBERED_SOCKETS: usize = 100_000;

/// A socket seen in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KnownSocket {
    local: SocketAddr,
    remote: SocketAddr,
    state: TcpState,
    /// An RST was received on it, so a following CLOSE is the reset's.
    reset: bool,
    seen: u64,
}

/// One event as the user reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    pub event: TcpEvent,
    /// For a state change: (from, to) as the connection lives it. A full
    /// socket that the kernel hands to a TIME_WAIT mini-socket is reported by
    /// the tracepoint as `→ CLOSE`; here it reads `→ TIME_WAIT`.
    pub states: Option<(TcpState, TcpState)>,
    /// The port the event is counted under (the service's port).
    pub port: Option<u16>,
    /// The listener the event belongs to, when the kernel named it.
    pub listener: Option<SocketAddr>,
    pub text: String,
    /// For a state change: the call or segment behind it (also in `text`).
    pub cause: &'static str,
}

/// Counters since the ledger started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub rst_sent_by_port: BTreeMap<u16, u64>,
    pub rst_received_by_port: BTreeMap<u16, u64>,
    /// Drops per reason name, every drop the kernel reported with a TCP reason.
    pub drops_by_reason: BTreeMap<&'static str, u64>,
    /// Drops whose `rx_sk` is a known listener: exact attribution.
    pub drops_by_listener: BTreeMap<(SocketAddr, &'static str), u64>,
    /// Drops with no socket or a socket tcpwatch has not seen.
    pub drops_unattributed: u64,
    pub synack_retransmits_by_listener: BTreeMap<SocketAddr, u64>,
    /// Client SYNs sent again (tcp_retransmit_skb in SYN_SENT), per port.
    pub syn_retransmits_by_port: BTreeMap<u16, u64>,
    /// Samples the kernel lost (ring full, or counted and never written),
    /// or the reader could not hand on.
    /// Never hidden.
    pub lost: u64,
    /// Lines not shown because too many came between two ticks.
    pub lines_dropped: u64,
}

/// Follows events; see the module header.
#[derive(Debug, Clone, Default)]
pub struct EventLedger {
    ports: Vec<u16>,
    sockets: HashMap<u64, KnownSocket>,
    by_tuple: HashMap<(SocketAddr, SocketAddr), TcpState>,
    listeners: HashMap<u64, SocketAddr>,
    counter: u64,
    /// `CLOSE → SYN_SENT` events whose local port was not chosen yet,
    /// waiting for a later event of the same socket to name it.
    held_connects: Vec<TcpEvent>,
    pub counts: EventCounts,
}

/// How long a connect whose port is unknown waits for its socket's next
/// event (a SYN retransmit comes after 1 s) before it is shown with port 0.
pub const HOLD_CONNECT_US: u64 = 2_500_000;
/// Connects held at most.
const MAX_HELD_CONNECTS: usize = 10_000;

impl EventLedger {
    /// `ports`: the watched ports (empty: all).
    pub fn new(ports: &[u16]) -> EventLedger {
        EventLedger {
            ports: ports.to_vec(),
            ..EventLedger::default()
        }
    }

    /// Records samples the kernel lost.
    pub fn note_lost(&mut self, lost: u64) {
        self.counts.lost += lost;
    }

    /// Tells the ledger a listener's address, e.g. from a poll, so that
    /// events on its port count under it.
    pub fn is_watched(&self, port: u16) -> bool {
        self.ports.is_empty() || self.ports.contains(&port)
    }

    /// Takes a batch of events in time order. A client's `CLOSE → SYN_SENT`
    /// fires before connect() picks the local port; the port is filled in
    /// from the socket's next event in the batch.
    pub fn ingest_batch(&mut self, events: &mut [TcpEvent]) -> Vec<EventLine> {
        fill_connect_ports(events);
        let mut lines = Vec::new();
        // Held connects first: they happened before this batch.
        let held = std::mem::take(&mut self.held_connects);
        for mut connect in held {
            let named = events
                .iter()
                .filter(|later| later.sk == connect.sk)
                .find_map(|later| later.local.filter(|addr| addr.port() != 0));
            match named {
                Some(local) => {
                    connect.local = Some(local);
                    lines.extend(self.ingest(&connect));
                }
                None => self.held_connects.push(connect),
            }
        }
        for event in events.iter() {
            if is_unbound_connect(event) && self.held_connects.len() < MAX_HELD_CONNECTS {
                self.held_connects.push(*event);
            } else {
                lines.extend(self.ingest(event));
            }
        }
        lines
    }

    /// Shows the connects held longer than `HOLD_CONNECT_US` before `now_us`
    /// (their port stays unknown: no later event named it).
    pub fn flush_held(&mut self, now_us: u64) -> Vec<EventLine> {
        let (due, kept): (Vec<TcpEvent>, Vec<TcpEvent>) = std::mem::take(&mut self.held_connects)
            .into_iter()
            .partition(|e| e.at_us.saturating_add(HOLD_CONNECT_US) <= now_us);
        self.held_connects = kept;
        due.iter().filter_map(|event| self.ingest(event)).collect()
    }

    /// Takes one event (in time order). `None` when it is outside the
    /// watched ports.
    pub fn ingest(&mut self, event: &TcpEvent) -> Option<EventLine> {
        self.counter += 1;
        match event.kind {
            EventKind::StateChange { old, new } => self.state_change(event, old, new),
            EventKind::RstSent { reason, state } => {
                let (local, remote) = (event.local?, event.remote?);
                if !event.on_ports(&self.ports) {
                    return None;
                }
                let port = self.service_port(local, remote);
                *self.counts.rst_sent_by_port.entry(port).or_default() += 1;
                let unbound_peer = SocketAddr::new(remote.ip(), 0);
                let peer_state = self
                    .by_tuple
                    .get(&(remote, local))
                    .or_else(|| self.by_tuple.get(&(unbound_peer, local)))
                    .copied();
                let text = if state.is_none() && reason.name == "NO_SOCKET" {
                    if peer_state == Some(TcpState::SynSent) {
                        format!(
                            "RST sent: SYN to {local}, no listener (connect() gets ECONNREFUSED)"
                        )
                    } else {
                        format!(
                            "RST sent: segment from {remote} to {local}, no socket there (a SYN gets ECONNREFUSED; any other segment resets the sender's connection)"
                        )
                    }
                } else {
                    let in_state = state.map(|s| format!(" in {s}")).unwrap_or_default();
                    format!(
                        "RST sent by {local}{in_state} to {remote}: {} ({})",
                        reason.name,
                        rst_reason_words(reason.name)
                    )
                };
                Some(self.line(event, None, Some(port), None, text))
            }
            EventKind::RstReceived => {
                let (local, remote) = (event.local?, event.remote?);
                if !event.on_ports(&self.ports) {
                    return None;
                }
                let port = self.service_port(local, remote);
                *self.counts.rst_received_by_port.entry(port).or_default() += 1;
                let state = self.sockets.get_mut(&event.sk).map(|known| {
                    known.reset = true;
                    known.state
                });
                let consequence = match state {
                    Some(TcpState::SynSent) => " (connect() gets ECONNREFUSED)",
                    Some(TcpState::Established | TcpState::CloseWait) => {
                        " (the next read or write gets ECONNRESET)"
                    }
                    _ => "",
                };
                let in_state = state.map(|s| format!(" in {s}")).unwrap_or_default();
                let text = format!("RST received by {local}{in_state} from {remote}{consequence}");
                Some(self.line(event, None, Some(port), None, text))
            }
            EventKind::SynAckRetransmit => {
                let (local, remote) = (event.local?, event.remote?);
                if !event.on_ports(&self.ports) {
                    return None;
                }
                self.listeners.insert(event.sk, local);
                *self
                    .counts
                    .synack_retransmits_by_listener
                    .entry(local)
                    .or_default() += 1;
                let text = format!(
                    "SYN-ACK retransmit: listener {local} to {remote} (the client's final ACK has not arrived)"
                );
                Some(self.line(event, None, Some(local.port()), Some(local), text))
            }
            EventKind::Retransmit { state } => {
                let (local, remote) = (event.local?, event.remote?);
                if !event.on_ports(&self.ports) {
                    return None;
                }
                let port = self.service_port(local, remote);
                let text = if state == Some(TcpState::SynSent) {
                    *self.counts.syn_retransmits_by_port.entry(port).or_default() += 1;
                    format!(
                        "SYN retransmit: {local} → {remote} (no SYN-ACK yet: the SYN was lost or dropped, e.g. on a full accept queue)"
                    )
                } else {
                    let in_state = state.map(|s| format!(" in {s}")).unwrap_or_default();
                    format!("Retransmit: {local} → {remote}{in_state}")
                };
                Some(self.line(event, None, Some(port), None, text))
            }
            EventKind::Drop { reason, rx_sk } => {
                *self.counts.drops_by_reason.entry(reason.name).or_default() += 1;
                let listener = self.listeners.get(&rx_sk).copied();
                let known = self.sockets.get(&rx_sk).copied();
                let words = drop_reason_words(reason.name);
                let (port, text) = match (listener, known) {
                    (Some(listener), _) => {
                        *self
                            .counts
                            .drops_by_listener
                            .entry((listener, reason.name))
                            .or_default() += 1;
                        (
                            Some(listener.port()),
                            format!("Drop at listener {listener}: {} ({words})", reason.name),
                        )
                    }
                    (None, Some(socket)) => (
                        Some(self.service_port(socket.local, socket.remote)),
                        format!(
                            "Drop at {} → {}: {} ({words})",
                            socket.local, socket.remote, reason.name
                        ),
                    ),
                    (None, None) => {
                        self.counts.drops_unattributed += 1;
                        if !self.ports.is_empty() {
                            return None;
                        }
                        let whose = if rx_sk == 0 {
                            "no socket"
                        } else {
                            "a socket tcpwatch has not seen"
                        };
                        (None, format!("Drop ({whose}): {} ({words})", reason.name))
                    }
                };
                if let Some(port) = port
                    && !self.is_watched(port)
                {
                    return None;
                }
                let mut line = self.line(event, None, port, listener, text);
                if let Some(socket) = known {
                    line.event.local = Some(socket.local);
                    line.event.remote = Some(socket.remote);
                } else if let Some(listener) = listener {
                    line.event.local = Some(listener);
                }
                Some(line)
            }
        }
    }

    fn state_change(
        &mut self,
        event: &TcpEvent,
        old: TcpState,
        new: TcpState,
    ) -> Option<EventLine> {
        let (local, remote) = (event.local?, event.remote?);
        if !event.on_ports(&self.ports) {
            return None;
        }
        let previous = self.sockets.get(&event.sk).copied();
        let was_reset = previous.is_some_and(|p| p.reset);
        // The kernel moves a closing connection to a TIME_WAIT mini-socket
        // and reports the full socket's end as → CLOSE.
        let into_time_wait = new == TcpState::Close
            && matches!(
                old,
                TcpState::FinWait2 | TcpState::Closing | TcpState::FinWait1
            )
            && !was_reset;
        let shown_new = if into_time_wait {
            TcpState::TimeWait
        } else {
            new
        };
        if new == TcpState::Listen {
            self.listeners.insert(event.sk, local);
        }
        if new == TcpState::Close {
            self.sockets.remove(&event.sk);
            self.by_tuple.remove(&(local, remote));
            self.by_tuple
                .remove(&(SocketAddr::new(local.ip(), 0), remote));
            if old == TcpState::Listen {
                self.listeners.remove(&event.sk);
            }
        } else {
            self.remember(event.sk, local, remote, new);
        }
        let cause = cause_of(old, shown_new, was_reset);
        let shown_old = if old == TcpState::Listen && new == TcpState::SynRecv {
            // A child socket is born from its listener.
            None
        } else {
            Some(old)
        };
        let text = match shown_old {
            Some(old) => format!("{local} → {remote}  {old} → {shown_new}  {cause}"),
            None => format!("{local} → {remote}  new → {shown_new}  {cause}"),
        };
        let port = self.service_port(local, remote);
        let mut line = self.line(event, Some((old, shown_new)), Some(port), None, text);
        line.cause = cause;
        Some(line)
    }

    fn remember(&mut self, sk: u64, local: SocketAddr, remote: SocketAddr, state: TcpState) {
        if self.sockets.len() >= MAX_REMEMBERED_SOCKETS && !self.sockets.contains_key(&sk) {
            self.forget_oldest_half();
        }
        let reset = self.sockets.get(&sk).is_some_and(|s| s.reset);
        self.sockets.insert(
            sk,
            KnownSocket {
                local,
                remote,
                state,
                reset,
                seen: self.counter,
            },
        );
        self.by_tuple.insert((local, remote), state);
    }

    fn forget_oldest_half(&mut self) {
        let mut seen: Vec<u64> = self.sockets.values().map(|s| s.seen).collect();
        seen.sort_unstable();
        let cutoff = seen.get(seen.len() / 2).copied().unwrap_or(0);
        self.sockets.retain(|_, s| s.seen > cutoff);
        let kept: std::collections::HashSet<(SocketAddr, SocketAddr)> =
            self.sockets.values().map(|s| (s.local, s.remote)).collect();
        self.by_tuple.retain(|tuple, _| kept.contains(tuple));
    }

    /// The port an event counts under: a watched port, a known listener's
    /// port, or else the lower of the two (services usually sit below the
    /// ephemeral range).
    fn service_port(&self, local: SocketAddr, remote: SocketAddr) -> u16 {
        let (a, b) = (local.port(), remote.port());
        if !self.ports.is_empty() {
            return if self.ports.contains(&a) { a } else { b };
        }
        let listens = |port: u16| self.listeners.values().any(|l| l.port() == port);
        match (listens(a), listens(b)) {
            (true, _) => a,
            (false, true) => b,
            _ => a.min(b),
        }
    }

    fn line(
        &self,
        event: &TcpEvent,
        states: Option<(TcpState, TcpState)>,
        port: Option<u16>,
        listener: Option<SocketAddr>,
        text: String,
    ) -> EventLine {
        EventLine {
            event: *event,
            states,
            port,
            listener,
            text,
            cause: "",
        }
    }
}

fn is_unbound_connect(event: &TcpEvent) -> bool {
    event.local.is_some_and(|local| local.port() == 0)
        && matches!(
            event.kind,
            EventKind::StateChange {
                new: TcpState::SynSent,
                ..
            }
        )
}

/// Fills the local port of `CLOSE → SYN_SENT` events from the same socket's
/// next event in `events`.
fn fill_connect_ports(events: &mut [TcpEvent]) {
    for index in 0..events.len() {
        let event = events[index];
        let Some(local) = event.local else { continue };
        if local.port() != 0
            || !matches!(
                event.kind,
                EventKind::StateChange {
                    new: TcpState::SynSent,
                    ..
                }
            )
        {
            continue;
        }
        let bound = events[index + 1..]
            .iter()
            .filter(|later| later.sk == event.sk)
            .find_map(|later| later.local.filter(|addr| addr.port() != 0));
        if let Some(bound) = bound {
            events[index].local = Some(bound);
        }
    }
}

/// The socket call or segment behind an exact transition.
fn cause_of(old: TcpState, new: TcpState, reset: bool) -> &'static str {
    use TcpState::*;
    if reset && new == Close {
        return "recv RST";
    }
    if old == new {
        // tcp_close() on a socket already shut down for writing: the kernel
        // reports the state it keeps.
        return "close() after shutdown(): same state, now orphaned (no process holds it)";
    }
    match (old, new) {
        (Close, SynSent) => "connect(): send SYN",
        (Close, Listen) => "listen()",
        (Listen, SynRecv) => "recv final ACK: child socket created from the listener",
        (SynSent, Established) => "recv SYN-ACK, send ACK",
        (SynRecv, Established) => "handshake complete: queued for accept()",
        (Established, FinWait1) => "close() first: send FIN",
        (Established, CloseWait) => "recv FIN: waiting for the application's close()",
        (FinWait1, FinWait2) => "recv ACK of FIN",
        (FinWait1, Closing) => "recv FIN (simultaneous close)",
        (FinWait2 | Closing | FinWait1, TimeWait) => {
            "recv FIN, send ACK: TIME_WAIT for 60 s (held by a mini-socket)"
        }
        (CloseWait, LastAck) => "close(): send FIN",
        (LastAck, Close) => "recv ACK of FIN: gone",
        (Listen, Close) => "listener closed",
        (SynSent, Close) => "connect() failed",
        (Established | SynRecv, Close) => {
            "aborted: RST sent (close() with unread data, or its listener closed before accept())"
        }
        (_, Close) => "closed",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Reason;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("addr")
    }

    fn change(
        at_us: u64,
        sk: u64,
        local: &str,
        remote: &str,
        old: TcpState,
        new: TcpState,
    ) -> TcpEvent {
        TcpEvent {
            at_us,
            kind: EventKind::StateChange { old, new },
            local: Some(addr(local)),
            remote: Some(addr(remote)),
            cookie: None,
            sk,
        }
    }

    #[test]
    fn a_syn_to_a_closed_port_reads_as_refused() {
        use TcpState::*;
        let mut ledger = EventLedger::new(&[]);
        ledger.ingest(&change(
            1,
            7,
            "127.0.0.1:40000",
            "127.0.0.1:10002",
            Close,
            SynSent,
        ));
        let rst = TcpEvent {
            at_us: 2,
            kind: EventKind::RstSent {
                reason: Reason {
                    code: 1,
                    name: "NO_SOCKET",
                },
                state: None,
            },
            local: Some(addr("127.0.0.1:10002")),
            remote: Some(addr("127.0.0.1:40000")),
            cookie: None,
            sk: 0,
        };
        let line = ledger.ingest(&rst).expect("line");
        assert_eq!(
            line.text,
            "RST sent: SYN to 127.0.0.1:10002, no listener (connect() gets ECONNREFUSED)"
        );
        assert_eq!(ledger.counts.rst_sent_by_port.get(&10002), Some(&1));
    }

    #[test]
    fn a_connect_gets_its_port_from_the_next_event_of_its_socket() {
        use TcpState::*;
        let mut events = vec![
            change(1, 7, "127.0.0.1:0", "127.0.0.1:80", Close, SynSent),
            change(2, 9, "127.0.0.1:5555", "127.0.0.1:81", SynSent, Established),
            change(
                3,
                7,
                "127.0.0.1:40000",
                "127.0.0.1:80",
                SynSent,
                Established,
            ),
        ];
        let mut ledger = EventLedger::new(&[80]);
        let lines = ledger.ingest_batch(&mut events);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].event.local, Some(addr("127.0.0.1:40000")));
        assert!(
            lines[0]
                .text
                .starts_with("127.0.0.1:40000 → 127.0.0.1:80  CLOSE → SYN_SENT")
        );
        // A connect whose socket says nothing more in its batch waits for
        // the next batch, then for its time.
        let mut first = vec![change(10, 8, "127.0.0.1:0", "127.0.0.1:80", Close, SynSent)];
        assert!(ledger.ingest_batch(&mut first).is_empty());
        let mut second = vec![TcpEvent {
            at_us: 1_000_010,
            kind: EventKind::Retransmit {
                state: Some(SynSent),
            },
            local: Some(addr("127.0.0.1:40001")),
            remote: Some(addr("127.0.0.1:80")),
            cookie: None,
            sk: 8,
        }];
        let lines = ledger.ingest_batch(&mut second);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].event.local, Some(addr("127.0.0.1:40001")));
        assert_eq!(lines[0].event.at_us, 10);
        let mut lonely = vec![change(20, 9, "127.0.0.1:0", "127.0.0.1:80", Close, SynSent)];
        assert!(ledger.ingest_batch(&mut lonely).is_empty());
        assert!(ledger.flush_held(1_000_000).is_empty());
        assert_eq!(ledger.flush_held(20 + HOLD_CONNECT_US).len(), 1);
    }

    #[test]
    fn fin_wait2_to_close_without_a_reset_is_time_wait() {
        use TcpState::*;
        let mut ledger = EventLedger::new(&[10000]);
        let c = "127.0.0.1:40000";
        let s = "127.0.0.1:10000";
        let line = ledger
            .ingest(&change(1, 7, c, s, FinWait2, Close))
            .expect("line");
        assert_eq!(line.states, Some((FinWait2, TimeWait)));
        // After an RST the CLOSE stays a CLOSE.
        ledger.ingest(&change(2, 8, c, s, Close, SynSent));
        ledger.ingest(&change(3, 8, c, s, SynSent, Established));
        ledger.ingest(&change(4, 8, c, s, Established, FinWait1));
        ledger.ingest(&TcpEvent {
            at_us: 5,
            kind: EventKind::RstReceived,
            local: Some(addr(c)),
            remote: Some(addr(s)),
            cookie: Some(9),
            sk: 8,
        });
        let closed = ledger
            .ingest(&change(6, 8, c, s, FinWait1, Close))
            .expect("line");
        assert_eq!(closed.states, Some((FinWait1, Close)));
        assert!(closed.text.contains("recv RST"), "{}", closed.text);
    }

    #[test]
    fn drops_on_a_known_listener_are_attributed_and_others_are_not() {
        let mut ledger = EventLedger::new(&[]);
        ledger.ingest(&TcpEvent {
            at_us: 1,
            kind: EventKind::SynAckRetransmit,
            local: Some(addr("127.0.0.1:10000")),
            remote: Some(addr("127.0.0.1:50000")),
            cookie: None,
            sk: 0xabc,
        });
        let overflow = Reason {
            code: 40,
            name: "TCP_LISTEN_OVERFLOW",
        };
        let drop = |rx_sk| TcpEvent {
            at_us: 2,
            kind: EventKind::Drop {
                reason: overflow,
                rx_sk,
            },
            local: None,
            remote: None,
            cookie: None,
            sk: rx_sk,
        };
        let line = ledger.ingest(&drop(0xabc)).expect("line");
        assert_eq!(line.listener, Some(addr("127.0.0.1:10000")));
        assert!(
            line.text
                .starts_with("Drop at listener 127.0.0.1:10000: TCP_LISTEN_OVERFLOW")
        );
        let unknown = ledger.ingest(&drop(0)).expect("line");
        assert!(
            unknown.text.starts_with("Drop (no socket)"),
            "{}",
            unknown.text
        );
        assert_eq!(
            ledger.counts.drops_by_reason.get("TCP_LISTEN_OVERFLOW"),
            Some(&2)
        );
        assert_eq!(ledger.counts.drops_unattributed, 1);
        assert_eq!(
            ledger
                .counts
                .synack_retransmits_by_listener
                .get(&addr("127.0.0.1:10000")),
            Some(&1)
        );
    }

    #[test]
    fn events_off_the_watched_ports_are_left_out() {
        use TcpState::*;
        let mut ledger = EventLedger::new(&[80]);
        assert!(
            ledger
                .ingest(&change(
                    1,
                    1,
                    "127.0.0.1:4000",
                    "127.0.0.1:5000",
                    Close,
                    SynSent
                ))
                .is_none()
        );
        let mut unknown_drop = ledger.clone();
        let dropped = unknown_drop.ingest(&TcpEvent {
            at_us: 2,
            kind: EventKind::Drop {
                reason: Reason {
                    code: 3,
                    name: "NO_SOCKET",
                },
                rx_sk: 0,
            },
            local: None,
            remote: None,
            cookie: None,
            sk: 0,
        });
        assert!(dropped.is_none());
        assert_eq!(unknown_drop.counts.drops_unattributed, 1);
    }

    #[test]
    fn a_close_after_shutdown_keeps_its_state_and_says_so() {
        use TcpState::*;
        let mut ledger = EventLedger::new(&[]);
        let line = ledger
            .ingest(&change(
                1,
                7,
                "127.0.0.1:40000",
                "127.0.0.1:10000",
                FinWait2,
                FinWait2,
            ))
            .expect("line");
        assert_eq!(line.states, Some((FinWait2, FinWait2)));
        assert!(
            line.cause.starts_with("close() after shutdown()"),
            "{}",
            line.cause
        );
    }

    #[test]
    fn memory_stays_bounded() {
        use TcpState::*;
        let mut ledger = EventLedger::new(&[]);
        for sk in 0..(MAX_REMEMBERED_SOCKETS as u64 + 10) {
            let port = (sk % 60_000) as u16 + 1;
            ledger.ingest(&change(
                sk,
                sk + 1,
                &format!("10.0.0.1:{port}"),
                "10.0.0.2:80",
                Close,
                SynSent,
            ));
        }
        assert!(ledger.sockets.len() <= MAX_REMEMBERED_SOCKETS);
    }
}
