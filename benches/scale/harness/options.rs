//! Command-line options of the scale benchmark.
//!
//! Owns: parsing `--sizes`, `--reps`, `--listener-secs`, `--tw-window`. Must not:
//! do anything else; unknown flags cargo adds (`--bench`) are ignored.

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sizes: vec![10_000, 100_000],
            reps: 9,
            listener_secs: 10.0,
            time_wait_window_secs: 57.0,
        }
    }
}

impl Options {
    pub const USAGE: &'static str = "\
usage: sudo cargo bench --bench scale -- [--sizes 10k,100k,500k,1M] [--reps 9] [--listener-secs 10]

Builds a TCP table of N sockets on loopback in a private network namespace
(40% ESTABLISHED, 55% TIME_WAIT, 5% FIN_WAIT2/CLOSE_WAIT, a few listeners,
one with a full accept queue) and times tcpwatch's collector against ss on it.
Needs root (for the namespace); prints a skip line and exits 0 otherwise.
Defaults: --sizes 10k,100k --reps 9 --listener-secs 10.
--tw-window SECS (default 57) only exercises the TIME_WAIT rebuild path.";

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
