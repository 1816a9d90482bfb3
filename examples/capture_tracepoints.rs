//! Captures tracepoint records for a few seconds (root): prints each decoded
//! event and, with an output path, saves the raw records as hex lines
//! (`<tracepoint-id> <hex>`) for tests/fixtures/tracepoints/.
//!
//! `cargo run --example capture_tracepoints -- SECONDS [PORT] [OUT]`

use std::io::Write;
use std::time::{Duration, Instant};

use tcpwatch::collect::events::decode::Decoder;
use tcpwatch::collect::events::{EventOptions, EventSource};
use tcpwatch::model::event_ledger::EventLedger;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let ports: Vec<u16> = args
        .next()
        .map(|s| s.split(',').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    let out_path = args.next();
    let mut source = EventSource::open(&EventOptions::for_ports(&ports))?;
    eprintln!(
        "capturing for {seconds} s on {} CPUs, origin {:?}, kernel filters {}",
        source.cpu_count(),
        source.origin(),
        source.kernel_filters()
    );
    let mut raw_lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        source.wait(Duration::from_millis(50));
        source.drain_raw(&mut |time_ns, raw| {
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            raw_lines.push(format!("{time_ns} {hex}"));
        });
    }
    let decoder: &Decoder = source.decoder();
    let mut ledger = EventLedger::new(&ports);
    let mut events = Vec::new();
    for line in &raw_lines {
        let mut parts = line.split(' ');
        let time: u64 = parts.next().and_then(|t| t.parse().ok()).unwrap_or(0);
        let hex = parts.next().unwrap_or("");
        let raw: Vec<u8> = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect();
        if let Some(event) = decoder.decode(time / 1000, &raw) {
            events.push(event);
        }
    }
    events.sort_by_key(|e| e.at_us);
    for line in ledger.ingest_batch(&mut events) {
        println!("{:>12} {}", line.event.at_us % 100_000_000, line.text);
    }
    println!("{:?}", ledger.counts);
    if let Some(path) = out_path {
        let mut file = std::fs::File::create(path)?;
        for line in &raw_lines {
            writeln!(file, "{line}")?;
        }
    }
    eprintln!("stats {:?}", source.stats());
    Ok(())
}
