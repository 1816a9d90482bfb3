//! One sample of a network namespace's TCP tables, with the time it was taken
//! passed in by the caller.
//!
//! Owns: `Snapshot`, `SourceKind`, `ProcessInfo`, `Filter`. Must not: read the
//! clock or do I/O; everything here is filled in by `collect`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::address::{IpFamily, IpPrefix};
use super::counters::{Counters, Settings, Sockstat};
use super::socket::SocketRecord;
use super::state::{StateMask, TcpState};

/// Where the socket table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// sock_diag over netlink: complete, including each listener's backlog.
    Netlink,
    /// /proc/net/tcp{,6}: no backlog for listeners.
    Proc,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Netlink => "netlink",
            SourceKind::Proc => "proc",
        }
    }

    /// Whether this source can report a listener's backlog.
    pub fn knows_backlog(self) -> bool {
        self == SourceKind::Netlink
    }
}

/// The process that owns a socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessInfo {
    pub pid: u32,
    pub name: String,
}

/// What the user asked to see. A socket is seen when its state is in
/// `states`, either end's port is in `ports`, it is of `family`, and either
/// end's address is in one of `addrs` (each empty list meaning "any").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Empty means every port. Sorted and deduplicated when it comes from
    /// the command line; lists longer than [`LINEAR_PORT_SEARCH`] must be,
    /// as they are binary-searched.
    pub ports: Vec<u16>,
    pub states: StateMask,
    /// `-4` / `-6`; `None` for both.
    pub family: Option<IpFamily>,
    /// `--addr`: the local or the remote address lies in one of these.
    pub addrs: Vec<IpPrefix>,
}

/// Port lists up to this length are searched linearly, so small unsorted
/// lists built in code work; longer ones (ranges) must be sorted.
pub const LINEAR_PORT_SEARCH: usize = 32;

/// Whether `port` is in `ports` (see [`Filter::ports`] for the ordering rule).
pub fn port_listed(ports: &[u16], port: u16) -> bool {
    if ports.len() <= LINEAR_PORT_SEARCH {
        ports.contains(&port)
    } else {
        ports.binary_search(&port).is_ok()
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            ports: Vec::new(),
            states: StateMask::ALL,
            family: None,
            addrs: Vec::new(),
        }
    }
}

impl Filter {
    pub fn matches_port(&self, local: &SocketAddr, remote: &SocketAddr) -> bool {
        self.ports.is_empty()
            || port_listed(&self.ports, local.port())
            || port_listed(&self.ports, remote.port())
    }

    /// The family and address parts of the filter.
    pub fn matches_address(&self, local: &SocketAddr, remote: &SocketAddr) -> bool {
        self.family
            .is_none_or(|family| family == IpFamily::of(local))
            && (self.addrs.is_empty()
                || self.addrs.iter().any(|p| p.contains_either(local, remote)))
    }

    /// True when no socket can fail the filter (no port, state, family or
    /// address asked for).
    pub fn takes_all(&self) -> bool {
        self.ports.is_empty()
            && self.states.is_all()
            && self.family.is_none()
            && self.addrs.is_empty()
    }

    pub fn matches(&self, record: &SocketRecord) -> bool {
        self.states.contains(record.state)
            && self.matches_port(&record.local, &record.remote)
            && self.matches_address(&record.local, &record.remote)
    }

    /// The address prefixes a listener is kept for: the asked-for ones plus
    /// the wildcards, since a listener on 0.0.0.0 or :: serves them too.
    /// Empty when no address was asked for.
    pub fn listener_addrs(&self) -> Vec<IpPrefix> {
        if self.addrs.is_empty() {
            return Vec::new();
        }
        let mut addrs = self.addrs.clone();
        addrs.extend(IpPrefix::WILDCARDS);
        addrs
    }

    /// A short human description, e.g. `port 10000,22 · state ESTABLISHED`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.ports.is_empty() {
            parts.push(format!("port {}", describe_ports(&self.ports)));
        }
        if let Some(family) = self.family {
            parts.push(family.name().to_string());
        }
        if !self.addrs.is_empty() {
            let addrs: Vec<String> = self.addrs.iter().map(IpPrefix::to_string).collect();
            parts.push(format!("addr {}", addrs.join(",")));
        }
        if !self.states.is_all() {
            let states: Vec<&str> = TcpState::ALL
                .iter()
                .filter(|s| self.states.contains(**s))
                .map(|s| s.name())
                .collect();
            parts.push(format!("state {}", states.join(",")));
        }
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(" · ")
        }
    }
}

