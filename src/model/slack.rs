//! Capacity a burst leaves behind in maps and lists kept from tick to tick.
//!
//! A hash map never shrinks by itself: after one tick with 30,000 sockets, a
//! map that follows 4,000 keeps the table for 30,000 for the rest of the run,
//! and a one-hour soak sees the process step up by megabytes and stay there.
//!
//! Owns: the shrink policy. Must not: shrink on every small dip (a rehash
//! costs one pass over the map), or below `MIN_KEPT` slots.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// Slots kept however small the map gets.
const MIN_KEPT: usize = 1024;

/// Shrinks `map` to twice its length once its capacity is more than four
/// times that length.
pub(crate) fn release_slack<K: Eq + Hash, V, S: BuildHasher>(map: &mut HashMap<K, V, S>) {
    let len = map.len();
    if map.capacity() > MIN_KEPT && map.capacity() > len.saturating_mul(4) {
        map.shrink_to(len.saturating_mul(2).max(MIN_KEPT));
    }
}

/// The same policy for a list reused from tick to tick: `used` is how much
/// of it the last tick needed (it may have been cleared since).
pub(crate) fn release_vec_slack<T>(list: &mut Vec<T>, used: usize) {
    if list.capacity() > MIN_KEPT && list.capacity() > used.saturating_mul(4) {
        list.truncate(used);
        list.shrink_to(used.saturating_mul(2).max(MIN_KEPT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_gives_its_capacity_back_and_small_dips_do_not() {
        let mut map: HashMap<u64, u64> = (0..30_000).map(|k| (k, k)).collect();
        map.retain(|k, _| *k < 20_000);
        let before = map.capacity();
        release_slack(&mut map);
        assert_eq!(map.capacity(), before, "a dip to two thirds is kept");
        map.retain(|k, _| *k < 4_000);
        release_slack(&mut map);
        // Buckets come in powers of two: 8,000 asked, 14,336 given (of 57,344).
        assert!(map.capacity() <= 16_384, "capacity {}", map.capacity());
        assert!(map.capacity() >= 8_000, "room for twice the length");
        assert_eq!(map.len(), 4_000);
        map.clear();
        release_slack(&mut map);
        assert!(map.capacity() >= MIN_KEPT);
    }

    #[test]
    fn a_list_gives_a_burst_back_once_the_next_tick_needs_a_quarter() {
        let mut list: Vec<u64> = Vec::with_capacity(40_000);
        release_vec_slack(&mut list, 20_000);
        assert_eq!(list.capacity(), 40_000, "half used: kept");
        release_vec_slack(&mut list, 4_000);
        assert!(
            (8_000..16_384).contains(&list.capacity()),
            "{}",
            list.capacity()
        );
        release_vec_slack(&mut list, 0);
        assert!(list.capacity() >= MIN_KEPT);
    }
}
