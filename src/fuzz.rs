//! Fuzzing every parser of outside input, on the stable toolchain with
//! proptest: arbitrary bytes, and mutations (flips, inserts, cuts, splices,
//! boundary numbers) of seeds captured from a real machine
//! (tests/fixtures/proc, tests/fixtures/netlink, tests/fixtures/fuzz).
//! The property is always the same: no panic, whatever the input.
//!
//! - `cargo test --lib fuzz`: a short run of every target (a few hundred
//!   inputs each), part of the normal suite and of CI.
//! - `cargo test --release -- --ignored fuzz`: the long run, 10 minutes per
//!   target (`TCPWATCH_FUZZ_SECS` changes it), printing inputs per target.
//!
//! Targets: /proc/net/tcp{,6} lines, /proc/net/{netstat,snmp,sockstat},
//! sock_diag netlink replies, sysctl values, durations, command-line values
//! (ports, states, percents, rates, intervals), /proc names, fd links and
//! fd directory entries (getdents64), /proc/PID/status fields, tracepoint
//! `format` files, tracepoint records and perf ring contents, HTTP requests
//! to a real `serve` on loopback,
//! recording files and their frames, cgroup files, and the text a user types
//! (filters, `--at` times, namespace links, CPU lists). A parser of outside
//! input that is added later gets its target here.

use std::ffi::OsStr;
use std::io::{Cursor, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::app::filter::FilterQuery;
use crate::cli::Args;
use crate::collect::DumpRequest;
use crate::collect::counters::{parse_netstat, parse_snmp, parse_sockstat};
use crate::collect::events::decode::Decoder;
use crate::collect::events::decode::fixtures::captured_decoder;
use crate::collect::events::format::TraceFormat;
use crate::collect::events::perf::parse_cpu_list;
use crate::collect::events::ring::{RingRecord, walk_ring};
use crate::collect::namespaces::cgroup::origin_from_cgroup;
use crate::collect::namespaces::discovery::parse_ns_link;
use crate::collect::netlink_wire::{BLANK_RECORD, ReplyReader, decode_inet_diag_msg, ends_dump};
use crate::collect::owner_scan::dirent_name;
use crate::collect::process::{parse_comm, parse_pid, parse_socket_link_bytes};
use crate::collect::procfs::{dump_lines, parse_socket_line};
use crate::collect::self_usage::status_field_kib;
use crate::collect::sysctl::{parse_port_range, parse_u32, parse_u64};
use crate::duration::{parse_duration, parse_duration_within};
use crate::format::timestamp::parse_rfc3339;
use crate::model::TcpState;
use crate::record::Recording;
use crate::record::format::{decode_footer, decode_header, decode_index, decode_record};
use crate::record::frame::{decompress, tick_from_text};
use crate::run::replay::parse_at;

/// Inputs per target in the short run.
const SHORT_CASES: u32 = 300;
/// Default length of the long run, per target.
const LONG_SECS: u64 = 600;

/// A seed file, whole, and each of its lines as a seed of its own.
fn seeds(paths: &[&str], by_line: bool) -> Arc<Vec<Vec<u8>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds = Vec::new();
    for path in paths {
        let bytes = std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("seed {path}: {e}"));
        if path.ends_with(".hex") {
            // Captured tracepoint records: `<time> <hex bytes>` per line.
            seeds.extend(hex_records(&bytes));
            continue;
        }
        if by_line {
            seeds.extend(bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec));
        }
        seeds.push(bytes);
    }
    Arc::new(seeds)
}

fn hex_records(text: &[u8]) -> Vec<Vec<u8>> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|hex| {
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .collect()
}

/// Fragments that tend to sit on a parser's edges.
const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e3",
    b"NaN",
    b"inf",
    b":",
    b" ",
    b"\t",
    b"\n",
    b"\0",
    b"[",
    b"]",
    b".",
    b"FFFFFFFF",
    b"0A",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\xc3\xa9",
    b"\xff",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
    Interesting(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), 0usize..256)
            .prop_map(|(from, to, n)| Mutation::Splice(from, to, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(at, i)| Mutation::Interesting(at, i)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *m {
            Mutation::Flip(i, b) if len > 0 => bytes[i % len] ^= b | 1,
            Mutation::Flip(..) => {}
            Mutation::Insert(i, b) => bytes.insert(at(i), b),
            Mutation::Delete(i, n) => {
                let start = at(i).min(len);
                let end = (start + n).min(len);
                bytes.drain(start..end);
            }
            Mutation::Truncate(i) => bytes.truncate(at(i)),
            Mutation::Splice(from, to, n) if len > 0 => {
                let start = from % len;
                let chunk = bytes[start..(start + n).min(len)].to_vec();
                let to = at(to);
                bytes.splice(to..to, chunk);
            }
            Mutation::Splice(..) => {}
            Mutation::Interesting(i, which) => {
                let fragment = INTERESTING[which % INTERESTING.len()];
                let to = at(i);
                bytes.splice(to..to, fragment.iter().copied());
            }
        }
    }
    bytes
}

