//! When the all-namespaces thread reads what: rediscovery every few
//! seconds; every namespace's listeners several times a second; every
//! namespace's light sample (listeners, counters, sockstat, sysctls) each
//! interval; the opened namespace's full table each interval (stretched when
//! expensive) and its listeners at the listener rate; the other namespaces'
//! full tables one at a time, round-robin, within a CPU budget.
//!
//! Owns: `FleetTiming`, `FleetSchedule`, `FleetAction`. Must not: read the
//! clock or do I/O: time comes in as `Instant`s, so it is tested with
//! injected time.

use std::time::{Duration, Instant};

use crate::model::cadence::full_sample_period;

/// The cadences of an all-namespaces run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetTiming {
    /// Light samples of every namespace (and the opened one's full table).
    pub interval: Duration,
    /// The opened namespace's listener-only samples.
    pub listen_interval: Duration,
    /// Every other namespace's listener-only samples.
    pub others_listen_interval: Duration,
    /// How often namespaces are looked for again.
    pub discover_every: Duration,
    /// The share of one core the round-robin full dumps may use (0.05 = 5%).
    pub round_robin_budget: f64,
}

impl FleetTiming {
    /// Defaults around the user's interval and listener interval.
    pub fn new(interval: Duration, listen_interval: Duration) -> FleetTiming {
        FleetTiming {
            interval,
            listen_interval,
            others_listen_interval: Duration::from_millis(250).min(interval),
            discover_every: Duration::from_secs(3),
            round_robin_budget: 0.05,
        }
    }

