//! A one-line sparkline drawn as text (`▁▂▃▅█`), from a time series
//! bucketed into columns, so it can sit inside a table row.
//!
//! Owns: bucketing points by time and choosing the bar characters. Must
//! not: read the clock; the window's end comes in.

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The largest value per column over `[end_ms - window_ms, end_ms]`;
/// `None` for a column with no point.
pub(crate) fn bucket_max(
    points: impl Iterator<Item = (u64, u64)>,
    end_ms: u64,
    window_ms: u64,
    columns: usize,
) -> Vec<Option<u64>> {
    let mut buckets = vec![None; columns];
    if columns == 0 || window_ms == 0 {
        return buckets;
    }
    let start_ms = end_ms.saturating_sub(window_ms);
    for (at_ms, value) in points {
        if at_ms < start_ms || at_ms > end_ms {
            continue;
        }
        let offset = u128::from(at_ms - start_ms);
        let column = (offset * columns as u128 / (u128::from(window_ms) + 1)) as usize;
        if let Some(slot) = buckets.get_mut(column.min(columns - 1)) {
            *slot = Some(slot.map_or(value, |v: u64| v.max(value)));
        }
    }
    buckets
}

/// Text bars scaled to `scale_max` (a full bar at or above it); a column
/// with no data is a space.
pub(crate) fn bars(buckets: &[Option<u64>], scale_max: u64) -> String {
    let scale = scale_max.max(1);
    buckets
        .iter()
        .map(|bucket| match bucket {
            None => ' ',
            Some(value) => {
                let level = (value.min(&scale) * (BARS.len() as u64 - 1)).div_ceil(scale);
                BARS[level as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_the_peak_and_bars_scale_to_capacity() {
        let points = [(0u64, 0u64), (100, 1), (900, 2), (1000, 0)];
        let buckets = bucket_max(points.into_iter(), 1000, 1000, 4);
        assert_eq!(buckets, [Some(1), None, None, Some(2)]);
        assert_eq!(bars(&buckets, 2), "▅  █");
        assert_eq!(bars(&[Some(0), Some(5)], 2), "▁█");
    }
}
