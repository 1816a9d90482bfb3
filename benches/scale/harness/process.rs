//! A measured child process seen from `/proc/PID`: its CPU (utime + stime
//! of every thread) and memory (VmRSS, VmHWM) over a window, and whether
//! one of its threads is running. The dashboard and serve measurements
//! share it, so both report the same figures the same way.
//!
//! Owns: `fit_window`, `measure_window`, `WindowFigures` and the
//! `/proc/PID` reads. Must not: start, signal or talk to the process (the
//! caller's activity does that between the samples).

use std::thread;
use std::time::{Duration, Instant};

/// How often VmRSS is sampled during a window.
pub const RSS_EVERY: Duration = Duration::from_secs(5);

/// What a window measured.
#[derive(Debug, Clone, Default)]
pub struct WindowFigures {
    pub window_secs: f64,
    /// utime + stime over the window, % of one core.
    pub cpu_percent: f64,
    /// VmRSS at the start, every `RSS_EVERY`, and at the end.
    pub rss_kib: Vec<u64>,
    /// VmHWM at the end.
    pub hwm_kib: u64,
}

/// The window to measure: `asked_secs`, cut so that it ends half a second
/// before `deadline` (when the table stops being N); `None` when less than
/// a second would be left.
pub fn fit_window(asked_secs: f64, deadline: Instant) -> Option<Duration> {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(Duration::from_millis(500));
    let window = Duration::from_secs_f64(asked_secs).min(left);
    (window >= Duration::from_secs(1)).then_some(window)
}

/// Measures `pid` over `window`. `activity(now)` runs whenever it is due,
/// first at `first_due`, and returns when it is next due (`None`: no more).
/// Its own time counts in the window, as it would for a real user.
pub fn measure_window(
    pid: u32,
    window: Duration,
    first_due: Option<Instant>,
    mut activity: impl FnMut(Instant) -> Result<Option<Instant>, String>,
) -> Result<WindowFigures, String> {
    let cpu_before = cpu_ticks(pid)?;
    let started = Instant::now();
    let end = started + window;
    let mut rss_kib = vec![status_kib(pid, "VmRSS")?];
    let mut next_rss = started + RSS_EVERY;
    let mut next_activity = first_due;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if now >= next_rss {
            rss_kib.push(status_kib(pid, "VmRSS")?);
            next_rss += RSS_EVERY;
            continue;
        }
        if let Some(due) = next_activity
            && now >= due
        {
            next_activity = activity(now)?;
            continue;
        }
        let wake = next_activity.map_or(end.min(next_rss), |due| end.min(next_rss).min(due));
        thread::sleep(wake.saturating_duration_since(now));
    }
    let cpu_after = cpu_ticks(pid)?;
    let window_secs = started.elapsed().as_secs_f64();
    rss_kib.push(status_kib(pid, "VmRSS")?);
    Ok(WindowFigures {
        window_secs,
        cpu_percent: 100.0 * cpu_after.saturating_sub(cpu_before) as f64
            / clock_ticks_per_second()
            / window_secs,
        rss_kib,
        hwm_kib: status_kib(pid, "VmHWM")?,
    })
}

/// utime + stime of the whole process (every thread, live or gone), in
/// clock ticks, from `/proc/PID/stat`.
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // Fields after the command name, which is in parentheses: state is
    // field 3, utime 14 and stime 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("/proc/{pid}/stat: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

pub fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: u32, key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

/// The thread of `pid` whose comm is `comm`.
pub fn thread_named(pid: u32, comm: &str) -> Option<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .find_map(|entry| {
            let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            (name.trim_end() == comm).then_some(tid)
        })
}

/// Whether thread `tid` of `pid` is running or runnable (state R).
pub fn thread_running(pid: u32, tid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state == "R")
        })
        .unwrap_or(false)
}
