//! Kernel I/O: the socket tables (sock_diag netlink, /proc/net/tcp), the
//! counters and sysctls, socket owners, and entering another network
//! namespace.
//!
//! Owns: reading the kernel. Must not: aggregate, decide what is wrong, or
//! draw; it hands `SocketRecord`s and `Snapshot`s to the model.

pub mod bytecode;
pub mod clock;
pub mod counters;
pub mod error;
pub mod events;
#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
pub(crate) mod fake_proc;
pub mod host;
pub(crate) mod huge_pages;
pub mod namespace;
pub mod namespaces;
pub mod netlink;
pub(crate) mod netlink_pipeline;
pub mod netlink_wire;
pub(crate) mod owner_scan;
pub mod owner_thread;
pub mod process;
pub mod procfs;
pub mod sample_loop;
pub mod sampler;
#[cfg(any(test, feature = "test-support"))]
pub mod scenarios;
pub mod schedule;
pub mod self_usage;
pub mod sysctl;
pub mod target_pin;

pub use error::CollectError;

use crate::model::snapshot::port_listed;
use crate::model::{Filter, IpFamily, IpPrefix, SocketRecord, SourceKind, StateMask};

/// What to ask the kernel for. Every part is pushed into the kernel where
/// the source allows it (netlink: the state mask, one family's walk, and a
/// bytecode program for ports and addresses); `admits` is the same test in
/// user space, for /proc and for programs too large for the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRequest {
    pub states: StateMask,
    /// "sport == P or dport == P" for each P, OR-ed. Empty: every port.
    pub ports: Vec<u16>,
    /// Only this family's sockets; `None`: both.
    pub family: Option<IpFamily>,
    /// "saddr or daddr in A" for each prefix A, OR-ed (only saddr when
    /// `addr_side` is `Local`). Empty: any address.
    pub addrs: Vec<IpPrefix>,
    pub addr_side: AddrSide,
}

/// Which end of a socket `DumpRequest::addrs` is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSide {
    /// The local or the remote address (connections).
    Either,
    /// The local address only (listeners, whose remote end is 0.0.0.0:0).
    Local,
}

impl DumpRequest {
    pub fn all() -> DumpRequest {
        DumpRequest {
            states: StateMask::ALL,
            ports: Vec::new(),
            family: None,
            addrs: Vec::new(),
            addr_side: AddrSide::Either,
        }
    }

    pub fn listeners(ports: &[u16]) -> DumpRequest {
        DumpRequest {
            states: StateMask::LISTEN_ONLY,
            ports: ports.to_vec(),
            ..DumpRequest::all()
        }
    }

    /// The LISTEN sockets `filter` keeps: on its ports, of its family, and
    /// bound to one of its addresses or to a wildcard address.
    pub fn listeners_for(filter: &Filter) -> DumpRequest {
        DumpRequest {
            states: StateMask::LISTEN_ONLY,
            ports: filter.ports.clone(),
            family: filter.family,
            addrs: filter.listener_addrs(),
            addr_side: AddrSide::Local,
        }
    }

    /// The sockets in `states` that `filter` keeps.
    pub fn table_for(filter: &Filter, states: StateMask) -> DumpRequest {
        DumpRequest {
            states,
            ports: filter.ports.clone(),
            family: filter.family,
            addrs: filter.addrs.clone(),
            addr_side: AddrSide::Either,
        }
    }

    /// The same request with its ports sorted and deduplicated, as
    /// `admits` needs for lists longer than `LINEAR_PORT_SEARCH`.
    pub fn with_sorted_ports(&self) -> DumpRequest {
        let mut sorted = self.clone();
        sorted.ports.sort_unstable();
        sorted.ports.dedup();
        sorted
    }

    /// Whether `record` is one of the sockets asked for. `ports` must be
    /// sorted when longer than `LINEAR_PORT_SEARCH` (see `with_sorted_ports`).
    pub fn admits(&self, record: &SocketRecord) -> bool {
        let (local, remote) = (&record.local, &record.remote);
        self.states.contains(record.state)
            && (self.ports.is_empty()
                || port_listed(&self.ports, local.port())
                || port_listed(&self.ports, remote.port()))
            && self
                .family
                .is_none_or(|family| family == IpFamily::of(local))
            && (self.addrs.is_empty()
                || self.addrs.iter().any(|a| match self.addr_side {
                    AddrSide::Either => a.contains_either(local, remote),
                    AddrSide::Local => a.contains(local.ip()),
                }))
    }
}

/// A table of TCP sockets that can be dumped. Implementations call `sink`
/// once per socket, reuse their buffers between calls, and allocate nothing
/// per socket.
pub trait SocketTable {
    fn kind(&self) -> SourceKind;

    /// Hands every socket matching `request` to `sink`, in the kernel's
    /// order. The sink may be called from another thread than the caller's
    /// (a big netlink dump is decoded beside the kernel's walk), one
    /// socket at a time, never after `dump` returns.
    fn dump(
        &mut self,
        request: &DumpRequest,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), CollectError>;

    /// About how many sockets the next walk of the table will hand over
    /// (sockstat's count), for a table that has not walked one yet: a big
    /// first walk can then be decoded beside the kernel's too (`--once`).
    fn expect_sockets(&mut self, _sockets: u64) {}
}

/// Where a dump hands its sockets: `Send`, because a big netlink dump is
/// decoded on a second thread (`netlink_pipeline`).
pub type RecordSink<'a> = dyn FnMut(&SocketRecord) + Send + 'a;

/// Something that produces whole snapshots: the real sampler, or a scripted
/// fake in tests and demos. `taken_at_ms` is the wall-clock time, passed in.
pub trait SnapshotSource: Send {
    /// A whole snapshot (listeners, the filtered table, counters, sysctls)
    /// with the aggregates counted while its table streamed in.
    fn sample(&mut self, taken_at_ms: u64) -> Result<crate::model::Sampled, CollectError>;

    /// Only the listeners on the filtered ports: cheap (a LISTEN-only dump
    /// costs about 1 ms at any table size), for sampling queues at 10 Hz.
    fn sample_listeners(&mut self) -> Result<Vec<SocketRecord>, CollectError>;

    /// The namespace's counters and sockstat alone (about 2 ms at any table
    /// size), for the ticks between spread-out full dumps. `None` when the
    /// source cannot read them separately.
    fn sample_totals(&mut self) -> Option<(crate::model::Counters, crate::model::Sockstat)> {
        None
    }
}

/// Which socket table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChoice {
    /// netlink, falling back to /proc with a visible note.
    Auto,
    Netlink,
    Proc,
}
