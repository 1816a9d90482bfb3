//! Shared helpers for the real-socket experiments: loopback listeners with a
//! chosen backlog, non-blocking clients, and running the real binary.
//!
//! Everything here stays on loopback (127.0.0.1 / ::1) and only ever ends
//! processes it started, by pid.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub mod netns;
pub mod pty;
pub mod recording;
pub mod schema;
pub mod screen;
pub mod serve;
pub mod stream;

use serde_json::Value;
use socket2::{Domain, Protocol, Socket, Type};

/// A listener bound to an ephemeral loopback port with `listen(backlog)` and
/// never accept()ed, like the write-up's server.
pub fn listen_with_backlog(ip: &str, backlog: i32) -> Socket {
    let address: SocketAddr = format!("{ip}:0")
        .replace("::1:0", "[::1]:0")
        .parse()
        .expect("loopback address");
    let domain = Domain::for_address(address);
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).expect("socket()");
    if domain == Domain::IPV6 {
        socket.set_only_v6(true).expect("IPV6_V6ONLY");
    }
    socket.bind(&address.into()).expect("bind()");
    socket.listen(backlog).expect("listen()");
    socket
}

pub fn local_addr(socket: &Socket) -> SocketAddr {
    socket
        .local_addr()
        .expect("getsockname")
        .as_socket()
        .expect("inet address")
}

/// A non-blocking connect(): returns at once, the handshake goes on in the
/// kernel, so a client against a full queue stays in SYN_SENT.
pub fn connect_nonblocking(target: SocketAddr) -> Socket {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .expect("socket()");
    socket.set_nonblocking(true).expect("O_NONBLOCK");
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => panic!("connect to {target}: {e}"),
    }
    socket
}

/// A port on 127.0.0.1 that nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// An accepted pair: (client end, server end), plus the listener.
/// A connection to `listener` that carries two bytes and lives about 20 ms,
/// closed by the client first (the client's end goes to TIME_WAIT), with
/// the server seeing the FIN before it closes. Returns the client's address.
pub fn short_connection_closed_by_the_client(listener: &TcpListener) -> SocketAddr {
    use std::io::{Read, Write};
    let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let client_addr = client.local_addr().expect("client addr");
    let (mut server, _) = listener.accept().expect("accept");
    client.write_all(b"hi").expect("write");
    let mut buffer = [0u8; 2];
    server.read_exact(&mut buffer).expect("read");
    std::thread::sleep(Duration::from_millis(20));
    drop(client);
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).expect("the client's FIN");
    drop(server);
    client_addr
}

pub fn connected_pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (listener, client, server)
}

pub fn tcpwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(args)
        .output()
        .expect("run tcpwatch")
}

/// Runs `tcpwatch --once --format json ARGS` and parses its output.
pub fn once_json(args: &[&str]) -> Value {
    let mut all = vec!["--once", "--format", "json"];
    all.extend_from_slice(args);
    let output = tcpwatch(&all);
    assert!(
        output.status.success(),
        "tcpwatch {all:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("tcpwatch prints JSON")
}

/// The count of `state` on `port` in a JSON report (0 when the port has no row).
pub fn port_state(report: &Value, port: u16, state: &str) -> u64 {
    report["ports"]
        .as_array()
        .expect("ports[]")
        .iter()
        .find(|row| row["port"] == port)
        .map(|row| row["states"][state].as_u64().expect("state count"))
        .unwrap_or(0)
}

pub fn listener_entry<'a>(report: &'a Value, local: &str) -> &'a Value {
    report["listeners"]
        .as_array()
        .expect("listeners[]")
        .iter()
        .find(|l| l["local"] == local)
        .unwrap_or_else(|| panic!("no listener {local} in {report}"))
}

/// An alert's summary, cause and fix as one text, for searching.
pub fn alert_text(alert: &Value) -> String {
    ["summary", "cause", "fix"]
        .iter()
        .map(|key| alert[*key].as_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The TIME_WAIT count of `port` in `time_wait.by_port` (0 when absent).
pub fn time_wait_on(report: &Value, port: u16) -> u64 {
    report["time_wait"]["by_port"]
        .as_array()
        .expect("time_wait.by_port[]")
        .iter()
        .find(|entry| entry["port"] == port)
        .map(|entry| entry["count"].as_u64().expect("count"))
        .unwrap_or(0)
}

pub fn counter(report: &Value, name: &str) -> u64 {
    report["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("counter {name} in {report}"))
}

/// Polls `check` until it returns true or the deadline passes.
pub fn eventually(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Both sources where they apply; the /proc source cannot see a backlog.
pub const SOURCES: [&str; 2] = ["netlink", "proc"];

/// Whether a test that needs `what` (root, a namespace, a tool) can run.
/// Outside CI it says why it skipped; in CI (`CI=true`) a test that cannot
/// run fails instead of passing as a skip.
pub fn can_run(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: this test needs {what}, which is missing here");
    }
    eprintln!("SKIPPED: needs {what}");
    false
}
