//! What each TCP state means on Linux, who is in it, which socket call or
//! kernel event leads in and out, how long it lasts, and what many sockets
//! in it usually mean. Used by `tcpwatch explain` and the dashboard.
//!
//! Owns: the explanatory text, checked against the kernel facts in
//! KERNEL-FACTS.md. Must not: do I/O; callers print it.

use crate::model::TcpState;

/// The explanation of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateExplanation {
    pub state: TcpState,
    /// One line: what the state means.
    pub meaning: &'static str,
    /// Which side of the connection is in it.
    pub side: &'static str,
    /// The call or event that leads into it.
    pub entered_by: &'static str,
    /// The calls or events that lead out of it.
    pub left_by: &'static str,
    /// How long a socket normally stays.
    pub lasts: &'static str,
    /// What it usually means when many sockets sit in it.
    pub when_many: &'static str,
}

pub fn explain(state: TcpState) -> StateExplanation {
    let (meaning, side, entered_by, left_by, lasts, when_many) = match state {
        TcpState::Listen => (
            "waiting for connections; the kernel completes handshakes and queues them for accept()",
            "server",
            "listen() after bind() (an unbound socket gets a random port)",
            "close() on the listening socket",
            "until the application closes it",
            "one per listening socket is normal; what matters is its accept queue (Recv-Q) against its backlog (Send-Q): listen(N) holds N+1, then new SYNs are dropped",
        ),
        TcpState::SynSent => (
            "a SYN was sent and the client waits for the SYN-ACK",
            "client",
            "connect()",
            "SYN-ACK received → ESTABLISHED (the kernel sends the ACK, connect() returns); RST → gone (ECONNREFUSED); no answer → the SYN is retried, then connect() fails with ETIMEDOUT. Retries come 1, 2, 4, 8, 16 s apart on classic kernels (the write-up); Linux 6.x first retries every 1 s for net.ipv4.tcp_syn_linear_timeouts (4) tries, then doubles (2, 4, 8… s), up to net.ipv4.tcp_syn_retries",
            "one round trip normally; up to about 2 minutes when nothing answers",
            "the peer's accept queue is full (it drops SYNs without an RST), or a firewall drops them, or the peer is unreachable",
        ),
        TcpState::SynRecv => (
            "a SYN arrived and the kernel answered SYN-ACK; the half-open connection waits for the final ACK in the SYN queue",
            "server (no call involved: the kernel does this alone)",
            "a SYN received on a LISTEN socket",
            "the final ACK → ESTABLISHED in the accept queue; no ACK → SYN-ACK retried (net.ipv4.tcp_synack_retries), then dropped",
            "one round trip normally",
            "a SYN flood, or clients whose final ACK the kernel ignored because the accept queue was full: the client thinks it is ESTABLISHED while the server keeps retrying its SYN-ACK, and the client's first data is answered with an RST; syncookies (net.ipv4.tcp_syncookies) take over when the SYN queue is full",
        ),
        TcpState::Established => (
            "the connection is open and data flows both ways",
            "both",
            "client, from SYN_SENT: the SYN-ACK arrived (connect() returns); server, from SYN_RECV: the final ACK arrived, and the connection waits in the accept queue until accept() takes it (accept() does not change the state)",
            "close() or shutdown(SHUT_WR) → FIN_WAIT1; a FIN received → CLOSE_WAIT",
            "as long as the connection lives",
            "normal traffic; server-side sockets with no process (inode 0) are still in the accept queue: the application is not calling accept() fast enough",
        ),
        TcpState::FinWait1 => (
            "this side closed and sent a FIN, and waits for it to be acknowledged",
            "the side that closes first (the active closer)",
            "close() or shutdown(SHUT_WR) in ESTABLISHED: our FIN is sent",
            "ACK of the FIN → FIN_WAIT2; the peer's FIN at the same time → CLOSING; FIN and ACK together → TIME_WAIT",
            "one round trip normally",
            "the peer is not acknowledging: it is gone or unreachable, or unsent data is still queued ahead of the FIN",
        ),
        TcpState::FinWait2 => (
            "our FIN was acknowledged; we wait for the peer to close its side",
            "the active closer (the peer sits in CLOSE_WAIT meanwhile)",
            "the ACK of our FIN received in FIN_WAIT1 (no call involved)",
            "the peer's FIN → TIME_WAIT; an orphaned socket (already close()d) is dropped after net.ipv4.tcp_fin_timeout (60 s)",
            "until the peer calls close(); at most tcp_fin_timeout once this side has close()d",
            "the peers are not calling close(): look for CLOSE_WAIT on their side",
        ),
        TcpState::CloseWait => (
            "the peer closed its side (its FIN arrived, recv() returns 0), and this side has not closed yet",
            "the passive side",
            "the peer's FIN received in ESTABLISHED (no call involved: the kernel ACKs it)",
            "close() → LAST_ACK",
            "until the application calls close(): forever if it never does",
            "the application does not call close() after the peer hung up: a socket (and file descriptor) leak",
        ),
        TcpState::LastAck => (
            "the passive side closed after the peer did, and waits for the ACK of its FIN",
            "the passive side",
            "close() while in CLOSE_WAIT",
            "the ACK of our FIN → gone (CLOSED)",
            "one round trip normally",
            "the peer vanished before acknowledging; the FIN is being retransmitted",
        ),
        TcpState::Closing => (
            "both sides sent a FIN at the same time (simultaneous close), each waiting for the other's ACK",
            "both",
            "the peer's FIN received in FIN_WAIT1",
            "the ACK of our FIN → TIME_WAIT",
            "one round trip",
            "rare; many of them point at both ends closing at once under loss",
        ),
        TcpState::TimeWait => (
            "the connection is over; the 4-tuple is kept so late duplicate segments cannot hit a new connection (2MSL)",
            "the side that called close() first",
            "from FIN_WAIT2: the peer's FIN (our ACK sent); from CLOSING: the ACK of our FIN; from FIN_WAIT1: both in one segment",
            "the timer → gone (CLOSED): 60 s on Linux (TCP_TIMEWAIT_LEN, fixed; tcp_fin_timeout does not change it)",
            "exactly 60 s on Linux; the socket belongs to the kernel, no process owns it",
            "many short connections closed by this side; each keeps its local port, so a client can run out of ephemeral ports (ip_local_port_range) per destination; fix with keep-alive or connection pooling, let the other side close first, or net.ipv4.tcp_tw_reuse=1 for outgoing connections; beyond net.ipv4.tcp_max_tw_buckets the kernel skips TIME_WAIT (TCPTimeWaitOverflow)",
        ),
        TcpState::Close => (
            "no connection: a socket that is bound but neither listening nor connected, or one that has just been torn down",
            "either",
            "socket() + bind() without listen()/connect(), or the end of a connection: TIME_WAIT's timer, or the ACK that LAST_ACK waits for",
            "listen() → LISTEN; connect() → SYN_SENT; close() → gone",
            "until the application uses or closes the socket",
            "sockets created and bound but never used, or leaked after a failed connect()",
        ),
    };
    StateExplanation {
        state,
        meaning,
        side,
        entered_by,
        left_by,
        lasts,
        when_many,
    }
}

