//! `cargo bench --bench scale`: the reproducible scale benchmark of tcpwatch's
//! collector against `ss`, in a private network namespace.
//!
//! Owns: nothing but the entry point; everything lives in `harness` so the
//! smoke test (`tests/bench_smoke.rs`) runs the same code. Must not: touch
//! the host's network namespace (see `harness` for the rules).

mod harness;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(harness::main(&args));
}
