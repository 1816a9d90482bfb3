//! The ss/netstat-style filter flags against real loopback sockets: port
//! lists and ranges, `-4`/`-6`, `-l`, `--addr` with an address or a network,
//! through both sources (sock_diag runs them in the kernel, /proc in user
//! space), and the JSON `filter` that says what was applied.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};

use common::{SOURCES, once_json, port_state};
use serde_json::Value;
use socket2::{Domain, Socket, Type};

/// `count` consecutive free ports on 127.0.0.1 below the ephemeral range,
/// each with a listener.
fn consecutive_listeners(count: u16) -> Vec<TcpListener> {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20_000 + (seed.wrapping_add(attempt.wrapping_mul(37)) % 10_000);
        let listeners: Vec<TcpListener> = (0..count)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if listeners.len() == usize::from(count) {
            return listeners;
        }
    }
    panic!("no {count} consecutive free ports between 20000 and 30000");
}

fn port_of(listener: &TcpListener) -> u16 {
    listener.local_addr().expect("addr").port()
}

fn listener_locals(report: &Value) -> Vec<String> {
    report["listeners"]
        .as_array()
        .expect("listeners[]")
        .iter()
        .map(|l| l["local"].as_str().expect("local").to_string())
        .collect()
}

/// A listener on `server_ip` with one accepted connection to it.
fn served(server_ip: &str) -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind((server_ip, 0)).expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (listener, client, server)
}

#[test]
fn port_lists_and_ranges_select_exactly_those_ports() {
    let listeners = consecutive_listeners(4);
    let ports: Vec<u16> = listeners.iter().map(port_of).collect();
    let flag = format!("{}-{},{}", ports[0], ports[1], ports[3]);
    for source in SOURCES {
        let report = once_json(&["--source", source, "--port", &flag]);
        let locals = listener_locals(&report);
        for (index, port) in ports.iter().enumerate() {
            let listed = locals.contains(&format!("127.0.0.1:{port}"));
            assert_eq!(listed, index != 2, "{source}: port {port} in {locals:?}");
        }
        assert_eq!(
            report["filter"]["ports"],
            serde_json::json!([ports[0], ports[1], ports[3]]),
            "{source}"
        );
    }
    // The same ports given as repeated flags and a list.
    let (a, b) = (ports[0].to_string(), format!("{},{}", ports[1], ports[3]));
    let report = once_json(&["--port", &a, "--port", &b]);
    assert_eq!(listener_locals(&report).len(), 3, "{report}");
}

#[test]
fn ipv4_and_ipv6_flags_split_a_dual_listener() {
    let v4 = TcpListener::bind("127.0.0.1:0").expect("bind v4");
    let port = port_of(&v4);
    let v6 = Socket::new(Domain::IPV6, Type::STREAM, None).expect("socket");
    v6.set_only_v6(true).expect("v6only");
    let at: SocketAddr = format!("[::1]:{port}").parse().expect("addr");
    v6.bind(&at.into()).expect("bind ::1 on the same port");
    v6.listen(8).expect("listen");
    let port_flag = port.to_string();
    for source in SOURCES {
        let both = listener_locals(&once_json(&["--source", source, "--port", &port_flag]));
        assert_eq!(both.len(), 2, "{source}: {both:?}");
        let only_v4 = once_json(&["--source", source, "--port", &port_flag, "-4"]);
        assert_eq!(
            listener_locals(&only_v4),
            [format!("127.0.0.1:{port}")],
            "{source}"
        );
        assert_eq!(only_v4["filter"]["family"], "ipv4");
        common::schema::assert_valid(&common::schema::validator(), &only_v4);
        let only_v6 = once_json(&["--source", source, "--port", &port_flag, "--ipv6"]);
        assert_eq!(
            listener_locals(&only_v6),
            [format!("[::1]:{port}")],
            "{source}"
        );
    }
}

#[test]
fn listening_shows_the_listeners_and_no_connections() {
    let (listener, _client, _server) = served("127.0.0.1");
    let port = port_of(&listener);
    let port_flag = port.to_string();
    let everything = once_json(&["--port", &port_flag]);
    assert_eq!(port_state(&everything, port, "ESTABLISHED"), 2);
    for source in SOURCES {
        let report = once_json(&["--source", source, "--port", &port_flag, "-l"]);
        assert_eq!(port_state(&report, port, "LISTEN"), 1, "{source}: {report}");
        assert_eq!(port_state(&report, port, "ESTABLISHED"), 0, "{source}");
        assert_eq!(report["filter"]["states"], serde_json::json!(["LISTEN"]));
        assert_eq!(listener_locals(&report), [format!("127.0.0.1:{port}")]);
    }
}

#[test]
fn addr_keeps_connections_with_that_address_and_wildcard_listeners() {
    let (on_2, _c2, _s2) = served("127.0.0.2");
    let (on_1, _c1, _s1) = served("127.0.0.1");
    let wildcard = TcpListener::bind("0.0.0.0:0").expect("bind wildcard");
    let (p2, p1, pw) = (port_of(&on_2), port_of(&on_1), port_of(&wildcard));
    let ports = format!("{p2},{p1},{pw}");
    for source in SOURCES {
        let report = once_json(&["--source", source, "--port", &ports, "--addr", "127.0.0.2"]);
        let mut locals = listener_locals(&report);
        locals.sort();
        let mut expected = vec![format!("127.0.0.2:{p2}"), format!("0.0.0.0:{pw}")];
        expected.sort();
        assert_eq!(
            locals, expected,
            "{source}: the 127.0.0.1 listener is left out"
        );
        assert_eq!(
            port_state(&report, p2, "ESTABLISHED"),
            2,
            "{source}: {report}"
        );
        assert_eq!(
            port_state(&report, p1, "ESTABLISHED"),
            0,
            "{source}: {report}"
        );
        assert_eq!(report["filter"]["addrs"], serde_json::json!(["127.0.0.2"]));
        common::schema::assert_valid(&common::schema::validator(), &report);

        // A network holding both addresses keeps both connections.
        let wide = once_json(&[
            "--source",
            source,
            "--port",
            &ports,
            "--addr",
            "127.0.0.0/30",
        ]);
        assert_eq!(port_state(&wide, p2, "ESTABLISHED"), 2, "{source}");
        assert_eq!(port_state(&wide, p1, "ESTABLISHED"), 2, "{source}");
        assert_eq!(listener_locals(&wide).len(), 3, "{source}");

        // An address nobody uses: only the wildcard listener stays.
        let none = once_json(&["--source", source, "--port", &ports, "--addr", "10.99.0.1"]);
        assert_eq!(
            listener_locals(&none),
            [format!("0.0.0.0:{pw}")],
            "{source}"
        );
        assert_eq!(port_state(&none, p1, "ESTABLISHED"), 0, "{source}");
    }
}

#[test]
fn the_table_header_names_every_filter() {
    let output = common::tcpwatch(&[
        "--once",
        "--port",
        "20000-20005,22",
        "-4",
        "--addr",
        "10.0.0.0/8",
    ]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("filter: port 22,20000-20005 · IPv4 · addr 10.0.0.0/8"),
        "{text}"
    );
}
