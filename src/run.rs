//! Runs what the user asked for: one picture (`--once`), pictures or events
//! on a non-terminal stdout (`--stream`), the live dashboard on a terminal,
//! `explain` and `demo`.
//!
//! Owns: the dispatch, the wall clock the pure layers are given, and the
//! exit outcome. Must not: parse kernel data or draw screens itself.

mod demo_lines;
mod lines;
mod once;
mod report;

use std::io::{self, IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::alert::Severity;
use crate::cli::{Action, Config, OutputFormat};
use crate::collect::sampler::SamplerConfig;
use crate::error::AppError;

/// How a run ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `--fail-on`: this many alerts at or above the level are active.
    AlertsActive {
        level: Severity,
        count: usize,
    },
}

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

pub fn run(config: Config) -> Result<Outcome, AppError> {
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
            crate::demo::dashboard::run_demo_dashboard(&config).map(|()| Outcome::Done)
        }
        Action::Demo { .. } => demo_lines::run_demo_lines(&config).map(|()| Outcome::Done),
        Action::Serve { listen, max_series } => {
            crate::serve::run_serve(&config, listen, max_series).map(|()| Outcome::Done)
        }
        Action::Watch if config.once => once::run_once(&config),
        Action::Watch if config.stream => lines::run_stream(&config).map(|()| Outcome::Done),
        Action::Watch if config.format == OutputFormat::Table && io::stdout().is_terminal() => {
            crate::live::run_dashboard(&config).map(|()| Outcome::Done)
        }
        Action::Watch => lines::run_lines(&config).map(|()| Outcome::Done),
    }
}
