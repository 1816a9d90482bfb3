//! `--once`: one judged sample, printed, and an exit outcome for
//! `--fail-on`; with `--for D`, the samples of D at the interval, then the
//! last picture with every alert raised meanwhile. When exact events are
//! on, the table ends with them (every transition, RST and drop of the
//! window, to the microsecond) and the overflows polling had to infer.
//!
//! Owns: the one-shot flow. Must not: sample beyond `--for`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::Outcome;
use super::pipeline::{
    EventsSpec, WatchSpec, open_live_sampler, sampler_config, spawn_watch_channel,
};
use super::report::write_report;
use crate::alert::{Alert, RaisedDuring, Thresholds};
use crate::cli::{Config, OutputFormat};
use crate::collect::SnapshotSource;
use crate::collect::host::host_name;
use crate::collect::sampler::Sampler;
use crate::error::AppError;
use crate::model::drop_attribution::inferred_overflows;
use crate::model::event_ledger::{EventCounts, EventLine};
use crate::model::{Counter, CounterDeltas};
use crate::output::event_text::write_event_section;
use crate::watch::{FullTick, Tick};

/// One look at the table: level conditions raise on the first evaluation
/// (there is no second one to confirm them).
fn single_look(thresholds: &Thresholds) -> Thresholds {
    Thresholds {
        raise_after: 1,
        ..thresholds.clone()
    }
}

/// Takes one judged sample (owners looked up inline, so the one picture is
/// complete) and prints it with its alerts; with `--for`, keeps sampling
/// for that long and prints the last picture, the counter growth over the
/// window and every alert raised during it.
pub(crate) fn run_once(config: &Config) -> Result<Outcome, AppError> {
    let mut spec = WatchSpec::from_config(config)?;
    spec.thresholds = single_look(&config.thresholds);
    // One picture has no "between samples": events only for a window.
    if config.once_for.is_some() {
        spec.events = EventsSpec::asked(config);
    } else {
        // Nor does it follow connections from sample to sample.
        spec.follow_connections = false;
    }
    let sampler = sampler_config(config);
    // One picture looks owners up inline, so it is complete; a `--for`
    // window looks them up in the background, as the live modes do, so a
    // slow /proc scan never thins out its samples.
    let (ticks, handle) = if config.once_for.is_some() {
        spawn_watch_channel(spec, open_live_sampler(sampler))?
    } else {
        // The picture prints no connection: no record is copied.
        spawn_watch_channel(spec, move || {
            Sampler::open(sampler).map(|s| Box::new(s.counting_only()) as Box<dyn SnapshotSource>)
        })?
    };
    handle.print_events_note();
    let events_note = handle.events_note().map(str::to_string);
    let first = next_full(&ticks, true)?;
    let seen = match config.once_for {
        None => Seen {
            alerts: first.active_alerts.clone(),
            events: SeenEvents::starting_at(&first),
            last: first,
            deltas: None,
        },
        Some(window) => watch_for(&ticks, first, window, config.interval)?,
    };
    drop(handle);
    let Seen {
        last,
        deltas,
        alerts,
        events,
    } = seen;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write_report(
        &mut out,
        config.format,
        &host_name(),
        &last.snapshot,
        &last.aggregates,
        deltas.as_ref(),
        &alerts,
    )
    .map_err(AppError::Output)?;
    // The events have no place in the JSON picture (`--stream` carries
    // them); the table gets a section when events were on.
    if config.format == OutputFormat::Table {
        let written = if events.on && (config.once_for.is_some() || !events.lines.is_empty()) {
            events.write(&mut out, deltas.as_ref(), config.once_for)
        } else if let (Some(note), Some(_)) = (&events_note, config.once_for) {
            writeln!(
                out,
                "\nExact events: {}",
                note.trim_start_matches("tcpwatch: ")
            )
        } else {
            Ok(())
        };
        written.map_err(AppError::Output)?;
    }
    Ok(fail_on_outcome(config, &alerts))
}

/// The next full tick. The first sample must work; later failures are
/// reported on stderr and sampling goes on.
fn next_full(ticks: &Receiver<Tick>, first: bool) -> Result<Box<FullTick>, AppError> {
    loop {
        match ticks.recv().map_err(|_| AppError::SamplerLost)? {
            Tick::Full(full) => return Ok(full),
            Tick::Failed { error, .. } if first => return Err(error.into()),
            Tick::Failed { error, .. } => eprintln!("tcpwatch: sample failed: {error}"),
            Tick::Listeners { .. } | Tick::Totals { .. } => {}
        }
    }
}

