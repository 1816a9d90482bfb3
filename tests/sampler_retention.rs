//! On a table larger than what a snapshot keeps, the counts stay exact
//! (aggregated while the dump streams in) and the kept records are bounded,
//! TIME_WAIT left out first.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::eventually;
use tcpwatch::collect::SnapshotSource;
use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::model::{Filter, JudgingScope, Sampled, TcpState};

#[test]
fn counts_stay_exact_when_records_are_capped() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    for _ in 0..20 {
        let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        drop(client); // the client closes first: TIME_WAIT on its side
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).expect("EOF");
    }
    let mut open = Vec::new();
    for _ in 0..15 {
        let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        open.push((client, server));
    }
    let mut sampler = Sampler::open(SamplerConfig {
        source: SourceChoice::Netlink,
        target: NetnsTarget::Host,
        filter: Filter {
            ports: vec![port],
            ..Filter::default()
        },
        scope: JudgingScope::default(),
    })
    .expect("sampler")
    .with_retain_limit(10);

    let settled = eventually(Duration::from_secs(3), || {
        let sampled = sampler.sample(0).expect("sample");
        sampled
            .aggregates
            .port(port)
            .is_some_and(|row| row.counts.get(TcpState::TimeWait) == 20)
    });
    assert!(settled, "20 TIME_WAIT never showed");
    let Sampled {
        snapshot,
        aggregates,
    } = sampler.sample(0).expect("sample");
    let counts = aggregates.port(port).expect("row").counts;
    assert_eq!(
        counts.get(TcpState::Established),
        30,
        "both ends of 15 connections"
    );
    assert_eq!(counts.get(TcpState::TimeWait), 20);
    assert_eq!(counts.get(TcpState::Listen), 1);
    assert_eq!(snapshot.table_size, 50);
    assert!(!snapshot.sockets_complete);
    assert_eq!(snapshot.sockets.len(), 10, "bounded");
    assert!(
        snapshot
            .sockets
            .iter()
            .all(|s| s.state != TcpState::TimeWait)
    );
    assert!(
        snapshot
            .notes
            .iter()
            .any(|n| n.contains("counts are exact")),
        "{:?}",
        snapshot.notes
    );
    assert_eq!(
        aggregates.listeners[0].process.as_ref().map(|p| p.pid),
        Some(std::process::id())
    );
}