/// Arbitrary bytes one time in four, mutated seeds otherwise.
fn input(seeds: Arc<Vec<Vec<u8>>>, max_len: usize) -> BoxedStrategy<Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..max_len),
        3 => (0..count, proptest::collection::vec(mutation(), 0..12))
            .prop_map(move |(i, ms)| apply(seeds[i].clone(), &ms)),
    ]
    .boxed()
}

/// Runs `target` on `cases` inputs, or for `budget` when given; returns how
/// many inputs ran. A panic fails the test with the (shrunk) input.
fn fuzz(
    name: &str,
    strategy: BoxedStrategy<Vec<u8>>,
    target: fn(&[u8]),
    budget: Option<Duration>,
) -> u64 {
    let started = Instant::now();
    let mut total = 0u64;
    let batch = if budget.is_some() {
        20_000
    } else {
        SHORT_CASES
    };
    loop {
        let mut runner = TestRunner::new(Config {
            cases: batch,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |bytes| {
            target(&bytes);
            Ok(())
        });
        if let Err(failure) = result {
            panic!("fuzz target {name} failed after {total} inputs: {failure}");
        }
        total += u64::from(batch);
        match budget {
            Some(budget) if started.elapsed() < budget => continue,
            _ => break,
        }
    }
    if let Some(budget) = budget {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "fuzz {name}: {total} inputs in {secs:.0} s ({:.0}/s), budget {budget:?}, no panic",
            total as f64 / secs
        );
    }
    total
}

