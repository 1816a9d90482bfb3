//! `tcpwatch --stream` follows a real connection's life on loopback and
//! labels each step with the call or event behind it.

mod common;

use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use common::stream::Stream;
use common::*;
use serde_json::Value;

/// The polled transition lines of `local` (exact kernel events, on as
/// root, have lines of their own: tests/events_real.rs).
fn events_for<'a>(events: &'a [Value], local: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == "transition" && e["local"] == local)
        .collect()
}

#[test]
fn one_connection_life_is_seen_in_order_on_both_sides() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stream = Stream::start(&["--interval", "200ms", "--port", &port.to_string()]);
    thread::sleep(Duration::from_millis(700)); // the first sample only learns the table

    let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    let client_addr = client.local_addr().expect("addr").to_string();
    let server_addr = server.local_addr().expect("addr").to_string();
    thread::sleep(Duration::from_millis(700));
    client.shutdown(Shutdown::Both).expect("client close()");
    thread::sleep(Duration::from_millis(700));
    drop(server); // the server closes too: LAST_ACK → gone; the client → TIME_WAIT
    drop(client);

    let events = stream.collect_until(Duration::from_secs(6), |events| {
        events_for(events, &client_addr)
            .iter()
            .any(|e| e["to"] == "TIME_WAIT")
            && events_for(events, &server_addr)
                .iter()
                .any(|e| e["event"] == "gone")
    });
    let client_states: Vec<String> = events_for(&events, &client_addr)
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["event"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or("-")
            )
        })
        .collect();
    let server_states: Vec<String> = events_for(&events, &server_addr)
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["event"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or("-")
            )
        })
        .collect();
    // FIN_WAIT1 lasts until the peer ACKs our FIN; that ACK may be delayed
    // (up to ~200 ms), so a sample may or may not catch it.
    let caught_fin_wait1 = client_states.iter().any(|s| s == "moved:FIN_WAIT1");
    let expected_client: &[&str] = if caught_fin_wait1 {
        &[
            "appeared:ESTABLISHED",
            "moved:FIN_WAIT1",
            "moved:FIN_WAIT2",
            "moved:TIME_WAIT",
        ]
    } else {
        &["appeared:ESTABLISHED", "moved:FIN_WAIT2", "moved:TIME_WAIT"]
    };
    assert_eq!(client_states, expected_client, "client: {events:#?}");
    assert_eq!(
        server_states,
        ["appeared:ESTABLISHED", "moved:CLOSE_WAIT", "gone:-"],
        "server: {events:#?}"
    );

    let close_wait = events_for(&events, &server_addr)[1];
    assert!(
        close_wait["cause"]
            .as_str()
            .unwrap_or("")
            .contains("recv FIN"),
        "{close_wait}"
    );
    let client_events = events_for(&events, &client_addr);
    let fin_wait2 = client_events
        .iter()
        .find(|e| e["to"] == "FIN_WAIT2")
        .expect("FIN_WAIT2");
    let skipped = if caught_fin_wait1 {
        serde_json::json!([])
    } else {
        serde_json::json!(["FIN_WAIT1"])
    };
    assert_eq!(fin_wait2["skipped"], skipped, "{fin_wait2}");
    let time_wait = client_events.last().expect("TIME_WAIT");
    assert!(
        time_wait["cause"].as_str().unwrap_or("").contains("2MSL"),
        "{time_wait}"
    );
}

#[test]
fn a_client_stuck_against_a_full_backlog_retransmits_its_syn() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let stream = Stream::start(&["--interval", "200ms", "--port", &address.port().to_string()]);
    thread::sleep(Duration::from_millis(500));
    let _clients: Vec<_> = (0..3).map(|_| connect_nonblocking(address)).collect();

    // The kernel retries a dropped SYN after about 1 s, then 2 s later.
    let events = stream.collect_until(Duration::from_secs(8), |events| {
        events
            .iter()
            .any(|e| e["event"] == "syn_retransmit" && e["retransmits"] == 2)
    });
    let retransmits: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "syn_retransmit")
        .filter_map(|e| e["retransmits"].as_u64())
        .collect();
    assert!(
        retransmits.contains(&1) && retransmits.contains(&2),
        "{events:#?}"
    );
    let first = events
        .iter()
        .find(|e| e["event"] == "syn_retransmit")
        .expect("a retransmit");
    assert!(
        first["next_retry_ms"].as_u64().is_some_and(|ms| ms <= 4000),
        "{first}"
    );
    assert!(
        first["text"]
            .as_str()
            .unwrap_or("")
            .contains("next retry in"),
        "{first}"
    );
}

/// Two listeners bound to one address with SO_REUSEPORT, as a pre-fork
/// server has them; both accept a fraction of the connections.
fn reuseport_pair() -> (socket2::Socket, socket2::Socket) {
    use socket2::{Domain, Protocol, Socket, Type};
    let bind = |address: std::net::SocketAddr| {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
        socket.set_reuse_port(true).expect("SO_REUSEPORT");
        socket.bind(&address.into()).expect("bind");
        socket.listen(16).expect("listen");
        socket
    };
    let first = bind("127.0.0.1:0".parse().expect("address"));
    let second = bind(local_addr(&first));
    (first, second)
}

#[test]
fn reuseport_listeners_make_no_phantom_events() {
    let (first, second) = reuseport_pair();
    let port = local_addr(&first).port();
    assert_eq!(local_addr(&second).port(), port);
    let stream = Stream::start(&["--interval", "100ms", "--port", &port.to_string()]);
    let events = stream.collect_until(Duration::from_millis(2500), |_| false);
    let phantoms: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] != "alert" && e["local"] == format!("127.0.0.1:{port}"))
        .collect();
    assert!(
        phantoms.is_empty(),
        "phantom listener events: {phantoms:#?}"
    );
    drop(second);
    let events = stream.collect_until(Duration::from_secs(3), |events| {
        events.iter().any(|e| e["event"] == "gone")
    });
    let gone: Vec<&Value> = events.iter().filter(|e| e["event"] == "gone").collect();
    assert_eq!(gone.len(), 1, "the closed member leaves once: {events:#?}");
    drop(first);
}
