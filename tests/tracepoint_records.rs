//! The tracepoint decoders and the event ledger on records captured on Linux
//! 6.18 during the write-up's experiments (tests/fixtures/tracepoints/), and
//! a fuzz of the decoder and the ring walker.
//!
//! Each fixture line is `<CLOCK_MONOTONIC ns> <raw record as hex>`, written by
//! `cargo run --example capture_tracepoints`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use proptest::prelude::*;
use tcpwatch::collect::events::decode::{Decoder, TRACEPOINTS};
use tcpwatch::collect::events::format::TraceFormat;
use tcpwatch::collect::events::ring::walk_ring;
use tcpwatch::model::TcpState;
use tcpwatch::model::event::{EventKind, TcpEvent};
use tcpwatch::model::event_ledger::{EventLedger, EventLine};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tracepoints");

fn decoder() -> Decoder {
    let pairs: Vec<_> = TRACEPOINTS
        .iter()
        .map(|tp| {
            let path = format!("{FIXTURES}/format/{}_{}.format", tp.group, tp.name);
            let text = std::fs::read_to_string(&path).expect("format fixture");
            (*tp, TraceFormat::parse(&text).expect("parse format"))
        })
        .collect();
    Decoder::new(&pairs).expect("decoder")
}

fn records(name: &str) -> Vec<(u64, Vec<u8>)> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/records/{name}.hex")).expect("records");
    text.lines()
        .map(|line| {
            let (time, hex) = line.split_once(' ').expect("time and hex");
            let raw = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            (time.parse().expect("time"), raw)
        })
        .collect()
}

fn events(name: &str) -> Vec<TcpEvent> {
    let decoder = decoder();
    let mut events: Vec<TcpEvent> = records(name)
        .iter()
        .map(|(time, raw)| {
            decoder
                .decode(time / 1000, raw)
                .expect("every record decodes")
        })
        .collect();
    events.sort_by_key(|e| e.at_us);
    events
}

fn lines(name: &str, ports: &[u16]) -> (Vec<EventLine>, EventLedger) {
    let mut ledger = EventLedger::new(ports);
    let mut events = events(name);
    let lines = ledger.ingest_batch(&mut events);
    (lines, ledger)
}

fn sequence(lines: &[EventLine], local: SocketAddr) -> Vec<TcpState> {
    lines
        .iter()
        .filter(|l| l.event.local == Some(local))
        .filter_map(|l| l.states.map(|(_, to)| to))
        .collect()
}

#[test]
fn a_short_connection_shows_its_whole_life_on_both_sides() {
    use TcpState::*;
    let (lines, _) = lines("closed_port_and_short_connection", &[10003]);
    let client = lines
        .iter()
        .find_map(|l| match l.event.kind {
            EventKind::StateChange { new: SynSent, .. } => l.event.local,
            _ => None,
        })
        .expect("a connect()");
    assert_eq!(
        sequence(&lines, client),
        vec![SynSent, Established, FinWait1, FinWait2, TimeWait]
    );
    let server_lines: Vec<&EventLine> = lines
        .iter()
        .filter(|l| {
            l.event.local == Some("127.0.0.1:10003".parse().unwrap())
                && l.event.remote == Some(client)
        })
        .collect();
    let server: Vec<TcpState> = server_lines
        .iter()
        .filter_map(|l| l.states.map(|(_, to)| to))
        .collect();
    assert_eq!(
        server,
        vec![SynRecv, Established, CloseWait, LastAck, Close]
    );
}

#[test]
fn a_syn_to_a_closed_port_gives_one_rst_line_naming_the_port() {
    let (lines, ledger) = lines("closed_port_and_short_connection", &[10002]);
    let rst: Vec<&str> = lines
        .iter()
        .filter(|l| matches!(l.event.kind, EventKind::RstSent { .. }))
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        rst,
        vec!["RST sent: SYN to 127.0.0.1:10002, no listener (connect() gets ECONNREFUSED)"]
    );
    assert_eq!(ledger.counts.rst_sent_by_port.get(&10002), Some(&1));
    // The kernel also frees the SYN with reason NO_SOCKET, naming no socket.
    assert_eq!(ledger.counts.drops_by_reason.get("NO_SOCKET"), Some(&1));
}

