//! The scale benchmark: builds a TCP table of N sockets on loopback inside a
//! private network namespace (`population`, `holder`), then times tcpwatch's
//! collector and `ss` side by side on it (`measure`) and prints the table
//! (`report`). Where enabled, it also runs the real binary's live dashboard
//! in a pty on that table and measures it (`dashboard`).
//!
//! Owns: the role dispatch (the same binary runs as the orchestrator, as a
//! socket holder and as the peak-RSS probe, chosen by `ROLE_ENV`) and the
//! run over all sizes. Must not: change anything outside the namespace it
//! created (no host sysctl, no host socket), or signal any process it did
//! not start.

mod cleanup;
mod dashboard;
mod holder;
mod measure;
mod namespace;
mod options;
mod plan;
mod population;
mod process;
mod report;
mod serve;

use std::time::Instant;

#[allow(unused_imports)] // used by tests/bench_smoke.rs
pub use options::{DashboardMode, DashboardOptions, Options};
#[allow(unused_imports)] // used by tests/bench_smoke.rs
pub use report::FULL_QUEUE_MARK;

/// Environment variable that selects a child role: `holder` or `rss`.
pub const ROLE_ENV: &str = "TCPWATCH_BENCH_ROLE";

/// The line printed, and exit status 0, when the benchmark cannot run.
pub const SKIP_NOT_ROOT: &str = "skipped: needs root for a private network namespace";

/// Runs whatever this process was started as; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("holder") => return finish(holder::run()),
        Ok("rss") => return finish(measure::run_rss_probe()),
        _ => {}
    }
    let options = match Options::parse(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", Options::USAGE);
            return 0;
        }
        Err(message) => {
            eprintln!("scale: {message}\n\n{}", Options::USAGE);
            return 2;
        }
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("{SKIP_NOT_ROOT}");
        return 0;
    }
    finish(run(&options).map(|_| ()))
}

fn finish(result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("scale: {message}");
            1
        }
    }
}

/// Runs every size in `options` and prints the results; returns them for
/// callers (the smoke test) that want to check them.
pub fn run(options: &Options) -> Result<Vec<report::SizeResult>, String> {
    cleanup::install_signal_handlers()?;
    namespace::remove_stale();
    let started = Instant::now();
    report::print_preamble(options);
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for &size in &options.sizes {
        if let Some(reason) = plan::memory_shortfall(size) {
            println!("N={}: skipped: {reason}", report::human_count(size));
            continue;
        }
        if let Some(secs) = options.hold_secs {
            if let Err(message) = measure::hold_size(size, secs) {
                failures.push(format!("N={}: {message}", report::human_count(size)));
            }
            continue;
        }
        let result = match measure::measure_size(options, size) {
            Ok(result) => result,
            Err(message) => {
                println!("N={}: FAILED: {message}", report::human_count(size));
                failures.push(format!("N={}: {message}", report::human_count(size)));
                continue;
            }
        };
        report::print_size_detail(&result);
        for problem in smoke_problems(&result) {
            println!("  WARNING: {problem}");
        }
        results.push(result);
    }
    report::print_table(&results);
    println!("\ntotal wall time {:.0} s", started.elapsed().as_secs_f64());
    if failures.is_empty() {
        Ok(results)
    } else {
        Err(failures.join("; "))
    }
}

/// What is implausible about a result (empty when it looks right): used by
/// the smoke test to keep the harness honest.
pub fn smoke_problems(result: &report::SizeResult) -> Vec<String> {
    let mut problems = Vec::new();
    if !result.live_only {
        problems.extend(collector_problems(result));
    }
    if let Some(error) = &result.dashboard_error {
        problems.push(format!("dashboard: {error}"));
    }
    if let Some(d) = &result.dashboard {
        problems.extend(dashboard_problems(d));
    }
    if let Some(error) = &result.serve_error {
        problems.push(format!("serve: {error}"));
    }
    if let Some(s) = &result.serve {
        if !s
            .full_listener_line
            .as_deref()
            .is_some_and(|l| l.ends_with(" 2"))
        {
            problems.push(format!(
                "serve: the listen(1) listener's queue is not 2 in the scrape: {:?}",
                s.full_listener_line
            ));
        }
        if s.scrape_ms.is_empty() || !s.clean_exit {
            problems.push(format!("serve: {} scrapes; {}", s.scrape_ms.len(), s.ended));
        }
    }
    problems
}

/// What is implausible about the collector's figures.
fn collector_problems(result: &report::SizeResult) -> Vec<String> {
    let t = &result.timings;
    let mut problems = Vec::new();
    if t.rounds == 0 {
        problems.push("no round ran".to_string());
    }
    let series = [
        ("bare 1-walk", &t.bare_one),
        ("bare 2-walk", &t.bare_two),
        ("bare 1-walk without TIME_WAIT", &t.bare_no_time_wait),
        ("full tick", &t.tick),
        ("port tick", &t.port_tick),
        ("streamed", &t.streamed),
        ("listeners", &t.listeners),
        ("ss", &t.ss),
        ("ss filtered", &t.ss_port),
        ("ip netns exec true", &t.exec_true),
    ];
    for (name, values) in series {
        if values.len() != t.rounds || values.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            problems.push(format!("{name}: bad timings {values:?}"));
        }
    }
    let plan = plan::Plan::new(result.size).expected();
    let table = plan.total() - plan.listen;
    if result.tick_sockets * 10 < table * 9 {
        problems.push(format!(
            "a full tick saw {} sockets, planned {table}",
            result.tick_sockets
        ));
    }
    if result.port_sockets == 0 || result.port_sockets >= result.tick_sockets {
        problems.push(format!(
            "the --port tick saw {} of {} sockets",
            result.port_sockets, result.tick_sockets
        ));
    }
    if result.rss_peak_kib == 0 || result.listener_calls == 0 {
        problems.push("no RSS or listener-CPU figure".to_string());
    }
    problems
}

/// What is implausible about a dashboard measurement.
fn dashboard_problems(d: &report::DashboardResult) -> Vec<String> {
    let mut problems = Vec::new();
    if d.full_listener_shown().is_none() {
        problems.push(format!(
            "dashboard: the full listen(1) listener is not on the screen:\n{}",
            d.screen
        ));
    }
    if !d.header.first().is_some_and(|l| l.contains("tcpwatch")) {
        problems.push(format!("dashboard: no header line: {:?}", d.header));
    }
    if d.presses.is_empty() || d.missed() > 0 {
        problems.push(format!(
            "dashboard: {} of {} key presses never showed",
            d.missed(),
            d.presses.len()
        ));
    }
    if !(d.cpu_percent.is_finite() && d.cpu_percent >= 0.0) || d.hwm_kib == 0 {
        problems.push(format!(
            "dashboard: bad CPU {} % or VmHWM {} KiB",
            d.cpu_percent, d.hwm_kib
        ));
    }
    if !d.clean_exit {
        problems.push(format!("dashboard: {}", d.ended));
    }
    problems
}