fn long_budget() -> Duration {
    let secs = std::env::var("TCPWATCH_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LONG_SECS);
    Duration::from_secs(secs)
}

// ---- targets -------------------------------------------------------------

fn proc_tcp(bytes: &[u8]) {
    let mut line = String::new();
    for request in [DumpRequest::all(), DumpRequest::listeners(&[22, 80])] {
        let _ = dump_lines(Cursor::new(bytes), &mut line, 10, &request, &mut |_| {});
    }
    let text = String::from_utf8_lossy(bytes);
    for l in text.lines().take(64) {
        for ms_per_tick in [0, 1, 10, u32::MAX] {
            let _ = parse_socket_line(l, ms_per_tick);
        }
    }
}

fn proc_counters(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = parse_netstat(&text);
    let _ = parse_snmp(&text);
    let _ = parse_sockstat(&text);
}

fn netlink_reply(bytes: &[u8]) {
    for seq in [0, 1, 2, u32::MAX] {
        let mut reader = ReplyReader::new(seq);
        let mut record = BLANK_RECORD;
        let _ = reader.feed(bytes, &mut record, &mut |_| {});
        let _ = ends_dump(bytes, seq);
    }
    let mut record = BLANK_RECORD;
    let _ = decode_inet_diag_msg(bytes, &mut record);
    if bytes.len() > 16 {
        let _ = decode_inet_diag_msg(&bytes[16..], &mut record);
    }
}

fn sysctl_values(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = parse_u32(&text);
    let _ = parse_u64(&text);
    let _ = parse_port_range(&text);
}

fn durations(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = parse_duration(&text);
    let _ = parse_duration_within(
        &text,
        "interval",
        Duration::from_millis(100),
        Duration::from_secs(3600),
    );
}

fn command_line_values(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let value = text.as_ref();
    let _ = value.parse::<TcpState>();
    for flag in [
        "--port",
        "--state",
        "--interval",
        "--backlog-warn",
        "--listen-rate",
        "--time-wait-rate",
        "--close-wait-samples",
        "--pid",
        "--netns",
    ] {
        if let Ok(args) = Args::try_parse_from(["tcpwatch", "--once", flag, value]) {
            let _ = args.into_config();
        }
    }
}

fn proc_names(bytes: &[u8]) {
    let mut offset = 0;
    while let Some((_, next)) = dirent_name(bytes, offset) {
        offset = next;
    }
    let name = OsStr::from_bytes(bytes);
    let _ = parse_socket_link_bytes(bytes);
    let _ = parse_pid(name);
    let _ = parse_comm(&String::from_utf8_lossy(bytes));
}

fn proc_status(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for field in ["VmRSS:", "VmHWM:", "Threads:", ""] {
        let _ = status_field_kib(&text, field);
    }
}

fn trace_formats(bytes: &[u8]) {
    let _ = TraceFormat::parse(&String::from_utf8_lossy(bytes));
}

/// A raw record through the decoder built from this kernel's formats, and
/// the same bytes as the contents of a perf ring, walked from a tail and
/// head taken from the input.
fn trace_records(bytes: &[u8]) {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    let decoder = DECODER.get_or_init(captured_decoder);
    let _ = decoder.decode(0, bytes);
    let number = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    let mut ring = bytes.to_vec();
    ring.resize(bytes.len().next_power_of_two().max(64), 0);
    let mut scratch = Vec::new();
    for (tail, head) in [
        (0, bytes.len() as u64),
        (number(0), number(8)),
        (number(0), number(0).wrapping_add(number(8) % 8192)),
    ] {
        walk_ring(&ring, tail, head, &mut scratch, &mut |record| {
            if let RingRecord::Sample { time_ns, raw } = record {
                let _ = decoder.decode(time_ns / 1000, raw);
            }
        });
    }
}

/// Each input is sent whole to a real `serve` on loopback, on a connection of
/// its own; the server must answer or close, and then still answer a valid
/// scrape (checked by `http_requests_leave_the_server_serving`).
fn http_requests(bytes: &[u8]) {
    let address = test_server::address();
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        panic!("the serve under fuzzing stopped accepting connections");
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

/// Bytes as a whole recording file, then as one record, header, footer,
/// index and frame payload.
fn recordings(bytes: &[u8]) {
    let _ = decode_header(bytes);
    let _ = decode_record(bytes);
    let _ = decode_footer(bytes);
    let _ = decode_index(bytes);
    let _ = decompress(bytes, None);
    let _ = decompress(bytes, Some(bytes));
    let Ok(file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::fs::write(file.path(), bytes).is_err() {
        return;
    }
    if let Ok(mut recording) = Recording::open(file.path()) {
        for n in 0..recording.frames().len().min(64) {
            let _ = recording.tick(n);
        }
    }
}

/// A frame's text: the JSON document of one tick.
fn recorded_ticks(bytes: &[u8]) {
    let _ = tick_from_text(bytes);
}

fn cgroup_files(bytes: &[u8]) {
    let origin = origin_from_cgroup(&String::from_utf8_lossy(bytes));
    let _ = origin.label();
    if let Some(container) = &origin.container {
        let _ = container.short_id();
    }
}

fn user_text(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = FilterQuery::parse(&text);
    let _ = parse_at(&text, 0);
    let _ = parse_at(&text, u64::MAX);
    let _ = parse_rfc3339(&text);
    let _ = parse_ns_link(&text);
    let _ = parse_cpu_list(&text);
}

/// One `serve` for the whole test binary, on a free loopback port, fed a
/// scripted listen(1) tick so that /metrics has content.
mod test_server {
    use std::net::{SocketAddr, TcpListener};
    use std::sync::{Arc, OnceLock};

    use crate::serve::http::{Limits, serve};
    use crate::serve::shared::Shared;

    pub fn address() -> SocketAddr {
        static ADDRESS: OnceLock<SocketAddr> = OnceLock::new();
        *ADDRESS.get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            let address = listener.local_addr().expect("local address");
            let shared = Arc::new(Shared::new());
            shared.replace(crate::serve::metrics::render(
                &crate::serve::metrics::tests::listen_one_facts(),
                crate::serve::metrics::ExportOptions { max_series: 2000 },
            ));
            let limits = Limits {
                header_timeout: std::time::Duration::from_secs(1),
                ..Limits::default()
            };
            std::thread::spawn(move || serve(listener, shared, limits, &|| false));
            address
        })
    }
}

// ---- the table of targets ------------------------------------------------

struct Target {
    name: &'static str,
    seeds: &'static [&'static str],
    by_line: bool,
    max_len: usize,
    run: fn(&[u8]),
}

