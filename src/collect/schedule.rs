//! When the sampling thread does what: full samples every interval (start
//! to start, never closer than a tenth of it after a slow one, so work never
//! queues up; stretched when dumps are expensive), counters alone at the
//! interval while full dumps are stretched, and listener-only samples in
//! between.
//!
//! Owns: `Schedule`, `Due`, `SamplingTiming`. Must not: read the clock or
//! sleep: every `now` is passed in, so the schedule is tested with injected
//! time and the sampling loop (`sample_loop`) applies it.

use std::time::{Duration, Instant};

use crate::model::cadence::full_sample_period;

/// The two cadences a run asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SamplingTiming {
    /// Between full samples (the `--interval`).
    pub interval: Duration,
    /// Between listener-only samples (about 10 Hz).
    pub listen_interval: Duration,
}

/// What the sampling thread should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// A whole snapshot.
    Full,
    /// Counters and sockstat alone, between stretched full dumps.
    Totals,
    /// The listeners alone.
    Listeners,
    /// Nothing until then (or until a control message arrives).
    WaitUntil(Instant),
}

/// The sampling schedule. Full samples come first, then totals, then
/// listener samples; each `*_done` call moves its deadline on.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    timing: SamplingTiming,
    last_full_start: Instant,
    next_full: Instant,
    next_listen: Instant,
    /// Only between stretched full dumps; `None` while dumps keep the interval.
    next_totals: Option<Instant>,
}

impl Schedule {
    /// A schedule whose first full sample is due at `now`.
    pub fn new(timing: SamplingTiming, now: Instant) -> Schedule {
        Schedule {
            timing,
            last_full_start: now,
            next_full: now,
            next_listen: now + timing.listen_interval,
            next_totals: None,
        }
    }

    #[cfg(test)]
    pub fn interval(&self) -> Duration {
        self.timing.interval
    }

    /// What is due at `now`.
    pub fn next(&self, now: Instant) -> Due {
        if now >= self.next_full {
            return Due::Full;
        }
        if self.next_totals.is_some_and(|due| now >= due) {
            return Due::Totals;
        }
        if now >= self.next_listen {
            return Due::Listeners;
        }
        let wake = self
            .next_totals
            .map_or(self.next_full, |due| due.min(self.next_full))
            .min(self.next_listen);
        Due::WaitUntil(wake)
    }

    /// A full sample that started at `started` finished at `done`.
    pub(crate) fn full_done(&mut self, started: Instant, done: Instant) {
        let interval = self.timing.interval;
        self.last_full_start = started;
        let period = full_sample_period(interval, done.saturating_duration_since(started));
        self.next_full = (started + period).max(done + interval / 10);
        self.next_listen = done + self.timing.listen_interval;
        self.next_totals = (period > interval).then_some(started + interval);
    }

    /// The totals that were due have been read (or could not be) by
    /// `done`. Totals that fell behind are skipped, not caught up.
    pub(crate) fn totals_done(&mut self, done: Instant) {
        let interval = self.timing.interval;
        let next_full = self.next_full;
        self.next_totals = self
            .next_totals
            .map(|due| {
                let next = due + interval;
                if next <= done { done + interval } else { next }
            })
            .filter(|next| *next < next_full);
    }

    /// A listener sample finished at `done`.
    pub(crate) fn listeners_done(&mut self, done: Instant) {
        self.next_listen = (self.next_listen + self.timing.listen_interval).max(done);
    }

    /// The user changed the interval: the next full sample is due one new
    /// interval after the last one started.
    pub(crate) fn set_interval(&mut self, interval: Duration) {
        self.timing.interval = interval;
        self.next_full = self.last_full_start + interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timing(interval_ms: u64, listen_ms: u64) -> SamplingTiming {
        SamplingTiming {
            interval: ms(interval_ms),
            listen_interval: ms(listen_ms),
        }
    }

    #[test]
    fn starts_with_a_full_sample_then_listeners_between_full_ones() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(timing(1_000, 100), t0);
        assert_eq!(schedule.next(t0), Due::Full);
        schedule.full_done(t0, t0 + ms(5));
        assert_eq!(schedule.next(t0 + ms(50)), Due::WaitUntil(t0 + ms(105)));
        assert_eq!(schedule.next(t0 + ms(105)), Due::Listeners);
        schedule.listeners_done(t0 + ms(106));
        assert_eq!(schedule.next(t0 + ms(150)), Due::WaitUntil(t0 + ms(205)));
        // Start to start: the next full sample is one interval after the first.
        assert_eq!(schedule.next(t0 + ms(999)), Due::Listeners);
        assert_eq!(schedule.next(t0 + ms(1_000)), Due::Full);
    }

    #[test]
    fn expensive_dumps_are_spread_out_and_totals_fill_the_intervals_between() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(timing(100, 10_000), t0);
        // A 50 ms dump at a 100 ms interval: stretched to 6 × 50 = 300 ms.
        schedule.full_done(t0, t0 + ms(50));
        assert_eq!(schedule.next(t0 + ms(60)), Due::WaitUntil(t0 + ms(100)));
        assert_eq!(schedule.next(t0 + ms(100)), Due::Totals);
        schedule.totals_done(t0 + ms(101));
        assert_eq!(schedule.next(t0 + ms(150)), Due::WaitUntil(t0 + ms(200)));
        assert_eq!(schedule.next(t0 + ms(200)), Due::Totals);
        schedule.totals_done(t0 + ms(201));
        // The next totals would land on the full sample: none is scheduled.
        assert_eq!(schedule.next(t0 + ms(250)), Due::WaitUntil(t0 + ms(300)));
        assert_eq!(schedule.next(t0 + ms(300)), Due::Full);
    }

    #[test]
    fn totals_that_fell_behind_a_slow_dump_are_not_caught_up() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(timing(1_000, 10_000), t0);
        // A dump that outlived the budget stretch still leaves a gap.
        schedule.full_done(t0, t0 + ms(7_000));
        assert_eq!(schedule.next(t0 + ms(7_000)), Due::Totals);
        // Totals that fell behind are read once, not caught up one by one.
        schedule.totals_done(t0 + ms(7_001));
        assert_eq!(
            schedule.next(t0 + ms(7_002)),
            Due::WaitUntil(t0 + ms(8_001))
        );
    }

    #[test]
    fn a_new_interval_counts_from_the_last_full_start() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(timing(5_000, 10_000), t0);
        schedule.full_done(t0, t0 + ms(2));
        assert_eq!(schedule.next(t0 + ms(600)), Due::WaitUntil(t0 + ms(5_000)));
        schedule.set_interval(ms(500));
        assert_eq!(schedule.interval(), ms(500));
        assert_eq!(schedule.next(t0 + ms(600)), Due::Full);
    }

    #[test]
    fn listener_samples_that_fall_behind_do_not_pile_up() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(timing(10_000, 100), t0);
        schedule.full_done(t0, t0);
        // The thread was busy for a second: one catch-up sample, then the
        // cadence again, counted from the catch-up.
        assert_eq!(schedule.next(t0 + ms(1_000)), Due::Listeners);
        schedule.listeners_done(t0 + ms(1_000));
        assert_eq!(schedule.next(t0 + ms(1_001)), Due::Listeners);
        schedule.listeners_done(t0 + ms(1_001));
        assert_eq!(
            schedule.next(t0 + ms(1_002)),
            Due::WaitUntil(t0 + ms(1_100))
        );
    }
}
