//! How often a full table dump may run: the requested interval, stretched
//! when dumps are expensive so that watching a huge table stays cheap.
//!
//! Owns: the dump budget. Must not: read the clock or sleep; the sampling
//! thread applies it and the header explains it.

use std::time::Duration;

/// Full dumps are spaced so that they take at most 1/`DUMP_BUDGET_FACTOR`
/// of the time: at most ~17% of one core however large the table. The cheap
/// listener-only samples keep the queues fresh in between.
pub(crate) const DUMP_BUDGET_FACTOR: u32 = 6;

/// The time between two full samples: the requested interval, stretched to
/// `DUMP_BUDGET_FACTOR` times what the last full sample cost.
pub(crate) fn full_sample_period(interval: Duration, last_cost: Duration) -> Duration {
    interval.max(last_cost.saturating_mul(DUMP_BUDGET_FACTOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expensive_dumps_stretch_the_period_cheap_ones_do_not() {
        let second = Duration::from_secs(1);
        assert_eq!(full_sample_period(second, Duration::from_millis(3)), second);
        assert_eq!(
            full_sample_period(second, Duration::from_millis(300)),
            Duration::from_millis(1800)
        );
        assert_eq!(
            full_sample_period(Duration::from_secs(5), Duration::from_millis(300)),
            Duration::from_secs(5)
        );
    }
}
