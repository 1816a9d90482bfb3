//! `tcpwatch demo`: the write-up's experiments on loopback, narrated.
//! On a terminal, the live dashboard opens on the state diagram and watches
//! the lab's ports while the narrator runs the steps beside it; it stays
//! open after the demo until `q`. Otherwise (`--no-tui`, pipes) each step
//! is narrated, run, given time, and followed by a judged picture.
//!
//! Owns: the wiring of lab, sampler, narrator and the modes. Must not: touch
//! anything but the lab's own loopback sockets; draw or hold UI state.

use std::io::{self, Write};
use std::thread;
use std::time::Duration;

use super::dashboard::{DashboardExtras, run_dashboard_beside};
use super::pipeline::{open_live_sampler, sampler_config};
use super::report::write_report;
use crate::app::Msg;
use crate::cli::{Config, OutputFormat};
use crate::collect::SnapshotSource;
use crate::collect::clock::now_ms;
use crate::collect::namespace::NetnsTarget;
use crate::collect::sampler::Sampler;
use crate::demo::narrator::{Pacing, narrate};
use crate::demo::{EPILOGUE, Step, lab::Lab};
use crate::error::AppError;
use crate::model::Filter;
use crate::watch::Watch;

/// The demo samples at least this often, so short-lived states get caught.
const DEMO_INTERVAL: Duration = Duration::from_millis(500);

/// The run's settings, narrowed to the lab's ports in the host namespace.
fn lab_config(config: &Config, lab: &Lab) -> Config {
    let mut demo_config = config.clone();
    demo_config.filter = Filter {
        ports: lab.ports.all(),
        ..Filter::default()
    };
    demo_config.target = NetnsTarget::Host;
    demo_config
}

pub(crate) fn run_demo_dashboard(config: &Config) -> Result<(), AppError> {
    let lab = Lab::open().map_err(AppError::Demo)?;
    let mut demo_config = lab_config(config, &lab);
    demo_config.interval = config.interval.min(DEMO_INTERVAL);
    let open_source = open_live_sampler(sampler_config(&demo_config));
    let extras = DashboardExtras {
        open_diagram: true,
        companion: Some(Box::new(move |sender, stop| {
            narrate(
                lab,
                Pacing::default(),
                now_ms,
                |event| sender.send(Msg::Narration(event)).is_ok(),
                &stop,
            );
        })),
    };
    run_dashboard_beside(&demo_config, open_source, extras)
}

pub(crate) fn run_demo_lines(config: &Config) -> Result<(), AppError> {
    let mut lab = Lab::open().map_err(AppError::Demo)?;
    let demo_config = lab_config(config, &lab);
    let mut sampler: Box<dyn SnapshotSource> =
        Box::new(Sampler::open(sampler_config(&demo_config))?);
    let mut watch = Watch::new(config.thresholds.clone());
    let stdout = io::stdout();
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
        let tick = watch.judge(sampler.sample(now_ms())?);
        let mut out = stdout.lock();
        writeln!(out).map_err(AppError::Output)?;
        write_report(
            &mut out,
            OutputFormat::Table,
            "",
            &tick.snapshot,
            &tick.aggregates,
            tick.deltas.as_ref(),
            &tick.active_alerts,
        )
        .map_err(AppError::Output)?;
    }
    drop(lab);
    let mut out = stdout.lock();
    writeln!(out, "\n{EPILOGUE}").map_err(AppError::Output)
}
