//! tcpwatch's own cost: CPU time used by this process (all threads) and its
//! resident memory, so the header can show that watching is cheap.
//!
//! Owns: reading getrusage and /proc/self/status. Must not: keep history
//! (the caller does) or decide anything.

use std::time::{Duration, Instant};

/// CPU time used by the whole process so far (user + system).
pub(crate) fn process_cpu_time() -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage into the pointer we pass.
    let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if result != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so the struct is initialised.
    let usage = unsafe { usage.assume_init() };
    let to_duration = |tv: libc::timeval| {
        Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
    };
    Some(to_duration(usage.ru_utime) + to_duration(usage.ru_stime))
}

/// Resident set size now and at its peak, in KiB (VmRSS, VmHWM).
pub(crate) fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some((
        status_field_kib(&status, "VmRSS:")?,
        status_field_kib(&status, "VmHWM:")?,
    ))
}

/// `VmRSS:   1234 kB` → 1234.
pub(crate) fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// CPU use as a percentage of one core between two readings.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    last: Option<(Instant, Duration)>,
}

impl Default for CpuMeter {
    fn default() -> Self {
        CpuMeter::new()
    }
}

impl CpuMeter {
    pub fn new() -> CpuMeter {
        CpuMeter {
            last: process_cpu_time().map(|cpu| (Instant::now(), cpu)),
        }
    }

    /// Percent of one core used since the previous call (or since `new`).
    pub(crate) fn percent_since_last(&mut self) -> Option<f64> {
        let now = Instant::now();
        let cpu = process_cpu_time()?;
        let previous = self.last.replace((now, cpu));
        let (then, cpu_then) = previous?;
        let wall = now.duration_since(then).as_secs_f64();
        (wall > 0.0).then(|| cpu.saturating_sub(cpu_then).as_secs_f64() / wall * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let status = "Name:\ttcpwatch\nVmHWM:\t   5120 kB\nVmRSS:\t   4096 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS:"), Some(4096));
        assert_eq!(status_field_kib(status, "VmHWM:"), Some(5120));
        assert_eq!(status_field_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn burning_cpu_shows_up() {
        // Burn 100 ms of CPU however long a loaded machine takes to grant
        // it (within 10 s): the meter must see at least that share of the
        // wall time, whatever else runs.
        let mut meter = CpuMeter::new();
        let before = process_cpu_time().expect("process CPU time");
        let start = Instant::now();
        let mut x = 0u64;
        while process_cpu_time()
            .is_some_and(|now| now.saturating_sub(before) < Duration::from_millis(100))
            && start.elapsed() < Duration::from_secs(10)
        {
            for _ in 0..10_000 {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
        }
        assert!(x != 1);
        let wall = start.elapsed().as_secs_f64();
        let burned = process_cpu_time()
            .expect("process CPU time")
            .saturating_sub(before)
            .as_secs_f64();
        assert!(burned >= 0.1, "only {burned} s of CPU in {wall} s");
        let percent = meter.percent_since_last().expect("a reading");
        let floor = 0.5 * 100.0 * 0.1 / wall;
        assert!(
            percent >= floor,
            "busy loop used {percent}% of a core (it burned 100 ms in {wall:.2} s)"
        );
        assert!(memory_kib().is_some_and(|(rss, peak)| rss > 0 && peak >= rss));
    }
}
