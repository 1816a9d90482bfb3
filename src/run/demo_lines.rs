//! `tcpwatch demo --no-tui`: narrate each experiment, run it, wait for the
//! kernel, and print the picture of the demo's ports with its alerts.
//!
//! Owns: the line version of the demo. Must not: touch anything but the
//! lab's own loopback sockets.

use std::io::{self, Write};
use std::thread;

use super::now_ms;
use super::report::write_report;
use crate::alert::{Alert, AlertMonitor};
use crate::cli::{Config, OutputFormat};
use crate::collect::SnapshotSource;
use crate::collect::namespace::NetnsTarget;
use crate::collect::sampler::{Sampler, SamplerConfig};
use crate::demo::{EPILOGUE, Step, lab::Lab};
use crate::error::AppError;
use crate::model::{Counters, Filter, JudgingScope, Sampled};

pub fn run_demo_lines(config: &Config) -> Result<(), AppError> {
    let mut lab = Lab::open().map_err(AppError::Demo)?;
    let mut sampler = Sampler::open(SamplerConfig {
        source: config.source,
        target: NetnsTarget::Host,
        filter: Filter {
            ports: lab.ports.all(),
            ..Filter::default()
        },
        scope: JudgingScope {
            crowded_destination_ratio: config.thresholds.port_exhaustion_ratio,
        },
    })?;
    let mut monitor = AlertMonitor::new(config.thresholds.clone());
    let stdout = io::stdout();
    let mut previous: Option<Counters> = None;
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
        let Sampled {
            snapshot,
            aggregates,
        } = sampler.sample(now_ms())?;
        monitor.evaluate(&snapshot, &aggregates);
        let alerts: Vec<Alert> = monitor.active().cloned().collect();
        let deltas = previous.map(|p| snapshot.counters.delta_since(&p));
        let mut out = stdout.lock();
        writeln!(out).map_err(AppError::Output)?;
        write_report(
            &mut out,
            OutputFormat::Table,
            &snapshot,
            &aggregates,
            deltas.as_ref(),
            &alerts,
        )
        .map_err(AppError::Output)?;
        previous = Some(snapshot.counters);
    }
    drop(lab);
    let mut out = stdout.lock();
    writeln!(out, "\n{EPILOGUE}").map_err(AppError::Output)
}
