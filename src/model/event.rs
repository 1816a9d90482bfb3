//! Exact kernel events read from tracepoints: a state change, an RST sent or
//! received, a SYN-ACK retransmit, a dropped packet. Each carries the time
//! the kernel stamped it with, to the microsecond.
//!
//! Owns: `TcpEvent`, `EventKind`, `Reason`, the words that explain a reason.
//! Must not: do I/O or read the clock; the collector fills these in.

use std::net::SocketAddr;

use super::state::TcpState;

/// A kernel reason code and its name, as the tracepoint's format file names it
/// (`NO_SOCKET`, `TCP_STATE`, `TCP_LISTEN_OVERFLOW`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason {
    pub code: u32,
    /// `"UNKNOWN"` when the format file had no name for the code.
    pub name: &'static str,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `sock:inet_sock_set_state`.
    StateChange { old: TcpState, new: TcpState },
    /// `tcp:tcp_send_reset`: this host sent an RST. `state` is the socket's
    /// state, `None` when no socket matched the segment (`skaddr=(nil)`).
    RstSent {
        reason: Reason,
        state: Option<TcpState>,
    },
    /// `tcp:tcp_receive_reset`: a socket of this host received an RST.
    RstReceived,
    /// `tcp:tcp_retransmit_synack`: a listener resent a SYN-ACK (the
    /// client's final ACK has not arrived).
    SynAckRetransmit,
    /// `tcp:tcp_retransmit_skb`: a segment was sent again; in SYN_SENT it is
    /// the client's SYN (no SYN-ACK came back, e.g. the SYN was dropped).
    Retransmit { state: Option<TcpState> },
    /// `skb:kfree_skb` with a drop reason. `rx_sk` is the kernel's socket
    /// address (0: no socket), resolved to endpoints when tcpwatch has seen
    /// that socket in another event.
    Drop { reason: Reason, rx_sk: u64 },
}

/// One event, exact to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpEvent {
    /// Wall-clock time, microseconds since the epoch.
    pub at_us: u64,
    pub kind: EventKind,
    /// This host's end; `None` for a drop whose socket is not known.
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// The socket cookie (the `idiag_cookie` of sock_diag), when the
    /// tracepoint gives it (`tcp_receive_reset`).
    pub cookie: Option<u64>,
    /// The kernel's socket address (0: none). Used only to match events of
    /// the same socket; never shown.
    pub sk: u64,
}

impl TcpEvent {
    pub fn at_ms(&self) -> u64 {
        self.at_us / 1000
    }

    /// The stable name of the kind in JSON: `state`, `rst_sent`, `rst_received`,
    /// `synack_retransmit`, `drop`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            EventKind::StateChange { .. } => "state",
            EventKind::RstSent { .. } => "rst_sent",
            EventKind::RstReceived => "rst_received",
            EventKind::SynAckRetransmit => "synack_retransmit",
            EventKind::Retransmit { .. } => "retransmit",
            EventKind::Drop { .. } => "drop",
        }
    }

    /// True when one of the event's ports is in `ports` (empty: every port).
    pub fn on_ports(&self, ports: &[u16]) -> bool {
        if ports.is_empty() {
            return true;
        }
        [self.local, self.remote]
            .iter()
            .flatten()
            .any(|addr| ports.contains(&addr.port()))
    }
}

/// What an RST reason means for the applications, in a few words.
pub fn rst_reason_words(name: &str) -> &'static str {
    match name {
        "NO_SOCKET" => "no socket for the segment",
        "TCP_STATE" => {
            "the socket was closed in a state that must reset the peer (e.g. a listener closed with connections still in its queue)"
        }
        "TCP_ABORT_ON_CLOSE" => "close() with unread data in the receive queue",
        "TCP_ABORT_ON_LINGER" => "close() with SO_LINGER set to 0",
        "TCP_ABORT_ON_DATA" => "data arrived after the application closed the socket",
        "TCP_ABORT_ON_MEMORY" => "out of TCP memory for orphaned sockets",
        "TCP_KEEPALIVE_TIMEOUT" => "keepalive probes went unanswered",
        "TCP_DISCONNECT_WITH_DATA" => "connect(AF_UNSPEC) with data still queued",
        "TCP_TIMEWAIT_SOCKET" => "a segment hit a TIME_WAIT socket",
        "TCP_INVALID_ACK_SEQUENCE" => "an ACK for data never sent",
        "TCP_FLAGS" => "a segment with invalid flags",
        "INVALID_SYN" => "an unexpected SYN",
        _ => "see the kernel's enum sk_rst_reason",
    }
}

/// What a drop reason means, for the TCP reasons tcpwatch explains.
pub fn drop_reason_words(name: &str) -> &'static str {
    match name {
        "TCP_LISTEN_OVERFLOW" => "the listener's accept queue was full",
        "SOCKET_BACKLOG" => "the socket's backlog (owned by the application) was full",
        "NO_SOCKET" => "no socket for the packet",
        "TCP_RESET" => "an RST was received",
        "TCP_CLOSE" => "the socket was closed",
        "SOCKET_RCVBUFF" => "the receive buffer was full",
        "PROTO_MEM" => "TCP memory pressure",
        "TCP_OLD_DATA" => "a duplicate of data already received",
        "TCP_OVERWINDOW" => "data beyond the receive window",
        "TCP_ZEROWINDOW" => "data while the receive window was zero",
        "TCP_INVALID_SEQUENCE" | "TCP_OLD_SEQUENCE" => "a segment outside the window",
        _ => "see the kernel's enum skb_drop_reason",
    }
}
