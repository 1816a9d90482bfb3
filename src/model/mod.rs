//! The pure model: what the kernel reported (records, counters), one
//! snapshot of it, and the aggregates, diffs and history built from
//! snapshots.
//!
//! Owns: every type the collectors fill in and the views read. Must not: do
//! I/O or read the clock; time always comes in as a value.

pub mod address;
pub mod aggregate;
pub mod cadence;
pub mod counters;
pub mod drop_attribution;
pub mod event;
pub mod event_ledger;
pub mod history;
pub mod judging;
#[cfg(any(test, feature = "test-support"))]
pub mod listen_one;
pub mod peaks;
pub mod retained;
pub mod sampled;
pub mod seen;
pub(crate) mod slack;
pub mod snapshot;
pub mod socket;
pub mod state;
pub mod transitions;

pub use address::{IpFamily, IpPrefix};
pub use aggregate::{
    Aggregates, ListenerSummary, PortStates, StateCounts, TimeWaitSummary, aggregate,
};
pub use counters::{Counter, CounterDeltas, Counters, Settings, Sockstat, Sysctl};
pub use judging::{JudgingScope, RuleAggregates};
pub use peaks::{ListenerPeak, ListenerPeaks};
pub use sampled::Sampled;
pub use snapshot::{Filter, NoOwnerReason, ProcessInfo, Snapshot, SourceKind};
pub use socket::{SocketKey, SocketRecord, TimerKind};
pub use state::{StateMask, TcpState, UnknownStateName};
