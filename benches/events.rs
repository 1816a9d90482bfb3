//! Benchmark of the tracepoint event reader under connection churn (root).
//!
//! In a private network namespace (created here; only its loopback exists,
//! and it vanishes with the process), client threads open and close
//! connections to a listener at a target rate while the reader drains the
//! perf rings every 50 ms, decodes every record and runs the event ledger,
//! as `--stream` does. Reports the rate reached, the events read, the
//! reader thread's own CPU (CLOCK_THREAD_CPUTIME_ID) as a share of one core,
//! and what the kernel lost with the default ring size.
//!
//! `cargo bench --bench events -- [CONNECTIONS_PER_SECOND] [SECONDS]`
//! (defaults 5000 and 10).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tcpwatch::collect::events::reader::DRAIN_EVERY;
use tcpwatch::collect::events::{EventOptions, EventSource};
use tcpwatch::model::event_ledger::EventLedger;

const PORT: u16 = 7411;
const CLIENT_THREADS: usize = 4;
/// Destinations rotated so ephemeral ports never run out (TIME_WAIT keeps
/// each port for 60 s per destination).
const DESTINATIONS: u8 = 64;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("events bench: needs root (perf_event_open, a private namespace); skipped");
        return;
    }
    // SAFETY: still single-threaded; the namespace is this process's own.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!(
            "events bench: cannot create a network namespace: {}",
            std::io::Error::last_os_error()
        );
        std::process::exit(1);
    }
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    if !up.is_ok_and(|s| s.success()) {
        eprintln!("events bench: `ip link set lo up` failed in the private namespace");
        std::process::exit(1);
    }

    let mut source = EventSource::open(&EventOptions::for_ports(&[PORT])).unwrap_or_else(|e| {
        eprintln!("events bench: {e}");
        std::process::exit(1)
    });
    let listener = TcpListener::bind(("0.0.0.0", PORT)).expect("bind in the private namespace");
    let stop = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicU64::new(0));

    let acceptor = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            listener.set_nonblocking(true).expect("nonblocking");
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => thread::sleep(Duration::from_micros(200)),
                }
            }
        })
    };
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|index| {
            let stop = Arc::clone(&stop);
            let connections = Arc::clone(&connections);
            let per_thread = rate as f64 / CLIENT_THREADS as f64;
            thread::spawn(move || {
                let start = Instant::now();
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let due = (start.elapsed().as_secs_f64() * per_thread) as u64;
                    if done >= due {
                        thread::sleep(Duration::from_micros(500));
                        continue;
                    }
                    let host =
                        1 + ((done as usize * CLIENT_THREADS + index) % DESTINATIONS as usize);
                    let target = SocketAddr::from((Ipv4Addr::new(127, 0, 0, host as u8), PORT));
                    if let Ok(stream) = TcpStream::connect(target) {
                        drop(stream);
                        connections.fetch_add(1, Ordering::Relaxed);
                    }
                    done += 1;
                }
            })
        })
        .collect();

    let mut ledger = EventLedger::new(&[PORT]);
    let mut events = Vec::new();
    let mut read = 0u64;
    let mut lines = 0u64;
    let started = Instant::now();
    let cpu_before = thread_cpu();
    while started.elapsed() < Duration::from_secs(seconds) {
        source.wait(DRAIN_EVERY);
        events.clear();
        let lost = source.drain(&mut events);
        ledger.note_lost(lost);
        read += events.len() as u64;
        lines += ledger.ingest_batch(&mut events).len() as u64;
    }
    let reader_cpu = thread_cpu() - cpu_before;
    let wall = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    let _ = acceptor.join();
    // What arrived after the clock stopped still counts for the loss.
    events.clear();
    let _ = source.drain(&mut events);
    let stats = source.stats();

    let made = connections.load(Ordering::Relaxed);
    println!(
        "events bench: {rate} connections/s asked for {seconds} s, ring {} pages per CPU, {} CPUs",
        tcpwatch::collect::events::source::DEFAULT_RING_PAGES,
        source.cpu_count()
    );
    println!(
        "  connections made      {made} ({:.0}/s)",
        made as f64 / wall.as_secs_f64()
    );
    println!(
        "  events read           {read} ({:.0}/s), {lines} lines",
        read as f64 / wall.as_secs_f64()
    );
    println!(
        "  reader CPU            {:.3} s over {:.1} s = {:.1}% of one core ({:.2} µs per event)",
        reader_cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * reader_cpu.as_secs_f64() / wall.as_secs_f64(),
        1e6 * reader_cpu.as_secs_f64() / read.max(1) as f64
    );
    println!("  lost (kernel)         {}", stats.lost);
    println!("  malformed bytes       {}", stats.malformed_bytes);
    println!("  ledger lost count     {}", ledger.counts.lost);
}
