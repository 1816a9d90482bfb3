//! The write-up's experiments, reproduced with real sockets on loopback and
//! read back through the real binary's `--once --format json`, for both the
//! netlink and the /proc source.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::*;

/// listen(1), never accept(), 5 non-blocking clients: the queue holds 2
/// (listen(N) holds N+1), the other 3 clients sit in SYN_SENT.
fn listen_one_experiment(ip: &str, local_text: impl Fn(u16) -> String) {
    let listener = listen_with_backlog(ip, 1);
    let address = local_addr(&listener);
    let port = address.port();
    let port_arg = port.to_string();
    let before = once_json(&["--port", &port_arg]);

    let clients: Vec<_> = (0..5).map(|_| connect_nonblocking(address)).collect();
    let settled = eventually(Duration::from_secs(5), || {
        let report = once_json(&["--port", &port_arg]);
        port_state(&report, port, "SYN_SENT") == 3 && port_state(&report, port, "ESTABLISHED") == 4
    });
    assert!(settled, "3 SYN_SENT and 4 ESTABLISHED never showed up");

    for source in SOURCES {
        let report = once_json(&["--port", &port_arg, "--source", source]);
        assert_eq!(report["source"], source);
        let entry = listener_entry(&report, &local_text(port));
        assert_eq!(entry["accept_queue"], 2, "{source}: {entry}");
        if source == "netlink" {
            assert_eq!(entry["backlog"], 1, "{entry}");
            assert_eq!(entry["full"], true, "{entry}");
        } else {
            assert!(
                entry["backlog"].is_null(),
                "/proc must say unknown, not 0: {entry}"
            );
            assert!(entry["full"].is_null(), "{entry}");
            let notes = report["notes"].to_string();
            assert!(
                notes.contains("backlog"),
                "the proc source must say backlogs are unknown: {notes}"
            );
        }
        assert_eq!(port_state(&report, port, "LISTEN"), 1, "{source}");
        assert_eq!(port_state(&report, port, "SYN_SENT"), 3, "{source}");
        assert_eq!(
            port_state(&report, port, "ESTABLISHED"),
            4,
            "{source}: 2 client ends + 2 server children"
        );
        let rows = report["ports"].as_array().expect("ports");
        assert_eq!(
            rows.len(),
            1,
            "everything counts under the service port: {rows:?}"
        );
    }

    // The dropped SYNs are retransmitted after ~1 s, each one an overflow.
    let grew = eventually(Duration::from_secs(4), || {
        let after = once_json(&["--port", &port_arg]);
        counter(&after, "ListenOverflows") > counter(&before, "ListenOverflows")
    });
    assert!(
        grew,
        "ListenOverflows did not grow while SYNs were being dropped"
    );
    drop(clients);
}

#[test]
fn listen_one_without_accept_fills_the_queue_on_ipv4() {
    listen_one_experiment("127.0.0.1", |port| format!("127.0.0.1:{port}"));
}

#[test]
fn listen_one_without_accept_fills_the_queue_on_ipv6() {
    listen_one_experiment("::1", |port| format!("[::1]:{port}"));
}

#[test]
fn the_text_table_marks_the_full_queue() {
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let _clients: Vec<_> = (0..4).map(|_| connect_nonblocking(address)).collect();
    let port = address.port().to_string();
    let shows_full = eventually(Duration::from_secs(5), || {
        let output = tcpwatch(&["--once", "--port", &port]);
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("2/1 FULL")
    });
    assert!(shows_full, "the table never showed 2/1 FULL");
}

#[test]
fn connect_to_a_closed_port_is_refused_and_leaves_no_socket() {
    let port = closed_port();
    let port_arg = port.to_string();
    let before = once_json(&["--port", &port_arg]);
    let refused = TcpStream::connect(("127.0.0.1", port)).expect_err("nobody listens there");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    for source in SOURCES {
        let after = once_json(&["--port", &port_arg, "--source", source]);
        assert_eq!(
            after["ports"].as_array().map(Vec::len),
            Some(0),
            "{source}: {after}"
        );
        assert_eq!(
            after["listeners"].as_array().map(Vec::len),
            Some(0),
            "{source}"
        );
        assert!(
            counter(&after, "OutRsts") > counter(&before, "OutRsts"),
            "the kernel answered with an RST"
        );
    }
}

#[test]
fn the_active_closer_waits_in_fin_wait2_while_the_peer_sits_in_close_wait() {
    let (listener, client, server) = connected_pair();
    let port = listener.local_addr().expect("addr").port();
    let port_arg = port.to_string();
    client
        .shutdown(Shutdown::Both)
        .expect("close() on the client");
    drop(client);
    // The server never calls close(): CLOSE_WAIT; the client: FIN_WAIT2.
    let seen = eventually(Duration::from_secs(3), || {
        let report = once_json(&["--port", &port_arg]);
        port_state(&report, port, "CLOSE_WAIT") == 1 && port_state(&report, port, "FIN_WAIT2") == 1
    });
    assert!(
        seen,
        "expected FIN_WAIT2 on the closer and CLOSE_WAIT on the peer"
    );
    for source in SOURCES {
        let report = once_json(&["--port", &port_arg, "--source", source]);
        assert_eq!(port_state(&report, port, "CLOSE_WAIT"), 1, "{source}");
        assert_eq!(port_state(&report, port, "FIN_WAIT2"), 1, "{source}");
    }

    // Now the server closes too: the client lands in TIME_WAIT, the server is gone.
    drop(server);
    let closed = eventually(Duration::from_secs(3), || {
        let report = once_json(&["--port", &port_arg]);
        port_state(&report, port, "TIME_WAIT") == 1
            && port_state(&report, port, "CLOSE_WAIT") == 0
            && port_state(&report, port, "FIN_WAIT2") == 0
            && port_state(&report, port, "LAST_ACK") == 0
    });
    assert!(
        closed,
        "expected exactly one TIME_WAIT, on the side that closed first"
    );
}

#[test]
fn short_connections_closed_by_the_client_leave_time_wait_under_the_server_port() {
    const CONNECTIONS: u64 = 20;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr");
    for _ in 0..CONNECTIONS {
        let mut client = TcpStream::connect(address).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        client.write_all(b"ping").expect("send");
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).expect("recv");
        drop(client); // the client calls close() first → TIME_WAIT on the client
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).expect("EOF");
        drop(server);
    }
    let port = address.port();
    let port_arg = port.to_string();
    let counted = eventually(Duration::from_secs(3), || {
        let report = once_json(&["--port", &port_arg]);
        port_state(&report, port, "TIME_WAIT") == CONNECTIONS
    });
    assert!(
        counted,
        "expected {CONNECTIONS} TIME_WAIT under port {port}"
    );
    for source in SOURCES {
        let report = once_json(&["--port", &port_arg, "--source", source]);
        assert_eq!(
            time_wait_on(&report, port),
            CONNECTIONS,
            "{source}: {report}"
        );
        assert_eq!(report["time_wait"]["total"], CONNECTIONS, "{source}");
    }
    // The unfiltered total agrees with /proc/net/sockstat's tw (sampled a
    // moment apart, so other tests' churn may differ by a few).
    let report = once_json(&[]);
    let in_table = report["time_wait"]["total"].as_i64().expect("total");
    let sockstat = report["time_wait"]["namespace_total"]
        .as_i64()
        .expect("sockstat tw");
    assert!(in_table >= CONNECTIONS as i64);
    assert!(
        (in_table - sockstat).abs() <= 5,
        "table {in_table} vs sockstat {sockstat}"
    );
}
