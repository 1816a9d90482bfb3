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
pub mod fake;
pub mod host;
pub mod namespace;
pub mod netlink;
pub mod netlink_wire;
pub mod owner_thread;
pub mod process;
pub mod procfs;
pub mod sample_loop;
pub mod sampler;
pub mod scenarios;
pub mod schedule;
pub mod self_usage;
pub mod sysctl;
pub mod target_pin;

pub use error::CollectError;

use crate::model::{SocketRecord, SourceKind, StateMask};

/// What to ask the kernel for. Both parts are pushed into the kernel where
/// the source allows it (netlink: the state mask and a bytecode filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRequest {
    pub states: StateMask,
    /// "sport == P or dport == P" for each P, OR-ed. Empty: every port.
    pub ports: Vec<u16>,
}

impl DumpRequest {
    pub fn all() -> DumpRequest {
        DumpRequest {
            states: StateMask::ALL,
            ports: Vec::new(),
        }
    }

    pub fn listeners(ports: &[u16]) -> DumpRequest {
        DumpRequest {
            states: StateMask::LISTEN_ONLY,
            ports: ports.to_vec(),
        }
    }
}

/// A table of TCP sockets that can be dumped. Implementations call `sink`
/// once per socket, reuse their buffers between calls, and allocate nothing
/// per socket.
pub trait SocketTable {
    fn kind(&self) -> SourceKind;

    fn dump(
        &mut self,
        request: &DumpRequest,
        sink: &mut dyn FnMut(&SocketRecord),
    ) -> Result<(), CollectError>;
}

/// Something that produces whole snapshots: the real sampler, or a scripted
/// fake in tests and demos. `taken_at_ms` is the wall-clock time, passed in.
pub trait SnapshotSource: Send {
    /// A whole snapshot: listeners, the filtered table, counters, sysctls.
    fn sample(&mut self, taken_at_ms: u64) -> Result<crate::model::Snapshot, CollectError>;

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