/// The explanation as a text block for a terminal.
pub(crate) fn explain_text(state: TcpState) -> String {
    let e = explain(state);
    format!(
        "{name}\n  what:        {meaning}\n  who:         {side}\n  enters by:   {entered}\n  leaves by:   {left}\n  lasts:       {lasts}\n  when many:   {many}\n  see it:      {see}\n",
        name = e.state.name(),
        meaning = e.meaning,
        side = e.side,
        entered = e.entered_by,
        left = e.left_by,
        lasts = e.lasts,
        many = e.when_many,
        see = see_it(state),
    )
}

/// Where to watch the state live. As root (exact kernel events), every
/// change into and out of it shows the moment the kernel makes it.
fn see_it(state: TcpState) -> String {
    let experiment = match state {
        TcpState::Listen | TcpState::SynSent | TcpState::SynRecv => {
            "`tcpwatch demo` steps 1-2 (listen(1), never accept(), 5 clients)"
        }
        TcpState::TimeWait | TcpState::FinWait1 | TcpState::FinWait2 => {
            "`tcpwatch demo` step 3 (short connections closed by the client)"
        }
        TcpState::CloseWait => "`tcpwatch demo` step 4 (a server that never calls close())",
        TcpState::Close => "`tcpwatch demo` step 5 (connect() to a closed port: the RST)",
        _ => "`tcpwatch demo`, or the dashboard's state diagram (d)",
    };
    let changes = match state {
        // The TIME_WAIT mini-socket expires without a tracepoint event.
        TcpState::TimeWait => {
            "each entry into TIME_WAIT (its end, a timer, has no event)".to_string()
        }
        other => format!("each change into and out of {}", other.name()),
    };
    format!(
        "{experiment}; as root (--events auto) {changes} is logged the moment the kernel makes it, to the microsecond (● seen), otherwise inferred from samples"
    )
}

