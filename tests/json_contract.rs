//! The JSON contract v1 on real output: `--once --format json` and every
//! `--stream` line match assets/tcpwatch-v1.schema.json, carry the version,
//! host and namespace, and write every instant as RFC 3339 beside its `_ms`.
//! (Recorded frames are checked in tests/record_replay.rs.)

mod common;

use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use common::schema::{assert_valid, validator};
use common::stream::Stream;
use common::*;
use serde_json::Value;

fn is_rfc3339_utc(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| t.len() == 24 && t.ends_with('Z') && t.as_bytes().get(10) == Some(&b'T'))
}

#[test]
fn once_json_matches_the_schema() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let port = address.port();
    let _clients: Vec<_> = (0..4).map(|_| connect_nonblocking(address)).collect();
    let full = eventually(Duration::from_secs(5), || {
        once_json(&["--port", &port.to_string()])["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    assert!(full, "the full listen(1) backlog raises an alert");
    let report = once_json(&["--port", &port.to_string()]);
    assert_valid(&validator(), &report);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["type"], "snapshot");
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["namespace"], "host");
    assert!(!report["host"].as_str().unwrap_or("").is_empty());
    assert!(is_rfc3339_utc(&report["time"]), "{}", report["time"]);
    let sample_ms = report["sample_ms"].as_f64().expect("sample_ms");
    let micros = sample_ms * 1000.0;
    assert!(
        (micros - micros.round()).abs() < 1e-6,
        "rounded to µs: {sample_ms}"
    );
    let alert = &report["alerts"][0];
    assert!(is_rfc3339_utc(&alert["since"]) && is_rfc3339_utc(&alert["last_seen"]));
    assert!(alert["since_ms"].is_u64() && alert["last_seen_ms"].is_u64());
    assert!(alert.get("message").is_none(), "no joined message: {alert}");
    let mut broken = report.clone();
    broken["time_wait"]["by_port"] = serde_json::json!({ port.to_string(): 1 });
    assert!(
        !validator().is_valid(&broken),
        "the schema rejects string ports"
    );
    // The whole table, unfiltered, too (every port, TIME_WAIT by port).
    assert_valid(&validator(), &once_json(&[]));
}

#[test]
fn once_json_names_the_process_that_owns_a_listener() {
    let listener = listen_with_backlog("127.0.0.1", 16);
    let address = local_addr(&listener);
    // A longer fd table opened after the listener: the owner lookup reads
    // tables in rounds of growing depth and must still name this process.
    let _files: Vec<std::fs::File> = (0..300)
        .map(|_| std::fs::File::open("/dev/null").expect("open /dev/null"))
        .collect();
    let report = once_json(&["--port", &address.port().to_string()]);
    let entry = listener_entry(&report, &address.to_string());
    assert_eq!(entry["process"]["pid"], std::process::id(), "{entry}");
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    assert_eq!(entry["process"]["name"], comm.trim_end(), "{entry}");
}

#[test]
fn every_stream_line_matches_the_schema_and_the_first_is_a_snapshot() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stream = Stream::start(&["--interval", "200ms", "--port", &port.to_string()]);
    thread::sleep(Duration::from_millis(600));
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    thread::sleep(Duration::from_millis(500));
    client.shutdown(Shutdown::Both).expect("close");
    drop(server);
    let lines = stream.collect_until(Duration::from_secs(6), |lines| {
        lines.iter().any(|l| l["to"] == "TIME_WAIT")
    });
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&Value::from("snapshot"))
    );
    // Polled transitions, or the kernel's own events when tracepoints are
    // readable (as root): either way the connection's life is on the stream.
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "transition" || l["type"] == "event"),
        "{lines:?}"
    );
    let validator = validator();
    for line in &lines {
        assert_valid(&validator, line);
        assert!(is_rfc3339_utc(&line["time"]), "{line}");
        assert_eq!(line["schema_version"], 1);
    }
}

#[test]
fn the_first_streamed_alert_names_its_process() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let _clients: Vec<_> = (0..4).map(|_| connect_nonblocking(address)).collect();
    thread::sleep(Duration::from_millis(300));
    let stream = Stream::start(&["--port", &address.port().to_string()]);
    let raised = stream
        .raised("backlog_full", Duration::from_secs(8))
        .expect("backlog_full raised");
    assert_valid(&validator(), &raised);
    let text = alert_text(&raised);
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "names this test's process: {text}"
    );
}
