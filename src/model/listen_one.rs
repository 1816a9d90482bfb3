//! The write-up's experiment as the kernel reports it, for tests: a server
//! on 127.0.0.1:10000 called listen(1) and never accept()s, and clients on
//! 127.0.0.1:40001… connect to it. listen(1) holds two connections, so the
//! queue is `2/1 FULL`; later clients wait in SYN_SENT, retrying, or (on
//! some kernels) show ESTABLISHED while the server holds them in SYN_RECV.
//! The one builder of this scene: unit tests, the scripted scenarios and
//! the screen tests all start from it.
//!
//! Owns: `ListenOne`. Must not: ship outside tests (`test-support`).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{ProcessInfo, Snapshot, SocketRecord, SourceKind, TcpState, TimerKind};

/// The listening socket's address.
pub const SERVER: &str = "127.0.0.1:10000";
/// The listening socket's inode (its owner is `python3`, pid 4242).
pub const SERVER_INODE: u64 = 1000;

/// How many clients stand where, and how long they have waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenOne {
    /// Handshakes completed into the accept queue: ESTABLISHED at both
    /// ends; the server's end has no inode (nobody accept()ed it).
    pub queued: u16,
    /// ESTABLISHED on the client while the server still holds them in
    /// SYN_RECV (their final ACK met a full queue).
    pub half_open: u16,
    /// Clients in SYN_SENT, retrying their SYN.
    pub waiting: u16,
    /// Seconds since the clients connected: the waiting ones have retried
    /// about once a second (at most 4 times).
    pub seconds: u64,
}

impl ListenOne {
    /// The write-up's five clients: two in the queue, three in SYN_SENT.
    pub fn experiment() -> ListenOne {
        ListenOne {
            queued: 2,
            half_open: 0,
            waiting: 3,
            seconds: 0,
        }
    }

    /// The listener: queue `queued` against backlog 1.
    pub fn listener(&self) -> SocketRecord {
        SocketRecord {
            recv_queue: u32::from(self.queued),
            send_queue: 1,
            ..record(TcpState::Listen, SERVER, "0.0.0.0:0", SERVER_INODE)
        }
    }

    /// The connections: queued pairs (client end, then server end), then
    /// half-open pairs, then the waiting clients, on client ports 40001….
    pub fn sockets(&self) -> Vec<SocketRecord> {
        let mut sockets = Vec::new();
        let mut clients = (1u16..).map(|n| (n, format!("127.0.0.1:{}", 40_000 + n)));
        for (n, client) in clients.by_ref().take(usize::from(self.queued)) {
            sockets.push(record(
                TcpState::Established,
                &client,
                SERVER,
                client_inode(n),
            ));
            sockets.push(record(TcpState::Established, SERVER, &client, 0));
        }
        for (n, client) in clients.by_ref().take(usize::from(self.half_open)) {
            sockets.push(record(
                TcpState::Established,
                &client,
                SERVER,
                client_inode(n),
            ));
            sockets.push(record(TcpState::SynRecv, SERVER, &client, 0));
        }
        for (i, (n, client)) in clients.take(usize::from(self.waiting)).enumerate() {
            let retransmits =
                u8::try_from(self.seconds.saturating_sub(i as u64).min(4)).unwrap_or(4);
            sockets.push(SocketRecord {
                timer: TimerKind::Retransmit,
                retransmits,
                timer_expires_ms: (1000u32 << retransmits).saturating_sub(300 * (i as u32 + 1)),
                send_queue: 1,
                ..record(TcpState::SynSent, &client, SERVER, client_inode(n))
            });
        }
        sockets
    }

    /// Who owns what: the server is `python3` (4242), each client an `nc`.
    pub fn owners(&self) -> HashMap<u64, ProcessInfo> {
        let clients = self.queued + self.half_open + self.waiting;
        let mut owners: HashMap<u64, ProcessInfo> = (1..=clients)
            .map(|n| (client_inode(n), process(4300 + u32::from(n), "nc")))
            .collect();
        owners.insert(SERVER_INODE, process(4242, "python3"));
        owners
    }

    /// The scene alone, taken at `at_ms` by netlink.
    pub fn snapshot(&self, at_ms: u64) -> Snapshot {
        let mut snapshot = Snapshot::empty(at_ms, SourceKind::Netlink);
        snapshot.listeners.push(self.listener());
        snapshot.sockets = self.sockets();
        snapshot.owners = self.owners();
        snapshot
    }
}

fn client_inode(n: u16) -> u64 {
    2000 + u64::from(n)
}

fn process(pid: u32, name: &str) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: name.to_string(),
    }
}

/// A socket as sock_diag reports one on loopback (uid 1000, no timer, empty
/// queues); an unparsable address reads as 127.0.0.1:0. Shared with
/// `collect::scenarios`.
pub fn record(state: TcpState, local: &str, remote: &str, inode: u64) -> SocketRecord {
    let addr = |text: &str| {
        text.parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    };
    SocketRecord {
        state,
        local: addr(local),
        remote: addr(remote),
        recv_queue: 0,
        send_queue: 0,
        backlog_known: true,
        inode,
        uid: 1000,
        timer: TimerKind::None,
        timer_expires_ms: 0,
        retransmits: 0,
    }
}
