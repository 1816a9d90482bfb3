//! Every alert rule that a test can trigger safely, triggered for real: on
//! loopback, or inside a private network namespace with small limits (root
//! only; otherwise the test says why it skipped).

mod common;

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::netns::{PrivateNetns, SKIP_REASON};
use common::stream::Stream;
use common::*;
use serde_json::Value;
use tcpwatch::alert::{AlertKind, AlertMonitor, Severity, Thresholds};
use tcpwatch::collect::SnapshotSource;
use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::model::{Filter, JudgingScope};

fn sampler_for(ports: &[u16]) -> Sampler {
    Sampler::open(SamplerConfig {
        source: SourceChoice::Netlink,
        target: NetnsTarget::Host,
        filter: Filter {
            ports: ports.to_vec(),
            ..Filter::default()
        },
        scope: JudgingScope::default(),
    })
    .expect("sampler")
}

fn alerts_of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["alerts"]
        .as_array()
        .expect("alerts[]")
        .iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

#[test]
fn a_full_backlog_is_diagnosed_and_fails_the_health_check() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let port = address.port().to_string();
    let calm = tcpwatch(&["--once", "--port", &port, "--fail-on", "warning"]);
    assert_eq!(
        calm.status.code(),
        Some(0),
        "no alert yet: {}",
        String::from_utf8_lossy(&calm.stdout)
    );

    let _clients: Vec<_> = (0..5).map(|_| connect_nonblocking(address)).collect();
    let full = eventually(Duration::from_secs(5), || {
        !alerts_of_kind(&once_json(&["--port", &port]), "backlog_full").is_empty()
    });
    assert!(full, "backlog_full never raised");
    let report = once_json(&["--port", &port]);
    let alert = alerts_of_kind(&report, "backlog_full")[0];
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["subject"], format!("127.0.0.1:{port}"));
    let message = alert_text(alert);
    for needle in ["2/1", "accept()", "SYN_SENT", "listen() backlog"] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from: {message}"
        );
    }
    assert!(alert["since_ms"].as_u64().is_some());
    assert!(alert["since"].as_str().is_some_and(|t| t.ends_with('Z')));

    let failing = tcpwatch(&["--once", "--port", &port, "--fail-on", "critical"]);
    assert_eq!(failing.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&failing.stderr);
    assert!(stderr.contains("--fail-on critical"), "{stderr}");
    let text = String::from_utf8_lossy(&failing.stdout);
    assert!(text.contains("CRIT backlog full on 127.0.0.1:"), "{text}");
}

#[test]
fn a_burst_between_ticks_is_caught_by_the_fast_listener_samples() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let mut sampler = sampler_for(&[address.port()]);
    let mut monitor = AlertMonitor::new(Thresholds::default());
    let calm = sampler.sample(1_000).expect("sample");
    assert!(
        monitor
            .evaluate(&calm.snapshot, &calm.aggregates)
            .is_empty()
    );

    // A burst of clients fills the queue; a 10 Hz listener sample sees it...
    let clients: Vec<_> = (0..3).map(|_| connect_nonblocking(address)).collect();
    let seen_full = eventually(Duration::from_secs(3), || {
        let listeners = sampler.sample_listeners().expect("listeners");
        let full = listeners.iter().any(|l| l.recv_queue > l.send_queue);
        monitor.observe_listeners(&listeners, 1_500);
        full
    });
    assert!(seen_full, "the listener sample never saw the queue full");
    // ...then the application accepts everything before the next full tick.
    listener.set_nonblocking(true).expect("nonblocking");
    while let Ok((accepted, _)) = listener.accept() {
        drop(accepted);
    }
    drop(clients);
    let later = sampler.sample(2_000).expect("sample");
    let snapshot_full = later
        .aggregates
        .listeners
        .iter()
        .any(|l| l.is_full() == Some(true));
    assert!(!snapshot_full, "the full tick must look calm for this test");
    let events = monitor.evaluate(&later.snapshot, &later.aggregates);
    let raised = events
        .iter()
        .find(|e| e.is_raised() && e.alert().kind == AlertKind::BacklogFull)
        .unwrap_or_else(|| panic!("no backlog_full from the burst: {events:?}"));
    assert!(
        raised.alert().summary.contains("between samples"),
        "{}",
        raised.alert().summary
    );
}