#[test]
fn listen1_with_eight_clients_shows_every_connect_and_the_syn_retransmits() {
    use TcpState::*;
    let (lines, ledger) = lines("listen1_eight_clients", &[10004]);
    let connects: BTreeSet<SocketAddr> = lines
        .iter()
        .filter(|l| l.states == Some((Close, SynSent)))
        .filter_map(|l| l.event.local)
        .collect();
    assert_eq!(connects.len(), 8, "every client's SYN_SENT, with its port");
    assert!(connects.iter().all(|a| a.port() != 0));
    // listen(1) holds 2: two handshakes complete, six clients stay in
    // SYN_SENT and resend their SYN every second (tcp_syn_linear_timeouts).
    let established = lines
        .iter()
        .filter(|l| l.states == Some((SynSent, Established)))
        .count();
    assert_eq!(established, 2);
    assert_eq!(ledger.counts.syn_retransmits_by_port.get(&10004), Some(&24));
    // SYNs refused on a full accept queue are consumed, not freed with a
    // drop reason: no TCP_LISTEN_OVERFLOW event at all.
    assert_eq!(
        ledger.counts.drops_by_reason.get("TCP_LISTEN_OVERFLOW"),
        None
    );
    // Closing the listener resets its two queued children (reason TCP_STATE),
    // and the six late SYNs then find no listener.
    let reasons: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l.event.kind {
            EventKind::RstSent { reason, .. } => Some(reason.name),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.iter().filter(|r| **r == "TCP_STATE").count(), 2);
    assert_eq!(reasons.iter().filter(|r| **r == "NO_SOCKET").count(), 6);
}

#[test]
fn a_final_ack_on_a_full_accept_queue_is_a_drop_naming_the_listener() {
    let (lines, ledger) = lines("half_open_final_ack_overflow", &[10005]);
    let listener: SocketAddr = "127.0.0.1:10005".parse().unwrap();
    // Six clients whose handshake-completing segment found the queue full,
    // each dropped six times (first try and five retransmits).
    assert_eq!(
        ledger
            .counts
            .drops_by_listener
            .get(&(listener, "TCP_LISTEN_OVERFLOW")),
        Some(&36)
    );
    assert!(lines.iter().any(|l| l.text
        == "Drop at listener 127.0.0.1:10005: TCP_LISTEN_OVERFLOW (the listener's accept queue was full)"));
}

#[test]
fn records_of_other_tracepoints_or_cut_short_decode_to_nothing() {
    let decoder = decoder();
    let (_, raw) = records("closed_port_and_short_connection")
        .into_iter()
        .next()
        .expect("a record");
    for len in 0..raw.len().min(40) {
        let _ = decoder.decode(0, &raw[..len]);
    }
    let mut unknown = raw.clone();
    unknown[0] = 0x01;
    unknown[1] = 0x00;
    assert_eq!(decoder.decode(0, &unknown), None);
}

proptest! {
    #[test]
    fn the_decoder_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..200), id in 0usize..6) {
        let decoder = decoder();
        let ids = [2287u16, 2280, 2279, 2275, 2281, 2310];
        let mut raw = raw;
        if raw.len() >= 2 {
            raw[..2].copy_from_slice(&ids[id].to_ne_bytes());
        }
        let _ = decoder.decode(1, &raw);
        let mut ledger = EventLedger::new(&[]);
        if let Some(event) = decoder.decode(1, &raw) {
            let _ = ledger.ingest(&event);
        }
    }

    #[test]
    fn the_ring_walker_never_panics(
        data in proptest::collection::vec(any::<u8>(), 64..=64),
        tail in 0u64..200,
        len in 0u64..100,
    ) {
        let mut scratch = Vec::new();
        let summary = walk_ring(&data, tail, tail + len, &mut scratch, &mut |_| {});
        prop_assert!(summary.new_tail >= tail);
    }
}