const TARGETS: &[Target] = &[
    Target {
        name: "proc_tcp",
        seeds: &["proc/tcp", "proc/tcp6"],
        by_line: true,
        max_len: 2048,
        run: proc_tcp,
    },
    Target {
        name: "proc_counters",
        seeds: &["proc/netstat", "proc/snmp", "proc/sockstat"],
        by_line: false,
        max_len: 2048,
        run: proc_counters,
    },
    Target {
        name: "netlink_reply",
        seeds: &["netlink/one_walk.bin", "netlink/by_family_inet6.bin"],
        by_line: false,
        max_len: 4096,
        run: netlink_reply,
    },
    Target {
        name: "sysctl_values",
        seeds: &["fuzz/sysctl.txt"],
        by_line: true,
        max_len: 64,
        run: sysctl_values,
    },
    Target {
        name: "durations",
        seeds: &["fuzz/durations.txt"],
        by_line: true,
        max_len: 64,
        run: durations,
    },
    Target {
        name: "command_line_values",
        seeds: &["fuzz/ports.txt", "fuzz/states.txt", "fuzz/durations.txt"],
        by_line: true,
        max_len: 64,
        run: command_line_values,
    },
    Target {
        name: "proc_names",
        seeds: &["fuzz/proc_names.txt"],
        by_line: true,
        max_len: 64,
        run: proc_names,
    },
    Target {
        name: "proc_status",
        seeds: &["fuzz/status.txt"],
        by_line: false,
        max_len: 2048,
        run: proc_status,
    },
    Target {
        name: "trace_formats",
        seeds: &[
            "tracepoints/format/sock_inet_sock_set_state.format",
            "tracepoints/format/tcp_tcp_send_reset.format",
            "tracepoints/format/tcp_tcp_receive_reset.format",
            "tracepoints/format/tcp_tcp_retransmit_synack.format",
            "tracepoints/format/tcp_tcp_retransmit_skb.format",
            "tracepoints/format/skb_kfree_skb.format",
        ],
        by_line: false,
        max_len: 8192,
        run: trace_formats,
    },
    Target {
        name: "trace_records",
        seeds: &[
            "tracepoints/records/closed_port_and_short_connection.hex",
            "tracepoints/records/half_open_final_ack_overflow.hex",
            "tracepoints/records/listen1_eight_clients.hex",
        ],
        by_line: false,
        max_len: 1024,
        run: trace_records,
    },
    Target {
        name: "http_requests",
        seeds: &["fuzz/http/prometheus.req", "fuzz/http/urllib.req"],
        by_line: false,
        max_len: 4096,
        run: http_requests,
    },
    Target {
        name: "recordings",
        seeds: &["fuzz/recording.rec"],
        by_line: false,
        max_len: 32 * 1024,
        run: recordings,
    },
    Target {
        name: "recorded_ticks",
        seeds: &["fuzz/once.json"],
        by_line: false,
        max_len: 8192,
        run: recorded_ticks,
    },
    Target {
        name: "cgroup_files",
        seeds: &["fuzz/cgroup.txt"],
        by_line: true,
        max_len: 1024,
        run: cgroup_files,
    },
    Target {
        name: "user_text",
        seeds: &["fuzz/user_text.txt"],
        by_line: true,
        max_len: 256,
        run: user_text,
    },
];

fn target(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

fn run(name: &str, budget: Option<Duration>) {
    let t = target(name);
    let strategy = input(seeds(t.seeds, t.by_line), t.max_len);
    fuzz(t.name, strategy, t.run, budget);
}

macro_rules! fuzz_targets {
    ($($name:ident),* $(,)?) => {
        mod fuzz_short {
            $(#[test]
            fn $name() {
                super::run(stringify!($name), None);
            })*
        }
        mod fuzz_long {
            $(#[test]
            #[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
            fn $name() {
                super::run(stringify!($name), Some(super::long_budget()));
            })*
        }
    };
}

fuzz_targets!(
    proc_tcp,
    proc_counters,
    netlink_reply,
    sysctl_values,
    durations,
    command_line_values,
    proc_names,
    proc_status,
    trace_formats,
    trace_records,
    http_requests,
    recordings,
    recorded_ticks,
    cgroup_files,
    user_text,
);

/// After garbage, the fuzzed server still answers a real scrape.
#[test]
fn http_requests_leave_the_server_serving() {
    run("http_requests", None);
    let request: &[u8] = include_bytes!("../tests/fixtures/fuzz/http/prometheus.req");
    let mut stream = TcpStream::connect(test_server::address()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut answer = vec![0u8; 256];
    let read = stream.read(&mut answer).expect("an answer");
    let head = String::from_utf8_lossy(&answer[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[test]
fn every_target_is_run_and_every_seed_exists() {
    assert_eq!(TARGETS.len(), 15);
    for t in TARGETS {
        assert!(!seeds(t.seeds, t.by_line).is_empty(), "{}", t.name);
    }
    // The mutator itself stays in bounds on empty input.
    let all = [
        Mutation::Flip(7, 1),
        Mutation::Insert(9, 0),
        Mutation::Delete(3, 10),
        Mutation::Truncate(5),
        Mutation::Splice(1, 2, 3),
        Mutation::Interesting(4, 99),
    ];
    assert!(!apply(Vec::new(), &all).is_empty());
}