#[test]
fn listen_overflows_are_blamed_on_the_full_listener_or_said_to_be_unattributed() {
    let full = listen_with_backlog("127.0.0.1", 1);
    let full_address = local_addr(&full);
    let elsewhere = TcpListener::bind("127.0.0.1:0").expect("bind");
    let elsewhere_port = elsewhere.local_addr().expect("addr").port();
    let mut watching_full = sampler_for(&[full_address.port()]);
    let mut watching_elsewhere = sampler_for(&[elsewhere_port]);
    let mut blamed = AlertMonitor::new(Thresholds::default());
    let mut unattributed = AlertMonitor::new(Thresholds::default());
    let first = watching_full.sample(1_000).expect("sample");
    blamed.evaluate(&first.snapshot, &first.aggregates);
    let first = watching_elsewhere.sample(1_000).expect("sample");
    unattributed.evaluate(&first.snapshot, &first.aggregates);

    // Clients retry their dropped SYNs about every second: each drop counts.
    let _clients: Vec<_> = (0..4).map(|_| connect_nonblocking(full_address)).collect();
    thread::sleep(Duration::from_millis(1600));

    let second = watching_full.sample(2_600).expect("sample");
    let events = blamed.evaluate(&second.snapshot, &second.aggregates);
    let backlog_full = events
        .iter()
        .find(|e| e.alert().kind == AlertKind::BacklogFull)
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(
        backlog_full.alert().summary.contains("ListenOverflows +"),
        "{}",
        backlog_full.alert().summary
    );
    assert!(
        !events
            .iter()
            .any(|e| e.alert().kind == AlertKind::OverflowUnattributed)
    );

    let second = watching_elsewhere.sample(2_600).expect("sample");
    let events = unattributed.evaluate(&second.snapshot, &second.aggregates);
    let alert = events
        .iter()
        .find(|e| e.alert().kind == AlertKind::OverflowUnattributed)
        .unwrap_or_else(|| panic!("the drops on an unwatched port must be reported: {events:?}"));
    assert_eq!(alert.alert().severity, Severity::Warning);
    assert!(
        alert.alert().summary.contains("no listener was seen full"),
        "{}",
        alert.alert().summary
    );
}

#[test]
fn a_server_that_never_closes_is_a_close_wait_leak_naming_the_process() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stream = Stream::start(&[
        "--port",
        &port.to_string(),
        "--interval",
        "300ms",
        "--close-wait-samples",
        "3",
    ]);
    let mut server_ends = Vec::new();
    for _ in 0..3 {
        let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        client.shutdown(Shutdown::Both).expect("the client closes");
        let mut buf = [0u8; 1];
        assert_eq!(
            server.read(&mut buf).expect("EOF"),
            0,
            "recv() returns 0: the peer closed"
        );
        server_ends.push(server); // ...and the server never calls close()
    }
    let event = stream
        .raised("close_wait_leak", Duration::from_secs(8))
        .expect("close_wait_leak raised");
    assert_eq!(event["severity"], "warning");
    assert_eq!(event["subject"], format!("port {port}"));
    let message = alert_text(&event);
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "names the process: {message}"
    );
    assert!(message.contains("close()"), "{message}");
    drop(server_ends);
}

#[test]
fn time_wait_near_its_limit_and_skipped_time_wait_in_a_small_namespace() {
    let Some(netns) = PrivateNetns::create("tw") else {
        println!("{SKIP_REASON}");
        return;
    };
    netns.sysctl("net/ipv4/tcp_max_tw_buckets", "10");
    let stream = Stream::start(&["--netns", &netns.name, "--interval", "300ms"]);
    thread::sleep(Duration::from_millis(800));
    let script = r#"
import socket
server = socket.socket(); server.bind(("127.0.0.1", 10000)); server.listen(64)
for _ in range(30):
    c = socket.create_connection(("127.0.0.1", 10000))
    s, _ = server.accept()
    c.close(); s.recv(1); s.close()
print("done", flush=True)
"#;
    let (_experiment, done) = netns.spawn_python(script);
    assert_eq!(done, "done");
    let overflow = stream
        .raised("time_wait_overflow", Duration::from_secs(6))
        .expect("time_wait_overflow");
    assert_eq!(overflow["severity"], "critical");
    assert!(
        alert_text(&overflow).contains("TCPTimeWaitOverflow +"),
        "{overflow}"
    );

    let report = once_json(&["--netns", &netns.name]);
    let near = alerts_of_kind(&report, "time_wait_near_limit");
    assert_eq!(near.len(), 1, "{report}");
    assert!(
        alert_text(near[0]).contains("tcp_max_tw_buckets"),
        "{}",
        near[0]
    );
    assert_eq!(report["time_wait"]["max_tw_buckets"], 10);
}

#[test]
fn ephemeral_ports_running_out_in_a_namespace_with_a_tiny_range() {
    let Some(netns) = PrivateNetns::create("ports") else {
        println!("{SKIP_REASON}");
        return;
    };
    netns.sysctl("net/ipv4/ip_local_port_range", "40000 40009");
    let script = r#"
import socket, time
server = socket.socket(); server.bind(("127.0.0.1", 10000)); server.listen(64)
held = []
for _ in range(9):
    c = socket.create_connection(("127.0.0.1", 10000))
    s, _ = server.accept()
    held += [c, s]
print("ready", flush=True)
time.sleep(60)
"#;
    let (_experiment, ready) = netns.spawn_python(script);
    assert_eq!(ready, "ready");
    let report = once_json(&["--netns", &netns.name]);
    let alerts = alerts_of_kind(&report, "port_exhaustion");
    assert_eq!(alerts.len(), 1, "{report}");
    let alert = alerts[0];
    assert_eq!(alert["severity"], "warning");
    let message = alert_text(alert);
    assert!(message.contains("9 of 10"), "{message}");
    assert!(
        message.contains("tcp_tw_reuse") || message.contains("reuse"),
        "names the fix: {message}"
    );
}
