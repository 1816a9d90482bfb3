//! One socket as the kernel reported it, independent of where it came from.
//!
//! Owns: `SocketRecord`, `TimerKind`, `Family`. Must not: do any I/O or
//! interpret the record (aggregation lives in `aggregate`).

use std::net::SocketAddr;

use super::state::TcpState;

/// The timer that is pending on a socket (`idiag_timer` / the `tr` column of
/// /proc/net/tcp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimerKind {
    #[default]
    None,
    /// Retransmit timer: SYN retransmits for SYN_SENT, data otherwise.
    Retransmit,
    KeepAlive,
    /// TIME_WAIT expiry (TCP_TIMEWAIT_LEN, 60 s on Linux).
    TimeWait,
    /// Zero-window probe.
    Probe,
}

impl TimerKind {
    /// Decodes the kernel's timer code (same numbers in sock_diag and /proc).
    pub fn from_kernel(code: u8) -> TimerKind {
        match code {
            1 => TimerKind::Retransmit,
            4 => TimerKind::Probe,
            2 => TimerKind::KeepAlive,
            3 => TimerKind::TimeWait,
            _ => TimerKind::None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimerKind::None => "off",
            TimerKind::Retransmit => "on",
            TimerKind::KeepAlive => "keepalive",
            TimerKind::TimeWait => "timewait",
            TimerKind::Probe => "probe",
        }
    }
}

/// One TCP socket, exactly as the kernel described it. `Copy` and heap-free so
/// collectors can fill one per socket without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketRecord {
    pub state: TcpState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// LISTEN: connections waiting for accept(). Others: unread bytes.
    pub recv_queue: u32,
    /// LISTEN: the effective backlog (sock_diag only; 0 from /proc, where it is
    /// unknown: see `backlog_known`). Others: unacknowledged bytes.
    pub send_queue: u32,
    /// False when the source cannot report a listener's backlog (/proc).
    pub backlog_known: bool,
    pub inode: u64,
    pub uid: u32,
    pub timer: TimerKind,
    /// Time left on the timer in milliseconds (the raw `idiag_expires`).
    pub timer_expires_ms: u32,
    /// Retransmits so far (SYN retransmits for a SYN_SENT socket).
    pub retransmits: u8,
}

impl SocketRecord {
    /// For a LISTEN socket, the backlog if the source knows it.
    pub fn backlog(&self) -> Option<u32> {
        (self.state == TcpState::Listen && self.backlog_known).then_some(self.send_queue)
    }

    /// A compact identity for following a socket across snapshots.
    pub fn key(&self) -> SocketKey {
        SocketKey {
            local: self.local,
            remote: self.remote,
            inode: self.inode,
        }
    }
}

/// Identity of a socket across ticks: its 4-tuple plus inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketKey {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub inode: u64,
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Builders for records in tests.
    use super::*;

    pub fn record(state: TcpState, local: &str, remote: &str) -> SocketRecord {
        SocketRecord {
            state,
            local: local.parse().expect("test address"),
            remote: remote.parse().expect("test address"),
            recv_queue: 0,
            send_queue: 0,
            backlog_known: true,
            inode: 0,
            uid: 0,
            timer: TimerKind::None,
            timer_expires_ms: 0,
            retransmits: 0,
        }
    }

    pub fn listener(local: &str, queue: u32, backlog: u32) -> SocketRecord {
        let remote = if local.starts_with('[') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        SocketRecord {
            recv_queue: queue,
            send_queue: backlog,
            inode: 1000,
            ..record(TcpState::Listen, local, remote)
        }
    }
}
