//! Command-line options of the scale benchmark.
//!
//! Owns: parsing `--sizes`, `--reps`, `--listener-secs`, `--tw-window`, the
//! dashboard flags (`--dashboard`, `--no-dashboard`, `--dash-secs`,
//! `--dash-warmup`, `--dash-keys`), `--serve`/`--no-serve`, `--live-only`
//! and `--hold`. Must not: do anything else; unknown flags
//! cargo adds (`--bench`) are ignored.

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Table sizes N (sockets), run in the order given.
    pub sizes: Vec<usize>,
    /// Rounds (each times every operation once; medians are reported).
    /// Tables under 100k sockets get up to 5× as many.
    pub reps: usize,
    /// How long the 10 Hz listener sampler runs for its CPU figure.
    pub listener_secs: f64,
    /// How long after a TIME_WAIT build rounds may still start (TIME_WAIT
    /// lasts 60 s). Lower it only to exercise the rebuild path.
    pub time_wait_window_secs: f64,
    /// The live dashboard measurement (the real binary in a pty).
    pub dashboard: DashboardOptions,
    /// Whether `tcpwatch serve` (scraped every second) is measured at a
    /// size, with the dashboard's warm-up and window. `Auto`: at the sizes
    /// the dashboard's `Auto` measures, or everywhere with `--dashboard`.
    pub serve: DashboardMode,
    /// Only the live runs (dashboard, serve): no collector rounds, rule
    /// checks, RSS probe or listener-sampler figure.
    pub live_only: bool,
    /// Build each size's table, then only hold it this many seconds (at
    /// most one TIME_WAIT generation) for a profiler, measuring nothing.
    pub hold_secs: Option<f64>,
}

/// Whether the dashboard (or serve) is measured at a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardMode {
    /// At sizes of 100k and more.
    Auto,
    On,
    Off,
}

/// How the live dashboard is measured (see `dashboard`).
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardOptions {
    pub mode: DashboardMode,
    /// Seconds after the first full sample is on screen before measuring.
    pub warmup_secs: f64,
    /// The CPU window (shortened, and reported so, when the TIME_WAIT
    /// generation would not last it).
    pub window_secs: f64,
    /// Key presses sent during the window, at random phases.
    pub keys: usize,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        DashboardOptions {
            mode: DashboardMode::Auto,
            warmup_secs: 5.0,
            window_secs: 30.0,
            keys: 20,
        }
    }
}

impl DashboardOptions {
    /// The smallest size `Auto` measures.
    pub const AUTO_FROM: usize = 100_000;

    pub fn enabled_for(&self, size: usize) -> bool {
        match self.mode {
            DashboardMode::Auto => size >= Self::AUTO_FROM,
            DashboardMode::On => true,
            DashboardMode::Off => false,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sizes: vec![10_000, 100_000],
            reps: 9,
            listener_secs: 10.0,
            time_wait_window_secs: 57.0,
            dashboard: DashboardOptions::default(),
            serve: DashboardMode::Auto,
            live_only: false,
            hold_secs: None,
        }
    }
}

impl Options {
    /// Whether serve is measured at `size`.
    pub fn serve_enabled_for(&self, size: usize) -> bool {
        match self.serve {
            DashboardMode::Auto => {
                self.dashboard.mode == DashboardMode::On || size >= DashboardOptions::AUTO_FROM
            }
            DashboardMode::On => true,
            DashboardMode::Off => false,
        }
    }