    /// The pause after a round-robin dump that cost `cost`, so dumps take at
    /// most `round_robin_budget` of the time.
    pub fn round_robin_gap(&self, cost: Duration) -> Duration {
        let budget = self.round_robin_budget.clamp(0.001, 1.0);
        cost.mul_f64((1.0 - budget) / budget)
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetAction {
    Discover,
    /// The opened namespace's full table.
    OpenedFull,
    /// A light sample of every namespace.
    LightRound,
    /// The opened namespace's listeners.
    OpenedListeners,
    /// Every other namespace's listeners.
    OthersListeners,
    /// The next other namespace's full table.
    RoundRobinFull,
    /// Nothing due before this instant.
    WaitUntil(Instant),
}

#[derive(Debug, Clone)]
pub struct FleetSchedule {
    timing: FleetTiming,
    opened: bool,
    next_discover: Instant,
    next_opened_full: Instant,
    next_light: Instant,
    next_opened_listen: Instant,
    next_others_listen: Instant,
    next_round_robin: Instant,
}

impl FleetSchedule {
    /// Everything is due at `start`, discovery first.
    pub fn new(timing: FleetTiming, start: Instant) -> FleetSchedule {
        FleetSchedule {
            timing,
            opened: false,
            next_discover: start,
            next_opened_full: start,
            next_light: start,
            next_opened_listen: start,
            next_others_listen: start + timing.others_listen_interval,
            next_round_robin: start + timing.interval,
        }
    }

    pub fn timing(&self) -> &FleetTiming {
        &self.timing
    }

    /// A namespace was opened (or closed): its full table is due now.
    pub fn set_opened(&mut self, opened: bool, now: Instant) {
        self.opened = opened;
        self.next_opened_full = now;
        self.next_opened_listen = now + self.timing.listen_interval;
    }

    pub fn set_interval(&mut self, interval: Duration, now: Instant) {
        self.timing.interval = interval;
        self.timing.others_listen_interval = self.timing.others_listen_interval.min(interval);
        self.next_light = self.next_light.min(now + interval);
        self.next_opened_full = self.next_opened_full.min(now + interval);
    }

    /// The most urgent due action, in priority order, else when to wake.
    pub fn next(&self, now: Instant) -> FleetAction {
        let due = [
            (self.next_discover, FleetAction::Discover),
            (self.next_light, FleetAction::LightRound),
            (self.next_others_listen, FleetAction::OthersListeners),
            (self.next_opened_listen, FleetAction::OpenedListeners),
            (self.next_opened_full, FleetAction::OpenedFull),
            (self.next_round_robin, FleetAction::RoundRobinFull),
        ];
        let active = |action: &FleetAction| {
            self.opened
                || !matches!(
                    action,
                    FleetAction::OpenedFull | FleetAction::OpenedListeners
                )
        };
        if let Some((_, action)) = due.iter().find(|(at, a)| *at <= now && active(a)) {
            return *action;
        }
        let wake = due
            .iter()
            .filter(|(_, a)| active(a))
            .map(|(at, _)| *at)
            .min()
            .unwrap_or(now + self.timing.interval);
        FleetAction::WaitUntil(wake)
    }

    /// Records that `action` ran from `started` to `finished`.
    pub fn done(&mut self, action: FleetAction, started: Instant, finished: Instant) {
        let t = self.timing;
        let cost = finished.saturating_duration_since(started);
        match action {
            FleetAction::Discover => self.next_discover = started + t.discover_every,
            FleetAction::LightRound => {
                self.next_light = (self.next_light + t.interval).max(finished);
                // A light round samples every listener too.
                self.next_others_listen = finished + t.others_listen_interval;
            }
            FleetAction::OthersListeners => {
                self.next_others_listen =
                    (self.next_others_listen + t.others_listen_interval).max(finished);
            }
            FleetAction::OpenedListeners => {
                self.next_opened_listen =
                    (self.next_opened_listen + t.listen_interval).max(finished);
            }
            FleetAction::OpenedFull => {
                let period = full_sample_period(t.interval, cost);
                self.next_opened_full = (started + period).max(finished + t.interval / 10);
                self.next_opened_listen = finished + t.listen_interval;
            }
            FleetAction::RoundRobinFull => {
                self.next_round_robin = finished + t.round_robin_gap(cost).max(t.interval / 10);
            }
            FleetAction::WaitUntil(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs the schedule for `total` with each action costing `cost(action)`,
    /// and counts the actions.
    fn simulate(
        schedule: &mut FleetSchedule,
        start: Instant,
        total: Duration,
        cost: impl Fn(FleetAction) -> Duration,
    ) -> Vec<(Instant, FleetAction)> {
        let mut now = start;
        let mut log = Vec::new();
        while now < start + total {
            match schedule.next(now) {
                FleetAction::WaitUntil(at) => now = at.max(now + ms(1)),
                action => {
                    let finished = now + cost(action);
                    log.push((now, action));
                    schedule.done(action, now, finished);
                    now = finished;
                }
            }
        }
        log
    }

    #[test]
    fn every_namespace_is_sampled_several_times_a_second_and_round_robin_keeps_its_budget() {
        let start = Instant::now();
        let timing = FleetTiming::new(Duration::from_secs(1), ms(100));
        let mut schedule = FleetSchedule::new(timing, start);
        let log = simulate(&mut schedule, start, Duration::from_secs(20), |a| match a {
            FleetAction::RoundRobinFull => ms(70),
            FleetAction::LightRound => ms(10),
            _ => ms(2),
        });
        let count = |wanted: FleetAction| log.iter().filter(|(_, a)| *a == wanted).count();
        let listener_rounds = count(FleetAction::OthersListeners) + count(FleetAction::LightRound);
        assert!(
            listener_rounds >= 3 * 20,
            "{listener_rounds} listener rounds in 20 s"
        );
        assert_eq!(count(FleetAction::OpenedFull), 0, "nothing opened");
        let round_robin = count(FleetAction::RoundRobinFull);
        let busy = Duration::from_millis(70) * u32::try_from(round_robin).unwrap_or(0);
        assert!(
            busy <= Duration::from_secs(1) + Duration::from_secs(20).mul_f64(0.05),
            "{round_robin} round-robin dumps cost {busy:?} in 20 s"
        );
        assert!(round_robin >= 10, "{round_robin}");
        assert!(count(FleetAction::Discover) >= 6);
        // No gap between listener samples of a namespace exceeds half a second.
        let times: Vec<Instant> = log
            .iter()
            .filter(|(_, a)| matches!(a, FleetAction::OthersListeners | FleetAction::LightRound))
            .map(|(at, _)| *at)
            .collect();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] <= ms(400), "{:?}", pair[1] - pair[0]);
        }
    }

    #[test]
    fn an_opened_namespace_gets_its_table_each_interval_and_fast_listeners() {
        let start = Instant::now();
        let timing = FleetTiming::new(Duration::from_secs(1), ms(100));
        let mut schedule = FleetSchedule::new(timing, start);
        schedule.set_opened(true, start);
        let log = simulate(&mut schedule, start, Duration::from_secs(10), |_| ms(3));
        let count = |wanted: FleetAction| log.iter().filter(|(_, a)| *a == wanted).count();
        assert!(
            (9..=11).contains(&count(FleetAction::OpenedFull)),
            "{}",
            count(FleetAction::OpenedFull)
        );
        assert!(
            count(FleetAction::OpenedListeners) >= 70,
            "{}",
            count(FleetAction::OpenedListeners)
        );
        schedule.set_opened(false, start + Duration::from_secs(10));
        assert_ne!(
            schedule.next(start + Duration::from_secs(10)),
            FleetAction::OpenedFull
        );
    }

    #[test]
    fn an_expensive_opened_table_is_spread_out() {
        let start = Instant::now();
        let timing = FleetTiming::new(Duration::from_secs(1), ms(100));
        let mut schedule = FleetSchedule::new(timing, start);
        schedule.set_opened(true, start);
        let log = simulate(&mut schedule, start, Duration::from_secs(20), |a| match a {
            FleetAction::OpenedFull => ms(500),
            _ => ms(1),
        });
        let fulls = log
            .iter()
            .filter(|(_, a)| *a == FleetAction::OpenedFull)
            .count();
        assert!(fulls <= 8, "{fulls} dumps of 500 ms in 20 s");
    }
}
