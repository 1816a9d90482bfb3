//! The continuous line outputs: one picture per interval (pipes, logs,
//! `--format json` on a terminal) and `--stream` (one JSON line per event).
//! Both use the shared sampling schedule, feed the 10 Hz listener samples to
//! the alert monitor, and evaluate alerts on every full sample.
//!
//! Owns: the sampling thread for line modes and the event lines. Must not:
//! touch terminal modes.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc;
use std::thread;

use super::now_ms;
use super::report::write_report;
use crate::alert::{Alert, AlertEvent, AlertMonitor, Severity};
use crate::cli::{Config, OutputFormat};
use crate::collect::sampler::Sampler;
use crate::error::AppError;
use crate::model::transitions::TransitionTracker;
use crate::model::{Aggregates, Sampled, Snapshot};
use crate::output::json::alert_json;
use crate::output::stream::transition_json;
use crate::sampling::{SamplerControl, SamplerEvent, SamplingTiming, sample_forever};

/// Starts the sampling thread: it opens the sampler (entering the namespace)
/// and sends full and listener-only samples until the receiver goes away.
/// The returned sender stops it.
fn spawn_sampling(
    config: &Config,
) -> Result<(mpsc::Receiver<SamplerEvent>, mpsc::Sender<SamplerControl>), AppError> {
    let sampler_config = config.sampler_config();
    let timing = SamplingTiming {
        interval: config.interval,
        listen_interval: config.listen_interval,
    };
    let (sender, receiver) = mpsc::sync_channel(64);
    let (control, control_inbox) = mpsc::channel();
    thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || {
            let mut sampler =
                match Sampler::open(sampler_config).and_then(Sampler::with_background_owners) {
                    Ok(sampler) => sampler,
                    Err(error) => {
                        let _ = sender.send(SamplerEvent::Full {
                            at_ms: now_ms(),
                            result: Err(error),
                        });
                        return;
                    }
                };
            sample_forever(&mut sampler, timing, &control_inbox, |event| {
                sender.send(event).is_ok()
            });
        })
        .map_err(AppError::Thread)?;
    Ok((receiver, control))
}

/// Consumes sampler events: listener samples go to the monitor; each full
/// sample is evaluated and handed to `on_sample` with the alert events.
fn for_each_sample(
    config: &Config,
    mut on_sample: impl FnMut(
        &Snapshot,
        &Aggregates,
        &[AlertEvent],
        &AlertMonitor,
    ) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let (events, _control) = spawn_sampling(config)?;
    let mut monitor = AlertMonitor::new(config.thresholds.clone());
    let mut first = true;
    for event in events {
        match event {
            SamplerEvent::Listeners { at_ms, listeners } => {
                monitor.observe_listeners(&listeners, at_ms)
            }
            // The line output prints whole pictures, at full samples only.
            SamplerEvent::Totals { .. } => {}
            SamplerEvent::Full { result, .. } => {
                // The first sample must work; later failures are reported and
                // sampling goes on.
                let Sampled {
                    snapshot,
                    aggregates,
                } = match result {
                    Ok(sampled) => *sampled,
                    Err(error) if first => return Err(error.into()),
                    Err(error) => {
                        eprintln!("tcpwatch: sample failed: {error}");
                        continue;
                    }
                };
                first = false;
                let alert_events = monitor.evaluate(&snapshot, &aggregates);
                on_sample(&snapshot, &aggregates, &alert_events, &monitor)?;
            }
        }
    }
    Err(AppError::SamplerLost)
}

fn ring_bell_if(config: &Config, out: &mut dyn Write, events: &[AlertEvent]) -> io::Result<()> {
    let raised = events
        .iter()
        .any(|e| matches!(e, AlertEvent::Raised(a) if a.severity >= Severity::Warning));
    if config.bell && raised {
        out.write_all(b"\x07")?;
    }
    Ok(())
}

/// Prints one picture per interval, with the active alerts.
pub fn run_lines(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let separate = config.format == OutputFormat::Table && stdout.is_terminal();
    let mut previous_counters = None;
    for_each_sample(config, |snapshot, aggregates, events, monitor| {
        let deltas = previous_counters.map(|c| snapshot.counters.delta_since(&c));
        let alerts: Vec<Alert> = monitor.active().cloned().collect();
        let mut out = stdout.lock();
        if previous_counters.is_some() && config.format == OutputFormat::Table {
            writeln!(out, "{}", if separate { "" } else { "----" }).map_err(AppError::Output)?;
        }
        ring_bell_if(config, &mut out, events).map_err(AppError::Output)?;
        write_report(
            &mut out,
            config.format,
            snapshot,
            aggregates,
            deltas.as_ref(),
            &alerts,
        )
        .map_err(AppError::Output)?;
        previous_counters = Some(snapshot.counters);
        Ok(())
    })
}

fn write_json_line(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), AppError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| AppError::Output(io::Error::from(e)))?;
    writeln!(out).map_err(AppError::Output)
}

/// `--stream`: one JSON line per connection state change and per alert
/// raised or cleared, as it happens.
pub fn run_stream(config: &Config) -> Result<(), AppError> {
    let stdout = io::stdout();
    let mut tracker = TransitionTracker::default();
    for_each_sample(config, |snapshot, _, events, _| {
        let transitions = tracker.observe_snapshot(snapshot);
        let mut out = stdout.lock();
        ring_bell_if(config, &mut out, events).map_err(AppError::Output)?;
        for transition in &transitions {
            write_json_line(&mut out, &transition_json(transition))?;
        }
        for event in events {
            let (name, alert) = match event {
                AlertEvent::Raised(alert) => ("raised", alert),
                AlertEvent::Cleared(alert) => ("cleared", alert),
            };
            let mut value = alert_json(alert);
            if let Some(object) = value.as_object_mut() {
                object.insert("type".to_string(), "alert".into());
                object.insert("event".to_string(), name.into());
                object.insert("at_ms".to_string(), snapshot.taken_at_ms.into());
            }
            write_json_line(&mut out, &value)?;
        }
        out.flush().map_err(AppError::Output)
    })
}
