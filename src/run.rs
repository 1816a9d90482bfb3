//! Runs what the user asked for: one picture (`--once`), a stream of
//! pictures on a non-terminal stdout, or the live dashboard on a terminal.
//!
//! Owns: wiring collect → model → output, the sampling thread, and the wall
//! clock. Must not: parse kernel data or draw screens itself.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::{Action, Config, OutputFormat};
use crate::collect::sampler::{Sampler, SamplerConfig};
use crate::collect::{CollectError, SnapshotSource};
use crate::error::AppError;
use crate::model::{Snapshot, aggregate};
use crate::output::{Report, json::report_json, table::write_table};

/// The wall-clock time in Unix milliseconds: the only clock the pure layers see.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Config {
    pub fn sampler_config(&self) -> SamplerConfig {
        SamplerConfig {
            source: self.source,
            target: self.target.clone(),
            filter: self.filter.clone(),
        }
    }
}

pub fn run(config: Config) -> Result<(), AppError> {
    if let Action::Explain(state) = config.action {
        let text = match state {
            Some(state) => crate::explain::explain_text(state),
            None => crate::explain::explain_all(),
        };
        let mut out = io::stdout().lock();
        return out.write_all(text.as_bytes()).map_err(AppError::Output);
    }
    if let Action::Demo { no_tui } = config.action {
        if !no_tui && io::stdout().is_terminal() {
            return crate::demo::dashboard::run_demo_dashboard(&config);
        }
        return run_demo_lines(&config);
    }
    if config.once {
        return run_once(&config);
    }
    if !config.stream && config.format == OutputFormat::Table && io::stdout().is_terminal() {
        return crate::live::run_dashboard(&config);
    }
    if config.stream {
        return run_stream(&config);
    }
    run_lines(&config)
}

/// Opens a sampler on a new thread (it may enter another namespace) and
/// returns the first snapshot.
fn run_once(config: &Config) -> Result<(), AppError> {
    let sampler_config = config.sampler_config();
    let handle = thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || -> Result<Snapshot, CollectError> {
            let mut sampler = Sampler::open(sampler_config)?;
            sampler.sample(now_ms())
        })
        .map_err(AppError::Thread)?;
    let snapshot = handle.join().map_err(|_| AppError::SamplerLost)??;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write_report(&mut out, config.format, &snapshot, None).map_err(AppError::Output)
}

fn write_report(
    out: &mut dyn Write,
    format: OutputFormat,
    snapshot: &Snapshot,
    previous: Option<&Snapshot>,
) -> io::Result<()> {
    let aggregates = aggregate(snapshot);
    let deltas = previous.map(|p| snapshot.counters.delta_since(&p.counters));
    let report = Report {
        snapshot,
        aggregates: &aggregates,
        deltas: deltas.as_ref(),
    };
    match format {
        OutputFormat::Table => write_table(out, &report)?,
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, &report_json(&report)).map_err(io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()
}

/// Starts the sampling thread: it opens the sampler (entering the namespace)
/// and sends one result per interval until the receiver goes away.
pub fn spawn_sampling(
    config: &Config,
) -> Result<mpsc::Receiver<Result<Snapshot, CollectError>>, AppError> {
    let sampler_config = config.sampler_config();
    let interval = config.interval;
    let (sender, receiver) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || {
            let mut sampler = match Sampler::open(sampler_config) {
                Ok(sampler) => sampler,
                Err(error) => {
                    let _ = sender.send(Err(error));
                    return;
                }
            };
            loop {
                let result = sampler.sample(now_ms());
                let took = result.as_ref().map(|s| s.elapsed).unwrap_or_default();
                if sender.send(result).is_err() {
                    return;
                }
                thread::sleep(next_delay(interval, took));
            }
        })
        .map_err(AppError::Thread)?;
    Ok(receiver)
}

/// Prints one picture per interval: for pipes, logs, and `--format json`
/// on a terminal (a terminal with the table format gets the dashboard).
fn run_lines(config: &Config) -> Result<(), AppError> {
    let receiver = spawn_sampling(config)?;
    let stdout = io::stdout();
    let mut previous: Option<Snapshot> = None;
    let separate = config.format == OutputFormat::Table && stdout.is_terminal();
    for result in receiver {
        let snapshot = result?;
        let mut out = stdout.lock();
        if previous.is_some() && config.format == OutputFormat::Table {
            writeln!(out, "{}", if separate { "" } else { "----" }).map_err(AppError::Output)?;
        }
        write_report(&mut out, config.format, &snapshot, previous.as_ref())
            .map_err(AppError::Output)?;
        previous = Some(snapshot);
    }
    Err(AppError::SamplerLost)
}

/// `--stream`: one JSON line per connection state change, as it happens.
fn run_stream(config: &Config) -> Result<(), AppError> {
    use crate::model::transitions::TransitionTracker;
    use crate::output::stream::transition_json;

    let receiver = spawn_sampling(config)?;
    let stdout = io::stdout();
    let mut tracker = TransitionTracker::default();
    for result in receiver {
        let snapshot = result?;
        let listener_ports: Vec<u16> = snapshot.listeners.iter().map(|l| l.local.port()).collect();
        let mut followed = snapshot.listeners.clone();
        followed.extend_from_slice(&snapshot.sockets);
        let transitions = tracker.observe(&followed, &listener_ports, snapshot.taken_at_ms);
        let mut out = stdout.lock();
        for transition in &transitions {
            serde_json::to_writer(&mut out, &transition_json(transition))
                .map_err(|e| AppError::Output(io::Error::from(e)))?;
            writeln!(out).map_err(AppError::Output)?;
        }
        out.flush().map_err(AppError::Output)?;
    }
    Err(AppError::SamplerLost)
}

/// How long to wait between samples, stretched when a sample took longer
/// than the interval so work never queues up.
pub fn next_delay(interval: Duration, sample_took: Duration) -> Duration {
    interval.saturating_sub(sample_took).max(interval / 10)
}

/// `tcpwatch demo --no-tui`: narrate each experiment, run it, wait for the
/// kernel, and print the picture of the demo's ports.
fn run_demo_lines(config: &Config) -> Result<(), AppError> {
    use crate::demo::{EPILOGUE, Step, lab::Lab};
    use crate::model::Filter;

    let mut lab = Lab::open().map_err(AppError::Demo)?;
    let mut sampler = Sampler::open(SamplerConfig {
        source: config.source,
        target: crate::collect::namespace::NetnsTarget::Host,
        filter: Filter {
            ports: lab.ports.all(),
            ..Filter::default()
        },
    })?;
    let stdout = io::stdout();
    let mut previous: Option<Snapshot> = None;
    for (index, step) in Step::ALL.into_iter().enumerate() {
        let mut out = stdout.lock();
        writeln!(
            out,
            "\n[{}/{}] {}",
            index + 1,
            Step::ALL.len(),
            step.narration(&lab.ports)
        )
        .map_err(AppError::Output)?;
        let outcome = step.perform(&mut lab).map_err(AppError::Demo)?;
        writeln!(out, "  → {outcome}").map_err(AppError::Output)?;
        out.flush().map_err(AppError::Output)?;
        drop(out);
        thread::sleep(step.watch_for());
        let snapshot = sampler.sample(now_ms())?;
        let mut out = stdout.lock();
        writeln!(out).map_err(AppError::Output)?;
        write_report(&mut out, OutputFormat::Table, &snapshot, previous.as_ref())
            .map_err(AppError::Output)?;
        previous = Some(snapshot);
    }
    drop(lab);
    let mut out = stdout.lock();
    writeln!(out, "\n{EPILOGUE}").map_err(AppError::Output)
}
