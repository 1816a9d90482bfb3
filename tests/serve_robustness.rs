//! `tcpwatch serve` under hostile or broken clients: garbage, malformed and
//! oversized requests, clients that send slowly or never finish, and more
//! connections than it accepts. None may crash it or keep a well-behaved
//! scrape from being answered. Loopback only.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::serve::{Serve, get, parse_reply, send_raw};

/// A small deterministic generator for garbage (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

fn assert_healthy(serve: &mut Serve) {
    assert!(serve.alive(), "tcpwatch serve died");
    let started = Instant::now();
    let reply = serve
        .scrape(&[])
        .expect("a well-behaved scrape is answered");
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("tcpwatch_build_info"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "scrape took {:?}",
        started.elapsed()
    );
}

/// Sends bytes and waits until the server answers or closes (never hangs).
fn poke(serve: &Serve, bytes: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(serve.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.write_all(bytes);
    let mut raw = Vec::new();
    let started = Instant::now();
    let _ = stream.read_to_end(&mut raw);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the server neither answered nor closed: {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
    );
    parse_reply(&raw).ok().map(|r| r.status)
}

#[test]
fn routes_methods_and_formats() {
    let serve = Serve::start(&[]);
    let index = get(serve.address, "/", &[]).expect("index");
    assert_eq!(index.status, 200);
    assert!(index.body.contains("href=\"/metrics\""), "{}", index.body);
    assert_eq!(get(serve.address, "/nope", &[]).expect("404").status, 404);
    assert_eq!(
        get(serve.address, "/metrics/extra", &[])
            .expect("404")
            .status,
        404
    );
    let post = send_raw(
        serve.address,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .expect("post");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let head = send_raw(
        serve.address,
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("head");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn garbage_and_oversized_requests_are_refused_without_harm() {
    let mut serve = Serve::start(&[]);
    let huge_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let many_headers = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..500)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "m".repeat(100_000));
    let fixed: Vec<Vec<u8>> = vec![
        b"\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        b"\0\0\0\0GET /metrics HTTP/1.1\r\n\r\n".to_vec(),
        b"GET /metrics?scraper=\xff\xfe HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS ClientHello
        huge_header.into_bytes(),
        many_headers.into_bytes(),
        long_path.into_bytes(),
    ];
    for request in &fixed {
        if let Some(status) = poke(&serve, request) {
            assert!(status >= 200, "{status}");
        }
    }
    assert_healthy(&mut serve);
    let mut random = Lcg(0x7c9_0a11);
    for round in 0..300 {
        let len = (random.next() % 2048) as usize + 1;
        let mut request = random.bytes(len);
        if round % 3 == 0 {
            // Garbage after a plausible start reaches deeper into the parser.
            let mut start = b"GET /metrics HTTP/1.1\r\n".to_vec();
            start.append(&mut request);
            request = start;
        }
        let _ = poke(&serve, &request);
    }
    assert_healthy(&mut serve);
}

#[test]
fn slow_clients_do_not_stall_scrapes_and_are_cut_off() {
    let mut serve = Serve::start(&[]);
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = TcpStream::connect(serve.address).expect("connect");
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .expect("half a request");
            stream
        })
        .collect();
    let silent: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(serve.address).expect("connect"))
        .collect();
    assert_healthy(&mut serve);
    // The head must arrive within the time-out: these are closed by then.
    let stream = &mut slow[0];
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "a client that never finished its request was kept {:?}",
        started.elapsed()
    );
    drop(silent);
    drop(slow);
    assert_healthy(&mut serve);
}

#[test]
fn a_connection_flood_is_shed_and_sigterm_still_stops_it() {
    let mut serve = Serve::start(&[]);
    let flood: Vec<TcpStream> = (0..700)
        .filter_map(|_| TcpStream::connect(serve.address).ok())
        .collect();
    assert!(flood.len() > 512, "only {} connections opened", flood.len());
    assert!(serve.alive());
    drop(flood);
    let recovered = common::eventually(Duration::from_secs(10), || {
        serve.scrape(&[]).is_ok_and(|r| r.status == 200)
    });
    assert!(
        recovered,
        "scrapes are answered again once the flood is gone"
    );
    let _held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(serve.address).expect("connect"))
        .collect();
    let status = serve.terminate(Duration::from_secs(3));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must stop it cleanly and soon: {status:?}"
    );
}

#[test]
fn sigint_stops_it_too() {
    let mut serve = Serve::start(&[]);
    assert!(serve.alive());
    let status = serve.signal(libc::SIGINT, Duration::from_secs(3));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[test]
fn an_address_in_use_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let output = common::tcpwatch(&["serve", "--listen", &address]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&address) && stderr.contains("--listen"),
        "{stderr}"
    );
}
