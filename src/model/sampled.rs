//! One sample as a collector hands it over: the snapshot and the aggregates
//! it counted while the dump streamed in, side by side. The aggregates are
//! exact over the whole table even when the snapshot keeps only part of the
//! records, so they travel next to it rather than being recomputed from it.
//!
//! Owns: `Sampled`. Must not: do I/O or read the clock.

use super::aggregate::{Aggregates, aggregate};
use super::snapshot::Snapshot;

#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    pub snapshot: Snapshot,
    pub aggregates: Aggregates,
}

impl Sampled {
    /// For scripted sources and tests, whose records are the whole table:
    /// aggregates the snapshot from its records.
    pub fn from_snapshot(snapshot: Snapshot) -> Sampled {
        let aggregates = aggregate(&snapshot);
        Sampled {
            snapshot,
            aggregates,
        }
    }
}