/// The state diagram as text, each edge labelled with the call or event.
pub(crate) const DIAGRAM: &str = r#"TCP state diagram (Linux), each arrow labelled with the call or event that moves it

                              CLOSED
              connect() /              \ listen()
              send SYN v                v
             +---------------+     +--------------+
             |   SYN_SENT    |     |    LISTEN    |
             +---------------+     +--------------+
   recv SYN-ACK |                        | recv SYN (kernel alone)
   send ACK     |                        v send SYN-ACK
                |                  +--------------+
                |                  |   SYN_RECV   |  (SYN queue)
                |                  +--------------+
                |                        | recv ACK → accept queue
                v                        v
             +--------------------------------------+
             |             ESTABLISHED              |  accept() takes it from the queue
             +--------------------------------------+
       close() /                              \ recv FIN (no call)
      send FIN v                               v send ACK
       +-----------+                      +------------+
       | FIN_WAIT1 |                      | CLOSE_WAIT |  until the app calls close()
       +-----------+                      +------------+
  recv ACK |     \ recv FIN                     | close() / send FIN
           v      v send ACK                    v
   +-----------+ +---------+              +------------+
   | FIN_WAIT2 | | CLOSING |              |  LAST_ACK  |
   +-----------+ +---------+              +------------+
  recv FIN |          | recv ACK                | recv ACK
  send ACK v          v                         v
       +----------------+                    CLOSED
       |   TIME_WAIT    |  2MSL: 60 s on Linux
       +----------------+
                | timeout
                v
              CLOSED
"#;

/// One arrow of the state diagram: the call or kernel event that moves a
/// socket from `from` to `to`, in two short parts (what happens, what the
/// kernel sends back), as the dashboard's diagram labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiagramEdge {
    pub from: TcpState,
    pub to: TcpState,
    pub cause: &'static str,
    pub then: &'static str,
}

impl DiagramEdge {
    /// `recv SYN-ACK · send ACK`.
    pub fn label(&self) -> String {
        if self.then.is_empty() {
            self.cause.to_string()
        } else {
            format!("{} · {}", self.cause, self.then)
        }
    }
}

const fn edge(
    from: TcpState,
    to: TcpState,
    cause: &'static str,
    then: &'static str,
) -> DiagramEdge {
    DiagramEdge {
        from,
        to,
        cause,
        then,
    }
}

/// The arrows of the classic diagram (CLOSED stands for "no socket").
pub(crate) const EDGES: [DiagramEdge; 14] = [
    edge(TcpState::Close, TcpState::SynSent, "connect()", "send SYN"),
    edge(TcpState::Close, TcpState::Listen, "listen()", ""),
    edge(
        TcpState::Listen,
        TcpState::SynRecv,
        "recv SYN",
        "send SYN-ACK",
    ),
    edge(
        TcpState::SynSent,
        TcpState::Established,
        "recv SYN-ACK",
        "send ACK",
    ),
    edge(
        TcpState::SynRecv,
        TcpState::Established,
        "recv ACK",
        "→ accept queue",
    ),
    edge(
        TcpState::Established,
        TcpState::FinWait1,
        "close()",
        "send FIN",
    ),
    edge(
        TcpState::Established,
        TcpState::CloseWait,
        "recv FIN",
        "send ACK",
    ),
    edge(TcpState::FinWait1, TcpState::FinWait2, "recv ACK", ""),
    edge(
        TcpState::FinWait1,
        TcpState::Closing,
        "recv FIN",
        "send ACK",
    ),
    edge(
        TcpState::FinWait2,
        TcpState::TimeWait,
        "recv FIN",
        "send ACK",
    ),
    edge(TcpState::Closing, TcpState::TimeWait, "recv ACK", ""),
    edge(
        TcpState::CloseWait,
        TcpState::LastAck,
        "close()",
        "send FIN",
    ),
    edge(TcpState::TimeWait, TcpState::Close, "2MSL (60 s)", "timer"),
    edge(TcpState::LastAck, TcpState::Close, "recv ACK", ""),
];

/// What `accept()` does, which is not an arrow: it takes an ESTABLISHED
/// connection out of the accept queue and leaves its state alone.
pub(crate) const ACCEPT_NOTE: &str = "accept() takes it out of the accept queue; the state stays";

