//! A snapshot's socket records, and the pool their buffer goes back to.
//!
//! A snapshot of 100,000 sockets holds 9.6 MB of records, written once per
//! tick. Freed after each tick and allocated anew for the next, that buffer
//! costs the kernel a fresh, zeroed page per 4 KiB (or per 2 MiB on huge
//! pages) every tick: 8–9% of a 100k tick. So records that came from a
//! collector carry a handle to its `RecordPool`: when whichever mode held
//! the tick drops them, their buffer goes back there, and the collector's
//! next sample writes into memory that is already mapped.
//!
//! Owns: `SocketRecords`, `RecordPool`. Must not: do I/O, or keep more than
//! one spare buffer per pool, nor one four times larger than the table it
//! is offered for (memory stays bounded, and shrinks with the table).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use super::socket::SocketRecord;

/// A spare buffer is given out for tables down to a quarter of its size;
/// for smaller ones it is freed instead.
const MAX_SLACK_FACTOR: usize = 4;

/// Socket records, read and written as a `Vec`. Those made by
/// `RecordPool::wrap` give their buffer back to the pool when dropped.
#[derive(Default)]
pub struct SocketRecords {
    records: Vec<SocketRecord>,
    home: Option<Arc<RecordPool>>,
}

impl SocketRecords {
    /// The records as a plain list; the buffer leaves the pool for good.
    pub fn into_vec(mut self) -> Vec<SocketRecord> {
        self.home = None;
        std::mem::take(&mut self.records)
    }
}

impl Drop for SocketRecords {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.give_back(std::mem::take(&mut self.records));
        }
    }
}

impl From<Vec<SocketRecord>> for SocketRecords {
    fn from(records: Vec<SocketRecord>) -> SocketRecords {
        SocketRecords {
            records,
            home: None,
        }
    }
}

impl FromIterator<SocketRecord> for SocketRecords {
    fn from_iter<I: IntoIterator<Item = SocketRecord>>(iter: I) -> SocketRecords {
        SocketRecords::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Deref for SocketRecords {
    type Target = Vec<SocketRecord>;

    fn deref(&self) -> &Vec<SocketRecord> {
        &self.records
    }
}

impl DerefMut for SocketRecords {
    fn deref_mut(&mut self) -> &mut Vec<SocketRecord> {
        &mut self.records
    }
}

impl<'a> IntoIterator for &'a SocketRecords {
    type Item = &'a SocketRecord;
    type IntoIter = std::slice::Iter<'a, SocketRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.records.iter()
    }
}

/// The records by value: the buffer leaves the pool for good.
impl IntoIterator for SocketRecords {
    type Item = SocketRecord;
    type IntoIter = std::vec::IntoIter<SocketRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

/// A copy owns a buffer of its own, which is freed as usual: only the
/// collector's original goes back to the pool.
impl Clone for SocketRecords {
    fn clone(&self) -> SocketRecords {
        SocketRecords::from(self.records.clone())
    }
}

/// Equal when the records are; where the buffer goes does not matter.
impl PartialEq for SocketRecords {
    fn eq(&self, other: &SocketRecords) -> bool {
        self.records == other.records
    }
}

impl fmt::Debug for SocketRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.records.fmt(f)
    }
}

/// Where one collector's record buffers wait between ticks: at most one.
#[derive(Debug, Default)]
pub struct RecordPool {
    spare: Mutex<Option<Vec<SocketRecord>>>,
}

impl RecordPool {
    pub fn new() -> Arc<RecordPool> {
        Arc::new(RecordPool::default())
    }

    /// The spare buffer, emptied, when it holds `capacity` records without
    /// being more than four times that; else `None`, and a spare that does
    /// not fit is freed (the table has grown past it, or shrunk far below).
    pub fn take(&self, capacity: usize) -> Option<Vec<SocketRecord>> {
        let spare = self.slot().take()?;
        let fits = spare.capacity() >= capacity
            && spare.capacity() <= capacity.saturating_mul(MAX_SLACK_FACTOR);
        fits.then_some(spare)
    }

    /// `records`, to come back here when dropped.
    pub fn wrap(self: &Arc<RecordPool>, records: Vec<SocketRecord>) -> SocketRecords {
        SocketRecords {
            records,
            home: Some(Arc::clone(self)),
        }
    }

    /// The spare's capacity in records (0 when there is none).
    pub fn spare_capacity(&self) -> usize {
        self.slot().as_ref().map_or(0, Vec::capacity)
    }

    /// Keeps the larger of the spare and `buffer`; the other is freed.
    fn give_back(&self, mut buffer: Vec<SocketRecord>) {
        buffer.clear();
        let mut slot = self.slot();
        if slot
            .as_ref()
            .is_none_or(|spare| spare.capacity() < buffer.capacity())
        {
            *slot = Some(buffer);
        }
    }

    /// The slot, even after a panic elsewhere: a buffer is valid whatever
    /// happened while it was being put back.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Vec<SocketRecord>>> {
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;
    use crate::model::socket::fixtures::record;

    fn records(count: usize) -> Vec<SocketRecord> {
        let one = record(TcpState::Established, "127.0.0.1:1", "127.0.0.1:2");
        vec![one; count]
    }

    #[test]
    fn dropped_records_leave_their_buffer_empty_in_the_pool() {
        let pool = RecordPool::new();
        let wrapped = pool.wrap(records(1000));
        let address = wrapped.as_ptr();
        assert_eq!(wrapped.len(), 1000);
        assert_eq!(pool.spare_capacity(), 0, "nothing spare while held");
        drop(wrapped);
        assert!(pool.spare_capacity() >= 1000);
        let reused = pool.take(900).expect("the spare fits");
        assert!(reused.is_empty());
        assert_eq!(reused.as_ptr(), address, "the same memory");
        assert_eq!(pool.spare_capacity(), 0, "given out once");
    }

    #[test]
    fn a_spare_too_small_or_far_too_large_is_freed_not_given() {
        let pool = RecordPool::new();
        drop(pool.wrap(records(1000)));
        assert!(pool.take(5000).is_none(), "the table outgrew it");
        assert_eq!(pool.spare_capacity(), 0, "and it was freed");
        drop(pool.wrap(records(1000)));
        assert!(pool.take(100).is_none(), "ten times what is needed");
        assert_eq!(pool.spare_capacity(), 0);
        drop(pool.wrap(records(1000)));
        assert!(pool.take(250).is_some(), "four times is still fine");
    }

    #[test]
    fn the_pool_keeps_one_spare_the_larger() {
        let pool = RecordPool::new();
        let small = pool.wrap(records(100));
        let large = pool.wrap(records(3000));
        drop(large);
        drop(small);
        assert!(pool.spare_capacity() >= 3000);
        assert!(pool.spare_capacity() < 3100);
    }

    #[test]
    fn copies_and_plain_lists_never_reach_the_pool() {
        let pool = RecordPool::new();
        let wrapped = pool.wrap(records(10));
        let copy = wrapped.clone();
        assert_eq!(copy, wrapped);
        drop(copy);
        assert_eq!(pool.spare_capacity(), 0);
        let taken = wrapped.into_vec();
        assert_eq!(taken.len(), 10);
        assert_eq!(pool.spare_capacity(), 0, "into_vec keeps the buffer");
        let plain = SocketRecords::from(records(5));
        assert_eq!(plain.iter().count(), 5);
        assert_eq!((&plain).into_iter().count(), 5);
    }
}