/// What `--once` prints: the last picture, the counter growth over
/// `--for`, and the alerts.
struct Seen {
    last: Box<FullTick>,
    deltas: Option<CounterDeltas>,
    alerts: Vec<Alert>,
    events: SeenEvents,
}

/// The exact events of the run, when events were on.
struct SeenEvents {
    on: bool,
    lines: Vec<EventLine>,
    first_counts: EventCounts,
    last_counts: EventCounts,
    /// Listeners seen full in any sample (polling's attribution).
    full_listeners: BTreeSet<SocketAddr>,
}

impl SeenEvents {
    fn starting_at(first: &FullTick) -> SeenEvents {
        let mut seen = SeenEvents {
            on: first.event_counts.is_some(),
            lines: Vec::new(),
            first_counts: first.event_counts.clone().unwrap_or_default(),
            last_counts: EventCounts::default(),
            full_listeners: BTreeSet::new(),
        };
        seen.observe(first);
        seen
    }

    fn observe(&mut self, tick: &FullTick) {
        if self.lines.len() < MAX_KEPT_EVENTS {
            let room = MAX_KEPT_EVENTS - self.lines.len();
            self.lines.extend(tick.events.iter().take(room).cloned());
        }
        if let Some(counts) = &tick.event_counts {
            self.last_counts = counts.clone();
        }
        self.full_listeners.extend(
            tick.aggregates
                .listeners
                .iter()
                .filter(|l| l.is_full() == Some(true))
                .map(|l| l.local),
        );
    }

    fn write(
        &self,
        out: &mut dyn Write,
        deltas: Option<&CounterDeltas>,
        window: Option<Duration>,
    ) -> io::Result<()> {
        writeln!(out)?;
        let exact = |counts: &EventCounts| {
            counts
                .drops_by_reason
                .get("TCP_LISTEN_OVERFLOW")
                .copied()
                .unwrap_or(0)
        };
        let inferred = deltas.and_then(|d| {
            inferred_overflows(
                d.get(Counter::ListenOverflows).unwrap_or(0),
                exact(&self.last_counts).saturating_sub(exact(&self.first_counts)),
                self.full_listeners.iter().copied().collect(),
            )
        });
        let title = match window {
            Some(window) => format!(
                "Exact events during --for {}",
                humantime::format_duration(window)
            ),
            None => "Exact events".to_string(),
        };
        write_event_section(
            out,
            &title,
            &self.lines,
            Some(&self.last_counts),
            inferred.as_ref(),
            MAX_PRINTED_EVENTS,
        )
    }
}

/// Events kept over a `--for` window at most (memory stays bounded).
const MAX_KEPT_EVENTS: usize = 100_000;
/// Event lines printed at most; the first are kept.
const MAX_PRINTED_EVENTS: usize = 500;

/// `--for`: full ticks until `window` has passed since the first (a
/// quarter interval early counts, so `--for 3s` at 1 s takes 4 samples),
/// gathering every alert raised.
fn watch_for(
    ticks: &Receiver<Tick>,
    first: Box<FullTick>,
    window: Duration,
    interval: Duration,
) -> Result<Seen, AppError> {
    let window_ms =
        u64::try_from(window.saturating_sub(interval / 4).as_millis()).unwrap_or(u64::MAX);
    let mut raised = RaisedDuring::default();
    raised.observe(&first.alert_events, &first.active_alerts);
    let mut events = SeenEvents::starting_at(&first);
    let mut last = None;
    let mut samples = 1;
    if window_ms > 0 {
        loop {
            let tick = next_full(ticks, false)?;
            samples += 1;
            raised.observe(&tick.alert_events, &tick.active_alerts);
            events.observe(&tick);
            let done = tick.at_ms().saturating_sub(first.at_ms()) >= window_ms;
            last = Some(tick);
            if done {
                break;
            }
        }
    }
    let deltas = last
        .as_ref()
        .map(|last| last.snapshot.counters.delta_since(&first.snapshot.counters));
    let mut last = last.unwrap_or(first);
    last.snapshot.notes.push(format!(
        "--for {}: {samples} samples; counter growth and alerts cover the whole window, the rest is the last sample",
        humantime::format_duration(window),
    ));
    Ok(Seen {
        last,
        deltas,
        alerts: raised.finish(),
        events,
    })
}

/// `--fail-on LEVEL`: alerts at or above it make the run exit 3.
pub(super) fn fail_on_outcome(config: &Config, alerts: &[crate::alert::Alert]) -> Outcome {
    let Some(level) = config.fail_on else {
        return Outcome::Done;
    };
    match alerts.iter().filter(|a| a.severity >= level).count() {
        0 => Outcome::Done,
        count => Outcome::AlertsActive { level, count },
    }
}
