//! The `tcpwatch` binary: parse flags, run, turn the result into an exit code.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use tcpwatch::run::Outcome;

fn main() -> ExitCode {
    let config = tcpwatch::cli::Args::parse_config();
    match tcpwatch::run::run(config) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::AlertsActive { level, count }) => {
            eprintln!(
                "tcpwatch: {count} alert(s) at {level} or worse were seen (--fail-on {level})"
            );
            ExitCode::from(3)
        }
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tcpwatch: {error}");
            ExitCode::FAILURE
        }
    }
}