/// A state's name on the diagram: the kernel's names, but CLOSED for
/// "no connection", as the classic diagram has it.
pub(crate) fn diagram_name(state: TcpState) -> &'static str {
    match state {
        TcpState::Close => "CLOSED",
        other => other.name(),
    }
}

/// The edge from `from` to `to`, if the diagram has one.
#[cfg(test)]
pub(crate) fn edge_between(from: TcpState, to: TcpState) -> Option<&'static DiagramEdge> {
    EDGES.iter().find(|e| e.from == from && e.to == to)
}

/// The arrows into `state`.
pub(crate) fn edges_into(state: TcpState) -> impl Iterator<Item = &'static DiagramEdge> {
    EDGES.iter().filter(move |e| e.to == state)
}

/// The arrows out of `state`.
pub(crate) fn edges_out_of(state: TcpState) -> impl Iterator<Item = &'static DiagramEdge> {
    EDGES.iter().filter(move |e| e.from == state)
}

/// `tcpwatch explain` with no state: the diagram, then every state.
pub(crate) fn explain_all() -> String {
    let mut text = String::from(DIAGRAM);
    for state in TcpState::ALL {
        text.push('\n');
        text.push_str(&explain_text(state));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_card_says_where_to_see_the_state_and_what_events_show() {
        for state in TcpState::ALL {
            let text = explain_text(state);
            assert!(text.contains("  see it:      `tcpwatch demo`"), "{text}");
            assert!(text.contains("to the microsecond"), "{text}");
        }
        assert!(explain_text(TcpState::TimeWait).contains("its end, a timer, has no event"));
        assert!(explain_text(TcpState::Close).contains("the RST"));
    }

    #[test]
    fn every_state_has_a_full_explanation() {
        for state in TcpState::ALL {
            let e = explain(state);
            for field in [
                e.meaning,
                e.side,
                e.entered_by,
                e.left_by,
                e.lasts,
                e.when_many,
            ] {
                assert!(field.len() >= 4, "{state}: empty field");
            }
            assert!(explain_text(state).starts_with(state.name()));
        }
    }

    #[test]
    fn the_key_lessons_of_the_write_up_are_there() {
        assert!(explain(TcpState::CloseWait).when_many.contains("close()"));
        assert!(
            explain(TcpState::SynSent)
                .when_many
                .contains("accept queue is full")
        );
        assert!(explain(TcpState::TimeWait).lasts.contains("60 s"));
        assert!(explain(TcpState::Listen).when_many.contains("N+1"));
        assert!(
            explain(TcpState::SynSent)
                .left_by
                .contains("1, 2, 4, 8, 16")
        );
        assert!(explain(TcpState::SynRecv).side.contains("kernel"));
    }

    #[test]
    fn every_state_has_a_way_in_and_out_of_the_diagram() {
        for state in TcpState::ALL {
            assert!(edges_into(state).count() > 0, "{state}: no way in");
            assert!(edges_out_of(state).count() > 0, "{state}: no way out");
        }
        let open = edge_between(TcpState::SynSent, TcpState::Established).map(|e| e.label());
        assert_eq!(open.as_deref(), Some("recv SYN-ACK · send ACK"));
        assert!(DIAGRAM.contains("2MSL"));
        assert!(
            EDGES.iter().any(|e| e.cause.contains("2MSL (60 s)")),
            "TIME_WAIT's exit names 60 s"
        );
    }

    #[test]
    fn the_diagram_names_every_state() {
        let all = explain_all();
        for state in TcpState::ALL {
            if state != TcpState::Close {
                assert!(
                    DIAGRAM.contains(state.name()),
                    "{state} missing from the diagram"
                );
            }
            assert!(all.contains(state.name()));
        }
    }

    /// Every vertical line of the text diagram is a box wall (between two
    /// `+` corners) or an arrow that ends in `v`: no line joins two states
    /// without an arrowhead and a label.
    #[test]
    fn the_diagram_has_no_unlabelled_line() {
        let grid: Vec<Vec<char>> = DIAGRAM.lines().map(|l| l.chars().collect()).collect();
        let at = |row: usize, col: usize| grid.get(row).and_then(|l| l.get(col)).copied();
        for col in 0..grid.iter().map(Vec::len).max().unwrap_or(0) {
            let mut row = 0;
            while row < grid.len() {
                if at(row, col) != Some('|') {
                    row += 1;
                    continue;
                }
                let start = row;
                while at(row, col) == Some('|') {
                    row += 1;
                }
                let above = start.checked_sub(1).and_then(|r| at(r, col));
                let below = at(row, col);
                let wall = above == Some('+') && below == Some('+');
                let arrow = below == Some('v');
                assert!(
                    wall || arrow,
                    "column {col}, lines {start}..{row}: a line with no arrowhead ({above:?} above, {below:?} below)"
                );
                if arrow {
                    let label_near = (start..row).any(|r| {
                        grid[r]
                            .iter()
                            .skip(col + 1)
                            .any(|c| c.is_ascii_alphabetic())
                            || grid[r].iter().take(col).any(|c| c.is_ascii_alphabetic())
                    });
                    assert!(label_near, "column {col}: an arrow with no label");
                }
            }
        }
        // The line that ran from CLOSED straight into ESTABLISHED.
        let closed = DIAGRAM.lines().position(|l| l.trim() == "CLOSED").unwrap();
        let centre = DIAGRAM.lines().nth(closed).unwrap().find("CLOSED").unwrap() + 3;
        let established = DIAGRAM
            .lines()
            .position(|l| l.contains("ESTABLISHED"))
            .unwrap();
        for line in DIAGRAM.lines().take(established).skip(closed + 1) {
            assert_ne!(line.chars().nth(centre), Some('|'), "{line}");
        }
    }

    /// Each card's "enters by" names the states the diagram leads in from,
    /// and its "leaves by" names where the diagram leads out to.
    #[test]
    fn every_card_agrees_with_the_diagram_arrows() {
        for edge in EDGES {
            if edge.from != TcpState::Close {
                let entered = explain(edge.to).entered_by;
                assert!(
                    entered.contains(edge.from.name()),
                    "{}: 'enters by' should name {}: {entered}",
                    edge.to,
                    edge.from
                );
            }
            // A LISTEN socket stays in LISTEN: the SYN makes a new socket.
            if edge.from != TcpState::Listen {
                let left = explain(edge.from).left_by;
                let target = match edge.to {
                    TcpState::Close => "gone",
                    other => other.name(),
                };
                assert!(
                    left.contains(target),
                    "{}: 'leaves by' should name {target}: {left}",
                    edge.from
                );
            }
        }
    }

    /// TIME_WAIT entered from CLOSING takes the ACK of our FIN, as CLOSING's
    /// own card says, not the peer's FIN.
    #[test]
    fn time_wait_is_entered_from_closing_by_the_ack_of_our_fin() {
        let entered = explain(TcpState::TimeWait).entered_by;
        let from_closing = entered
            .split(';')
            .find(|part| part.contains("CLOSING"))
            .expect("TIME_WAIT names CLOSING");
        assert!(
            from_closing.contains("the ACK of our FIN"),
            "{from_closing}"
        );
        assert!(!from_closing.contains("peer's FIN"), "{from_closing}");
        assert!(
            explain(TcpState::Closing)
                .left_by
                .contains("the ACK of our FIN → TIME_WAIT")
        );
        let from_fin_wait2 = entered
            .split(';')
            .find(|p| p.contains("FIN_WAIT2"))
            .unwrap();
        assert!(
            from_fin_wait2.contains("the peer's FIN"),
            "{from_fin_wait2}"
        );
    }

    /// The facts of KERNEL-FACTS.md the cards state.
    #[test]
    fn the_cards_state_the_checked_kernel_facts() {
        let time_wait = explain(TcpState::TimeWait);
        assert!(
            time_wait.left_by.contains("60 s")
                && time_wait
                    .left_by
                    .contains("tcp_fin_timeout does not change it")
        );
        assert!(
            time_wait.when_many.contains("tcp_max_tw_buckets")
                && time_wait.when_many.contains("TCPTimeWaitOverflow")
        );
        assert!(
            explain(TcpState::FinWait2)
                .left_by
                .contains("tcp_fin_timeout")
        );
        assert!(
            explain(TcpState::SynSent)
                .left_by
                .contains("tcp_syn_linear_timeouts")
        );
        assert!(explain(TcpState::Established).when_many.contains("inode 0"));
        assert!(explain(TcpState::SynRecv).when_many.contains("RST"));
        assert!(
            explain(TcpState::Listen)
                .when_many
                .contains("listen(N) holds N+1")
        );
        assert!(explain(TcpState::CloseWait).lasts.contains("forever"));
    }
}
