//! `cargo bench --bench namespaces`: what one all-namespaces round costs on
//! this host, measured through the library's own fleet: every namespace's
//! LISTEN-only dump (the 4 Hz round), every namespace's light sample (the
//! 1 Hz round: listeners, sockstat, netstat, snmp, sysctls) and one whole
//! table (what a round-robin dump costs). Run it with the namespaces and
//! the socket load in place: `benches/namespaces.sh` sets them up.
//!
//! Needs root (setns); without it, prints a skip line and exits 0.

use std::time::{Duration, Instant};

use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::namespaces::discovery::discover;
use tcpwatch::collect::namespaces::fleet::Fleet;
use tcpwatch::model::Filter;
use tcpwatch::model::judging::JudgingScope;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: needs root to enter namespaces");
        return;
    }
    let mut fleet = match Fleet::open(
        SourceChoice::Auto,
        Filter::default(),
        JudgingScope::default(),
    ) {
        Ok(fleet) => fleet,
        Err(error) => {
            eprintln!("cannot start: {error}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let discovery = discover();
    let discover_cost = started.elapsed();
    let statuses = fleet.apply(&discovery);
    let readable = statuses.iter().filter(|s| s.access.is_ok()).count();
    println!(
        "namespaces: {} found, {readable} readable; discovery {:.1} ms",
        statuses.len(),
        discover_cost.as_secs_f64() * 1000.0
    );
    let mut listener_rounds = Vec::new();
    let mut listeners_seen = 0usize;
    for _ in 0..40 {
        let start = Instant::now();
        let _ = fleet.listeners_round(false, 0, &mut |sample| {
            if let tcpwatch::collect::namespaces::fleet::FleetSample::Listeners {
                listeners, ..
            } = &sample
            {
                listeners_seen += listeners.len();
            }
            true
        });
        listener_rounds.push(start.elapsed());
    }
    let mut light_rounds = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let _ = fleet.light_round(0, &mut |_| true);
        light_rounds.push(start.elapsed());
    }
    let mut fulls = Vec::new();
    for _ in 0..5 {
        let Some(id) = fleet.next_round_robin() else {
            break;
        };
        let start = Instant::now();
        let _ = fleet.full(id, 0);
        fulls.push(start.elapsed());
    }
    let listen = median(listener_rounds);
    let light = median(light_rounds);
    let full = if fulls.is_empty() {
        Duration::ZERO
    } else {
        median(fulls)
    };
    let per_sec = |d: Duration| 1.0 / d.as_secs_f64().max(1e-9);
    println!(
        "listener round (all {readable} namespaces): {:.2} ms median = {:.3} ms per namespace; {} listeners per round; at most {:.0} rounds/s, run 4/s = {:.1}% of one core",
        listen.as_secs_f64() * 1000.0,
        listen.as_secs_f64() * 1000.0 / readable.max(1) as f64,
        listeners_seen / 40,
        per_sec(listen),
        listen.as_secs_f64() * 4.0 * 100.0,
    );
    println!(
        "light round (listeners + sockstat + netstat + snmp + sysctls, all namespaces): {:.2} ms median, run 1/s = {:.1}% of one core",
        light.as_secs_f64() * 1000.0,
        light.as_secs_f64() * 100.0,
    );
    println!(
        "one whole table (walks the host's whole hash): {:.1} ms median; at a 5% budget one every {:.1} s",
        full.as_secs_f64() * 1000.0,
        full.as_secs_f64() / 0.05,
    );
}