    pub const USAGE: &'static str = "\
usage: sudo cargo bench --bench scale -- [--sizes 10k,100k,500k,1M] [--reps 9] [--listener-secs 10]
           [--dashboard | --no-dashboard] [--dash-secs 30] [--dash-warmup 5] [--dash-keys 20]
           [--serve | --no-serve] [--live-only] [--hold SECS]

Builds a TCP table of N sockets on loopback in a private network namespace
(40% ESTABLISHED, 55% TIME_WAIT, 5% FIN_WAIT2/CLOSE_WAIT, a few listeners,
one with a full accept queue) and times tcpwatch's collector against ss on it.
Needs root (for the namespace); prints a skip line and exits 0 otherwise.
Defaults: --sizes 10k,100k --reps 9 --listener-secs 10.
--tw-window SECS (default 57) only exercises the TIME_WAIT rebuild path.
The live dashboard (the real tcpwatch binary in a 120x40 pty, --interval 1s)
is measured at sizes of 100k and more; --dashboard measures it at every size,
--no-dashboard never. Its CPU window is --dash-secs after --dash-warmup, with
--dash-keys help-overlay toggles timed during it. TCPWATCH_BENCH_BIN=PATH
measures another binary than the one cargo built with the benchmark;
TCPWATCH_BENCH_ONCE_BEFORE=PATH also times that binary's --once in the same
rounds (a before/after comparison under the same load).
`tcpwatch serve --interval 1s` is measured at the same sizes by default
(scraped every second over loopback, same warm-up and window, its own
TIME_WAIT generation); --serve measures it at every size, --no-serve never.
--live-only skips the collector rounds (and the rule checks, RSS probe and
listener-sampler figure): only the dashboard and serve, e.g. for serve's
targets at 500k and 1M:
  --sizes 500k,1M --live-only --no-dashboard --serve
--hold SECS (at most 57) builds each table and only holds it, printing the
namespace's name, so a profiler can be pointed at `tcpwatch --netns NAME`.";

    /// `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| iter.next().cloned())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "-h" | "--help" => return Ok(None),
                "--sizes" => {
                    options.sizes = value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(parse_size)
                        .collect::<Result<_, _>>()?;
                    if options.sizes.is_empty() {
                        return Err("--sizes is empty".to_string());
                    }
                }
                "--reps" => {
                    options.reps = value()?
                        .parse()
                        .map_err(|_| "--reps wants a whole number".to_string())?;
                    if options.reps == 0 {
                        return Err("--reps must be at least 1".to_string());
                    }
                }
                "--listener-secs" => {
                    options.listener_secs = value()?
                        .parse()
                        .map_err(|_| "--listener-secs wants a number of seconds".to_string())?;
                }
                "--tw-window" => {
                    options.time_wait_window_secs = value()?
                        .parse()
                        .ok()
                        .filter(|s: &f64| (1.0..=57.0).contains(s))
                        .ok_or_else(|| "--tw-window wants seconds in 1..=57".to_string())?;
                }
                "--dashboard" => options.dashboard.mode = DashboardMode::On,
                "--no-dashboard" => options.dashboard.mode = DashboardMode::Off,
                "--serve" => options.serve = DashboardMode::On,
                "--no-serve" => options.serve = DashboardMode::Off,
                "--live-only" => options.live_only = true,
                "--hold" => {
                    let secs: f64 = value()?
                        .parse()
                        .map_err(|_| "--hold wants a number of seconds".to_string())?;
                    if !(1.0..=57.0).contains(&secs) {
                        return Err(
                            "--hold wants seconds in 1..=57 (one TIME_WAIT lifetime)".to_string()
                        );
                    }
                    options.hold_secs = Some(secs);
                }
                "--dash-secs" => {
                    options.dashboard.window_secs = value()?
                        .parse()
                        .ok()
                        .filter(|s: &f64| (1.0..=50.0).contains(s))
                        .ok_or_else(|| "--dash-secs wants seconds in 1..=50".to_string())?;
                }
                "--dash-warmup" => {
                    options.dashboard.warmup_secs = value()?
                        .parse()
                        .ok()
                        .filter(|s: &f64| (0.0..=20.0).contains(s))
                        .ok_or_else(|| "--dash-warmup wants seconds in 0..=20".to_string())?;
                }
                "--dash-keys" => {
                    options.dashboard.keys = value()?
                        .parse()
                        .map_err(|_| "--dash-keys wants a whole number".to_string())?;
                }
                // Added by `cargo bench` / `cargo test`.
                "--bench" | "--nocapture" | "--quiet" | "-q" => {}
                other if other.starts_with('-') => return Err(format!("unknown flag {other}")),
                _ => {}
            }
        }
        Ok(Some(options))
    }
}

/// "10k" → 10_000, "1M" → 1_000_000, "2500" → 2500.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, factor) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1_000),
        Some('m' | 'M') => (&text[..text.len() - 1], 1_000_000),
        _ => (text, 1),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("bad size {text:?} (try 10k, 500k, 1M)"))?;
    let size = (value * factor as f64).round() as usize;
    if size < 1_000 {
        return Err(format!("size {text} is below the minimum of 1k"));
    }
    Ok(size)
}