/// `22,80,10000-10010`: runs of consecutive ports shown as ranges, in the
/// order given.
pub fn describe_ports(ports: &[u16]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while let Some(&start) = ports.get(index) {
        let mut end = start;
        while ports
            .get(index + 1)
            .is_some_and(|next| Some(*next) == end.checked_add(1))
        {
            end += 1;
            index += 1;
        }
        parts.push(if end - start >= 2 {
            format!("{start}-{end}")
        } else if end > start {
            format!("{start},{end}")
        } else {
            start.to_string()
        });
        index += 1;
    }
    parts.join(",")
}

/// One sample of the watched namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When the sample was taken, in milliseconds since the Unix epoch.
    pub taken_at_ms: u64,
    /// How long taking it took.
    pub elapsed: Duration,
    pub source: SourceKind,
    /// Things the user should know about this sample, e.g. a fallback to /proc.
    pub notes: Vec<String>,
    /// What is being watched: "host", "pid 1234", "netns blue".
    pub namespace: String,
    pub filter: Filter,
    /// Every LISTEN socket on the filtered ports, whatever the state filter.
    pub listeners: Vec<SocketRecord>,
    /// The non-LISTEN sockets matching the filter: all of them when
    /// `sockets_complete`, else as many as the retention limit allows
    /// (TIME_WAIT dropped first). Counts never depend on it: a collector
    /// aggregates while the dump streams in (`Sampled`).
    pub sockets: Vec<SocketRecord>,
    /// False when the table was larger than what a snapshot keeps.
    pub sockets_complete: bool,
    /// How many non-LISTEN sockets matched the filter, kept or not.
    pub table_size: u64,
    pub counters: Counters,
    pub sockstat: Option<Sockstat>,
    pub settings: Settings,
    /// Socket inode → owning process, where it is known.
    pub owners: HashMap<u64, ProcessInfo>,
    /// False when other users' processes could not be inspected (not root),
    /// so a missing owner may just be invisible to us.
    pub owners_complete: bool,
}

impl Snapshot {
    /// An empty snapshot at a given time; collectors and tests fill it in.
    pub fn empty(taken_at_ms: u64, source: SourceKind) -> Snapshot {
        Snapshot {
            taken_at_ms,
            elapsed: Duration::ZERO,
            source,
            notes: Vec::new(),
            namespace: "host".to_string(),
            filter: Filter::default(),
            listeners: Vec::new(),
            sockets: Vec::new(),
            sockets_complete: true,
            table_size: 0,
            counters: Counters::default(),
            sockstat: None,
            settings: Settings::default(),
            owners: HashMap::new(),
            owners_complete: true,
        }
    }

    /// Why a socket shows no owning process, if it shows none.
    pub fn owner_of(&self, record: &SocketRecord) -> Result<&ProcessInfo, NoOwnerReason> {
        self.owner_of_inode(record.state, record.inode)
    }

    /// `owner_of` for a socket known by its state and inode.
    pub fn owner_of_inode(
        &self,
        state: TcpState,
        inode: u64,
    ) -> Result<&ProcessInfo, NoOwnerReason> {
        if inode == 0 {
            return Err(match state {
                TcpState::TimeWait => NoOwnerReason::TimeWait,
                TcpState::SynRecv => NoOwnerReason::HalfOpen,
                TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => {
                    NoOwnerReason::Orphan
                }
                _ => NoOwnerReason::NotAccepted,
            });
        }
        match self.owners.get(&inode) {
            Some(owner) => Ok(owner),
            None if !self.owners_complete => Err(NoOwnerReason::NotPermitted),
            None => Err(NoOwnerReason::Unknown),
        }
    }
}

/// Why no process is shown for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOwnerReason {
    /// Inode 0 on a server-side socket: it waits in the accept queue and no
    /// process has accept()ed it yet.
    NotAccepted,
    /// TIME_WAIT sockets belong to the kernel, not to a process.
    TimeWait,
    /// SYN_RECV: a request in the SYN queue, no socket for a process yet.
    HalfOpen,
    /// Inode 0 in a closing state: the process called close() and the
    /// kernel finishes the connection on its own (an orphan).
    Orphan,
    /// Another user's process, and we are not root.
    NotPermitted,
    /// Not looked up yet, or the process exited.
    Unknown,
}

impl NoOwnerReason {
    pub fn explain(self) -> &'static str {
        match self {
            NoOwnerReason::NotAccepted => "not accept()ed yet",
            NoOwnerReason::TimeWait => "kernel-owned (TIME_WAIT)",
            NoOwnerReason::HalfOpen => "in the SYN queue, no socket yet",
            NoOwnerReason::Orphan => "orphan: close()d, kernel-owned",
            NoOwnerReason::NotPermitted => "another user's (run as root to see)",
            NoOwnerReason::Unknown => "unknown",
        }
    }
}
