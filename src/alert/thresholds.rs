//! The numbers that decide when a rule fires and how alerts raise and clear.
//!
//! Owns: `Thresholds` and its defaults. Must not: hold state or evaluate
//! anything; rules read these values.

/// Limits for every rule, plus the hysteresis. `Default` gives sane values.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `backlog_nearly_full` when the accept queue reaches this share of the
    /// real capacity (backlog + 1, since listen(N) holds N+1).
    pub backlog_nearly_full_ratio: f64,
    /// `syn_queue_pressure` when a listener's SYN_RECV count reaches this
    /// share of its backlog (the SYN queue is full at backlog entries)…
    pub syn_recv_ratio: f64,
    /// …and is at least this many (one handshake in flight on listen(1) is
    /// not pressure).
    pub syn_recv_min: u32,
    /// `time_wait_near_limit` at this share of net.ipv4.tcp_max_tw_buckets.
    pub time_wait_near_limit_ratio: f64,
    /// `time_wait_growth` (info) when one port gains this many TIME_WAIT
    /// sockets per second…
    pub time_wait_growth_per_sec: f64,
    /// …and warning at this multiple of it.
    pub time_wait_growth_warning_factor: f64,
    /// `port_exhaustion` (warning) at this share of the ephemeral port range
    /// for one (source IP, destination IP, destination port); critical at 100%.
    pub port_exhaustion_ratio: f64,
    /// `close_wait_leak` when CLOSE_WAIT sockets on a port have been present
    /// for this many consecutive evaluations without decreasing.
    pub close_wait_min_ticks: u32,
    /// Consecutive evaluations a non-critical level condition (seen in the
    /// snapshot, not in a counter) must hold before it is raised. Critical
    /// findings and counter evidence always raise at once.
    pub raise_after: u32,
    /// Consecutive evaluations a condition must be absent before its alert
    /// clears, so a queue hovering at the edge does not flap.
    pub clear_after: u32,
    /// How many alert identities keep their fire count once cleared
    /// (bounded memory; the least recently seen are forgotten first).
    pub fire_count_memory: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            backlog_nearly_full_ratio: 0.8,
            syn_recv_ratio: 0.8,
            syn_recv_min: 2,
            time_wait_near_limit_ratio: 0.8,
            time_wait_growth_per_sec: 100.0,
            time_wait_growth_warning_factor: 10.0,
            port_exhaustion_ratio: 0.8,
            close_wait_min_ticks: 3,
            raise_after: 2,
            clear_after: 2,
            fire_count_memory: 1024,
        }
    }
}

impl Thresholds {
    /// Every value forced into a usable range (ratios in (0, 1], counts ≥ 1).
    pub(crate) fn sanitized(&self) -> Thresholds {
        let ratio = |value: f64, default: f64| {
            if value.is_finite() && value > 0.0 {
                value.min(1.0)
            } else {
                default
            }
        };
        let positive = |value: f64, default: f64| {
            if value.is_finite() && value > 0.0 {
                value
            } else {
                default
            }
        };
        let defaults = Thresholds::default();
        Thresholds {
            backlog_nearly_full_ratio: ratio(
                self.backlog_nearly_full_ratio,
                defaults.backlog_nearly_full_ratio,
            ),
            syn_recv_ratio: ratio(self.syn_recv_ratio, defaults.syn_recv_ratio),
            syn_recv_min: self.syn_recv_min.max(1),
            time_wait_near_limit_ratio: ratio(
                self.time_wait_near_limit_ratio,
                defaults.time_wait_near_limit_ratio,
            ),
            time_wait_growth_per_sec: positive(
                self.time_wait_growth_per_sec,
                defaults.time_wait_growth_per_sec,
            ),
            time_wait_growth_warning_factor: positive(
                self.time_wait_growth_warning_factor,
                defaults.time_wait_growth_warning_factor,
            )
            .max(1.0),
            port_exhaustion_ratio: ratio(
                self.port_exhaustion_ratio,
                defaults.port_exhaustion_ratio,
            ),
            close_wait_min_ticks: self.close_wait_min_ticks.max(1),
            raise_after: self.raise_after.max(1),
            clear_after: self.clear_after.max(1),
            fire_count_memory: self.fire_count_memory.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_repairs_nonsense_and_keeps_good_values() {
        let bad = Thresholds {
            backlog_nearly_full_ratio: f64::NAN,
            syn_recv_ratio: 3.0,
            raise_after: 0,
            clear_after: 0,
            time_wait_growth_per_sec: -1.0,
            ..Thresholds::default()
        };
        let fixed = bad.sanitized();
        assert_eq!(fixed.backlog_nearly_full_ratio, 0.8);
        assert_eq!(fixed.syn_recv_ratio, 1.0);
        assert_eq!(fixed.raise_after, 1);
        assert_eq!(fixed.clear_after, 1);
        assert_eq!(fixed.time_wait_growth_per_sec, 100.0);
        assert_eq!(Thresholds::default().sanitized(), Thresholds::default());
    }
}
