//! What the alert rules read about the whole socket table, counted in the
//! same pass as `Aggregator` while the dump streams in, so that no rule's
//! answer depends on which records a snapshot kept: local ports held per
//! destination, TIME_WAIT and CLOSE_WAIT per service port, SYN_SENT clients
//! per target, and half-open pairs per server endpoint.
//!
//! Owns: `RuleAggregates`, `RuleAggregator`, `JudgingScope`. Must not: judge
//! (thresholds, wording and lifecycles belong to `alert`), do I/O or read
//! the clock. Hashing uses foldhash: these maps see up to one entry per
//! socket.

mod destinations;
mod pairs;
mod per_port;

pub use destinations::DestinationHold;
pub use pairs::{HalfOpenExample, HalfOpenServer};
pub use per_port::{PortCloseWait, PortTimeWait, SynSentTarget};

use super::aggregate::{PortLookup, PortSet};
use super::snapshot::Snapshot;
use super::socket::SocketRecord;

/// How much per-destination detail to keep: destinations are listed (with
/// their sockets' states and owners) only when they hold at least this share
/// of the ephemeral port range. The collector uses the port-exhaustion
/// rule's ratio, so the rule sees every destination it could flag (a
/// destination's count is exact either way); scripted snapshots keep them
/// all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgingScope {
    pub crowded_destination_ratio: f64,
}

impl JudgingScope {
    /// Keeps every destination (small, scripted tables).
    pub const EVERYTHING: JudgingScope = JudgingScope {
        crowded_destination_ratio: 0.0,
    };
}

impl Default for JudgingScope {
    /// The port-exhaustion rule's default ratio (`Thresholds::default`).
    fn default() -> Self {
        JudgingScope {
            crowded_destination_ratio: 0.8,
        }
    }
}

/// Owner inodes kept per destination or per port, at most: enough to name
/// the processes, bounded whatever the table's size.
pub const OWNER_SAMPLE: usize = 256;

/// The rule-facing aggregates of one snapshot. Exact over the whole
/// filtered table; owner inodes are sampled (the first `OWNER_SAMPLE`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleAggregates {
    /// Client-side sockets on ephemeral ports, per (source IP, destination),
    /// for destinations within the `JudgingScope`; sorted.
    pub destinations: Vec<DestinationHold>,
    /// TIME_WAIT per service port, sorted by port.
    pub time_wait: Vec<PortTimeWait>,
    /// CLOSE_WAIT per service port, sorted by port.
    pub close_wait: Vec<PortCloseWait>,
    /// SYN_SENT sockets per remote endpoint, sorted.
    pub syn_sent: Vec<SynSentTarget>,
    /// Clients on this host ESTABLISHED towards a local listener port whose
    /// server end is SYN_RECV or missing, per server endpoint; sorted.
    pub half_open: Vec<HalfOpenServer>,
}

impl RuleAggregates {
    /// Socket inodes whose owners the rules may name (sampled CLOSE_WAIT and
    /// crowded-destination owners, half-open examples), at most `limit`.
    pub fn inodes_to_name(&self, limit: usize) -> Vec<u64> {
        let close_wait = self.close_wait.iter().flat_map(|p| p.inodes.iter());
        let destinations = self.destinations.iter().flat_map(|d| d.inodes.iter());
        let examples = self.half_open.iter().flat_map(|s| {
            [&s.first_syn_recv, &s.first_missing]
                .into_iter()
                .flatten()
                .map(|e| &e.inode)
        });
        let mut inodes: Vec<u64> = close_wait
            .chain(destinations)
            .chain(examples)
            .copied()
            .filter(|inode| *inode != 0)
            .take(limit)
            .collect();
        inodes.sort_unstable();
        inodes.dedup();
        inodes
    }
}

/// Builds `RuleAggregates` one socket at a time, driven by `Aggregator`.
/// Reusable: `finish` leaves its lists allocated and `reset` empties them
/// for the next sample.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleAggregator {
    destinations: destinations::DestinationCounter,
    per_port: per_port::PortCounter,
    pairs: pairs::PairMatcher,
}

impl RuleAggregator {
    /// Starts over for `snapshot`, keeping the allocations of earlier samples.
    pub fn reset(&mut self, snapshot: &Snapshot, scope: JudgingScope) {
        self.destinations.reset(
            snapshot.settings.ip_local_port_range,
            scope.crowded_destination_ratio,
        );
        self.per_port.reset();
        self.pairs.reset(&snapshot.listeners);
    }

    /// Counts one non-LISTEN socket that matched the filter, counted under
    /// `service_port`.
    pub fn add(&mut self, record: &SocketRecord, service_port: u16, listener_ports: &PortSet) {
        let local_is_listener_port = listener_ports.has_port(record.local.port());
        if !local_is_listener_port {
            self.destinations.add(record);
        }
        self.per_port.add(record, service_port);
        self.pairs.add(
            record,
            local_is_listener_port,
            listener_ports.has_port(record.remote.port()),
        );
    }

    /// What was counted since the last `reset`.
    pub fn finish(&mut self) -> RuleAggregates {
        let (time_wait, close_wait, syn_sent) = self.per_port.finish();
        RuleAggregates {
            destinations: self.destinations.finish(),
            time_wait,
            close_wait,
            syn_sent,
            half_open: self.pairs.finish(),
        }
    }
}
