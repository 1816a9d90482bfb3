//! `tcpwatch demo`: the write-up's experiments on loopback, narrated.
//! On a terminal, the live dashboard opens on the state diagram and watches
//! the lab's ports while the narrator runs the steps beside it; it stays
//! open after the demo until `q`. Otherwise (`--no-tui`, pipes) each step
//! is narrated, run, given time, and followed by a judged picture and, when
//! exact events are on, the step's exact sequence (the closed port's RST).
//! With stdin a terminal the viewer then steps with Enter (`b` back a step,
//! `q` quit); otherwise the steps run one after the other.
//!
//! Owns: the wiring of lab, sampler, narrator and the modes. Must not: touch
//! anything but the lab's own loopback sockets; draw or hold UI state.

use std::io::{self, IsTerminal, Write};
use std::thread;
use std::time::Duration;

use super::dashboard::{DashboardExtras, run_dashboard_beside};
use super::pipeline::{
    EventsSpec, open_live_sampler, sampler_config, start_event_reader, take_event_batches,
};
use super::report::write_report;
use crate::app::Msg;
use crate::cli::{Config, OutputFormat};
use crate::collect::SnapshotSource;
use crate::collect::clock::now_ms;
use crate::collect::namespace::NetnsTarget;
use crate::collect::sampler::Sampler;
use crate::demo::controller::Pacing;
use crate::demo::narrator::narrate;
use crate::demo::{EPILOGUE, Step, bring_lab_to, lab::Lab};
use crate::error::AppError;
use crate::model::Filter;
use crate::output::event_text::{count_lines, write_event_section};
use crate::watch::Watch;

/// Event lines printed per step at most (the newest are kept).
const MAX_STEP_EVENTS: usize = 60;
/// Time for the event reader's last drain to arrive before a step's sample.
const EVENTS_SETTLE: Duration = Duration::from_millis(120);

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
        companion: Some(Box::new(move |sender, controls| {
            narrate(
                lab,
                Pacing::default(),
                now_ms,
                |event| sender.send(Msg::Narration(event)).is_ok(),
                &controls,
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
    // Exact events for the lab's ports: each step then shows its sequence.
    let (events, events_note) = start_event_reader(&EventsSpec::asked(&demo_config))?;
    if let Some(note) = events_note {
        eprintln!("{note}");
    }
    let (_reader, batches) = match events {
        Some((reader, batches)) => {
            watch = watch.with_events(&demo_config.filter.ports);
            (Some(reader), Some(batches))
        }
        None => (None, None),
    };
    let stdout = io::stdout();
    let mut last_counts = None;
    let mut exact_overflows = 0;
    // On a terminal the viewer steps with Enter (and b, q); otherwise the
    // steps run one after the other.
    let interactive = io::stdin().is_terminal();
    let mut index = 0;
    let mut back = false;
    while let Some(&step) = Step::ALL.get(index) {
        let mut out = stdout.lock();
        writeln!(
            out,
            "\n[{}/{}] {}",
            index + 1,
            Step::ALL.len(),
            step.narration_for_report(&lab.ports)
        )
        .map_err(AppError::Output)?;
        let outcome = bring_lab_to(&mut lab, index + 1).map_err(AppError::Demo)?;
        let outcome = match (back, outcome.is_empty()) {
            (_, true) => "nothing to change: the sockets already show this step".to_string(),
            (true, false) => format!("← back a step: {outcome}"),
            (false, false) => outcome,
        };
        writeln!(out, "  → {outcome}").map_err(AppError::Output)?;
        out.flush().map_err(AppError::Output)?;
        drop(out);
        thread::sleep(step.watch_for());
        // The reader drains its rings every 50 ms: wait for the last drain.
        thread::sleep(EVENTS_SETTLE);
        if let Some(batches) = &batches {
            take_event_batches(&mut watch, batches);
        }
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
        if tick.event_counts.is_some() {
            writeln!(out).map_err(AppError::Output)?;
            let inferred = tick.inferred_overflows(exact_overflows);
            write_event_section(
                &mut out,
                "Exact events of this step",
                &tick.events,
                None,
                inferred.as_ref(),
                MAX_STEP_EVENTS,
            )
            .map_err(AppError::Output)?;
        }
        exact_overflows = tick.exact_overflow_drops();
        last_counts = tick.event_counts.clone();
        drop(out);
        let choice = if interactive {
            ask_what_next(index)?
        } else {
            LineChoice::Next
        };
        match choice {
            LineChoice::Next => index += 1,
            LineChoice::Previous => index = index.saturating_sub(1),
            LineChoice::Quit => break,
        }
        back = choice == LineChoice::Previous;
    }
    drop(lab);
    let mut out = stdout.lock();
    if let Some(counts) = &last_counts {
        writeln!(out).map_err(AppError::Output)?;
        for line in count_lines(counts) {
            writeln!(out, "{line}").map_err(AppError::Output)?;
        }
    }
    writeln!(out, "\n{EPILOGUE}").map_err(AppError::Output)
}

/// What the viewer typed after a step's picture, in `demo --no-tui` on a
/// terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineChoice {
    Next,
    Previous,
    Quit,
}

/// Enter (or `n`) goes on, `b` goes back a step, `q` (or the end of
/// input) stops; anything else goes on too.
fn line_choice(line: Option<&str>) -> LineChoice {
    match line.map(str::trim) {
        None | Some("q" | "quit") => LineChoice::Quit,
        Some("b" | "back" | "p" | "previous") => LineChoice::Previous,
        Some(_) => LineChoice::Next,
    }
}

/// Asks on stderr, reads a line from the terminal. At the first step, `b`
/// shows it again.
fn ask_what_next(index: usize) -> Result<LineChoice, AppError> {
    let last = index + 1 == Step::ALL.len();
    eprint!(
        "{} · b Enter: back a step · q Enter: quit > ",
        if last {
            "Enter: end the demo"
        } else {
            "Enter: next step"
        }
    );
    io::stderr().flush().map_err(AppError::Output)?;
    let mut line = String::new();
    let read = io::stdin().read_line(&mut line).map_err(AppError::Output)?;
    Ok(line_choice((read > 0).then_some(line.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_line_steps_the_demo() {
        assert_eq!(line_choice(Some("\n")), LineChoice::Next);
        assert_eq!(line_choice(Some("n\n")), LineChoice::Next);
        assert_eq!(line_choice(Some(" b \n")), LineChoice::Previous);
        assert_eq!(line_choice(Some("q\n")), LineChoice::Quit);
        assert_eq!(line_choice(None), LineChoice::Quit, "end of input");
    }
}
