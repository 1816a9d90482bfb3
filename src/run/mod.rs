//! Runs what the user asked for. Each mode has its own file and consumes
//! the ticks of the one pipeline (`pipeline`): the dashboard on a terminal,
//! one picture per interval (`lines`), one JSON line per event (`stream`),
//! one picture (`once`), and the demo.
//!
//! Owns: the dispatch and the exit outcome. Must not: parse kernel data,
//! judge samples or draw screens itself.

mod all_dashboard;
mod all_lines;
mod all_once;
mod dashboard;
mod demo;
pub mod fleet_pipeline;
pub(crate) mod heap;
mod lines;
mod once;
pub mod pipeline;
mod record;
pub(crate) mod replay;
mod replay_dashboard;
mod report;
mod stream;

use std::io::{self, IsTerminal, Write};

use crate::alert::Severity;
use crate::cli::{Action, Config, OutputFormat};
use crate::error::AppError;

pub use dashboard::color_enabled;

/// How a run ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `--fail-on`: this many alerts at or above the level were active (with
    /// `--for`: raised during the window).
    AlertsActive {
        level: Severity,
        count: usize,
    },
}

pub fn run(config: Config) -> Result<Outcome, AppError> {
    heap::use_one_arena();
    match config.action {
        Action::Explain(state) => {
            let text = match state {
                Some(state) => crate::explain::explain_text(state),
                None => crate::explain::explain_all(),
            };
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).map_err(AppError::Output)?;
            Ok(Outcome::Done)
        }
        Action::Demo { no_tui: false } if io::stdout().is_terminal() => {
            match crate::tui::terminal_cannot_draw() {
                None => demo::run_demo_dashboard(&config).map(|()| Outcome::Done),
                Some(note) => {
                    eprintln!("tcpwatch: note: {note}");
                    demo::run_demo_lines(&config).map(|()| Outcome::Done)
                }
            }
        }
        Action::Demo { .. } => demo::run_demo_lines(&config).map(|()| Outcome::Done),
        Action::Record => record::run_record(&config).map(|()| Outcome::Done),
        Action::Replay => replay::run_replay(&config),
        Action::Serve { listen, max_series } => {
            crate::serve::run_serve(&config, listen, max_series).map(|()| Outcome::Done)
        }
        Action::Completions(shell) => {
            let mut out = io::stdout().lock();
            crate::generate::write_completions(shell, &mut out).map_err(AppError::Output)?;
            Ok(Outcome::Done)
        }
        Action::ManPage => {
            let mut out = io::stdout().lock();
            crate::generate::write_man_page(&mut out).map_err(AppError::Output)?;
            Ok(Outcome::Done)
        }
        Action::Watch if config.once && config.all_namespaces => {
            all_once::run_all_namespaces_once(&config)
        }
        Action::Watch if config.once => once::run_once(&config),
        Action::Watch if config.all_namespaces && config.stream => {
            all_lines::run_all_namespaces_stream(&config).map(|()| Outcome::Done)
        }
        Action::Watch if config.all_namespaces => {
            if config.format == OutputFormat::Table && io::stdout().is_terminal() {
                all_dashboard::run_all_namespaces_dashboard(&config)
            } else {
                all_lines::run_all_namespaces_lines(&config)
            }
            .map(|()| Outcome::Done)
        }
        Action::Watch if config.stream => stream::run_stream(&config).map(|()| Outcome::Done),
        // `--count N` prints N pictures, like vmstat, even on a terminal.
        Action::Watch
            if config.format == OutputFormat::Table
                && config.count.is_none()
                && io::stdout().is_terminal() =>
        {
            match crate::tui::terminal_cannot_draw() {
                None => dashboard::run_dashboard(&config).map(|()| Outcome::Done),
                Some(note) => {
                    eprintln!("tcpwatch: note: {note}");
                    lines::run_lines(&config).map(|()| Outcome::Done)
                }
            }
        }
        Action::Watch => lines::run_lines(&config).map(|()| Outcome::Done),
    }
}
