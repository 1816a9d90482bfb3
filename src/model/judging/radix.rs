//! Sorting the half-open matcher's 128-bit pair keys by radix: their bytes
//! mostly repeat (one server IP, a few listener ports, one client IP on
//! loopback), so only the few bytes that differ need a pass. At 500,000
//! sockets this sorts the 100,000 keys of each list in a fraction of what a
//! comparison sort takes, and it runs after the dump, on the tick's clock.
//!
//! Owns: `sort_keys`. Must not: allocate per call once its scratch list has
//! grown (the caller keeps it from tick to tick).

/// Below this many keys a comparison sort is as fast.
const RADIX_FROM: usize = 512;

/// Sorts `keys` ascending (as `sort_unstable` would), using `scratch` as the
/// second buffer of the passes: one counting and one scattering pass per
/// byte in which the keys differ, least significant first (each pass is
/// stable, so earlier bytes keep their order within equal later ones).
pub(super) fn sort_keys(keys: &mut Vec<u128>, scratch: &mut Vec<u128>) {
    let Some(&first) = keys.first() else {
        return;
    };
    if keys.len() < RADIX_FROM {
        keys.sort_unstable();
        return;
    }
    let differing = keys.iter().fold(0u128, |bits, key| bits | (key ^ first));
    scratch.clear();
    scratch.resize(keys.len(), 0);
    let mut sorted_in_keys = true;
    for byte in (0..16u32).filter(|b| (differing >> (8 * b)) & 0xff != 0) {
        let (from, to) = if sorted_in_keys {
            (&*keys, &mut *scratch)
        } else {
            (&*scratch, &mut *keys)
        };
        scatter_by_byte(from, to, byte);
        sorted_in_keys = !sorted_in_keys;
    }
    if !sorted_in_keys {
        std::mem::swap(keys, scratch);
    }
}

/// One stable counting-sort pass of `from` into `to` by byte `byte`.
fn scatter_by_byte(from: &[u128], to: &mut [u128], byte: u32) {
    let digit = |key: u128| ((key >> (8 * byte)) & 0xff) as usize;
    let mut counts = [0usize; 256];
    for &key in from {
        counts[digit(key)] += 1;
    }
    let mut next = [0usize; 256];
    let mut sum = 0;
    for (slot, count) in next.iter_mut().zip(counts) {
        *slot = sum;
        sum += count;
    }
    for &key in from {
        let slot = &mut next[digit(key)];
        if let Some(place) = to.get_mut(*slot) {
            *place = key;
        }
        *slot += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(keys: Vec<u128>) {
        let mut expected = keys.clone();
        expected.sort_unstable();
        let mut sorted = keys;
        let mut scratch = Vec::new();
        sort_keys(&mut sorted, &mut scratch);
        assert_eq!(sorted, expected);
    }

    #[test]
    fn keys_like_a_loopback_table_sort_as_a_comparison_sort_would() {
        // One server IP, three ports, one client IP, ports in any order,
        // tags 0 and 1, duplicates.
        let key = |server_port: u128, client_port: u128, tag: u128| {
            (0x7f00_0001u128 << 96)
                | (server_port << 80)
                | (0x7f00_0001u128 << 48)
                | (client_port << 32)
                | tag
        };
        let keys: Vec<u128> = (0..5000u128)
            .map(|i| key(8080 + i % 3, (i * 7919) % 28_000 + 32_768, i % 2))
            .chain((0..100).map(|i| key(8080, 40_000, i % 2)))
            .collect();
        check(keys);
    }

    #[test]
    fn empty_small_and_uniform_lists() {
        check(Vec::new());
        check(vec![3, 1, 2]);
        check(vec![42; 2000]);
        check((0..2000u128).rev().collect());
        check((0..2000u128).map(|i| u128::MAX - i * (1 << 100)).collect());
    }

    proptest! {
        #[test]
        fn any_keys_sort_as_a_comparison_sort_would(
            keys in prop::collection::vec(any::<u128>(), 0..3000),
            shared in any::<u128>(),
            mask in any::<u128>(),
        ) {
            // Many keys share most of their bits, as real pair keys do.
            let keys = keys.into_iter().map(|k| (k & mask) | (shared & !mask)).collect();
            check(keys);
        }
    }
}
