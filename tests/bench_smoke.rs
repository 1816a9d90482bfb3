//! Keeps the scale benchmark (`benches/scale`) from rotting: runs it at a
//! tiny size (2k sockets, 3 rounds, 1 s of listener sampling, and the real
//! dashboard in a pty for 1 + 2 s with 4 keys) and checks that it measured
//! something plausible, including that the dashboard shows the benchmark's
//! full listen(1) listener as `2/1 FULL`. Needs root for the private
//! network namespace; otherwise prints the skip reason and passes.
//!
//! A `harness = false` test: the same binary is re-executed as the
//! benchmark's socket holders and RSS probe, chosen by an environment
//! variable, before any test logic runs.

#[path = "../benches/scale/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

fn main() {
    if std::env::var_os(harness::ROLE_ENV).is_some() {
        std::process::exit(harness::main(&[]));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Under CI=true a benchmark smoke test that cannot run fails.
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: bench_smoke {}",
            harness::SKIP_NOT_ROOT
        );
        println!("bench_smoke: {}", harness::SKIP_NOT_ROOT);
        return;
    }
    let options = harness::Options {
        sizes: vec![2_000],
        reps: 3,
        listener_secs: 1.0,
        dashboard: harness::DashboardOptions {
            mode: harness::DashboardMode::On,
            warmup_secs: 1.0,
            window_secs: 2.0,
            keys: 4,
        },
        ..harness::Options::default()
    };
    let results = match harness::run(&options) {
        Ok(results) => results,
        Err(message) => {
            eprintln!("bench_smoke: FAILED: {message}");
            std::process::exit(1);
        }
    };
    let [result] = &results[..] else {
        eprintln!(
            "bench_smoke: FAILED: expected one result, got {}",
            results.len()
        );
        std::process::exit(1);
    };
    let mut problems = harness::smoke_problems(result);
    // A 2k table leaves room for the listeners panel: the full listen(1)
    // listener must show there as its queue, not only as an alert.
    match &result.dashboard {
        Some(d) if d.screen.contains(harness::FULL_QUEUE_MARK) => {}
        Some(d) => problems.push(format!(
            "the dashboard does not show {}:\n{}",
            harness::FULL_QUEUE_MARK,
            d.screen
        )),
        None => problems.push("the dashboard was not measured".to_string()),
    }
    if !problems.is_empty() {
        eprintln!("bench_smoke: FAILED: {}", problems.join("; "));
        std::process::exit(1);
    }
    println!("bench_smoke: ok");
}
