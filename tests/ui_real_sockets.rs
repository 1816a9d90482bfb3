//! The drill-down with real sockets whose peer never reads: Send-Q and
//! Recv-Q in the millions are shown whole at every size, and a client that
//! called close() on unsent data is labelled an orphan, not "not accept()ed".

mod common;

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::eventually;
use common::screen::{TestApp, at, draw, feed, new_app, press};
use crossterm::event::KeyCode;
use tcpwatch::app::View;
use tcpwatch::collect::SnapshotSource;
use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::model::{Filter, JudgingScope, Snapshot, SocketRecord, TcpState};

/// Writes until the kernel refuses more: the peer never reads.
fn fill(stream: &mut TcpStream) -> usize {
    stream.set_nonblocking(true).expect("O_NONBLOCK");
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0;
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 20 {
        match stream.write(&chunk) {
            Ok(n) => {
                written += n;
                refused_in_a_row = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                refused_in_a_row += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    written
}

fn sampler(port: u16) -> Sampler {
    Sampler::open(SamplerConfig {
        source: SourceChoice::Netlink,
        target: NetnsTarget::Host,
        filter: Filter {
            ports: vec![port],
            ..Filter::default()
        },
        scope: JudgingScope::default(),
    })
    .expect("sampler")
}

fn drill_down(snapshot: &Snapshot, port: u16, width: u16, height: u16) -> TestApp {
    let mut app = new_app(width, height, false);
    at(&mut app, snapshot.taken_at_ms);
    feed(&mut app, snapshot.clone());
    while app.selected_port() != Some(port) {
        let before = app.selected_port();
        press(&mut app, KeyCode::Down);
        assert_ne!(app.selected_port(), before, "port {port} must be listed");
    }
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.view(), View::Connections(_)));
    app
}

fn find(snapshot: &Snapshot, state: TcpState, local_port: u16) -> Option<SocketRecord> {
    snapshot
        .sockets
        .iter()
        .find(|s| s.state == state && s.local.port() == local_port)
        .copied()
}

/// Every figure shows whole: the exact number, or its units form, and
/// never a tail of its digits.
fn assert_whole(screen: &str, value: u32, size: &str) {
    let exact = value.to_string();
    assert!(
        screen.contains(&format!(" {exact} "))
            || screen.contains(&format!("/{exact} "))
            || screen.contains(&format!(" {exact}/")),
        "{size}: {exact} is not shown whole:\n{screen}"
    );
}

#[test]
fn drill_down_shows_queues_in_the_millions_whole_at_every_size() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (_server, _) = listener.accept().expect("accept"); // never reads
    let client_port = client.local_addr().expect("addr").port();
    let written = fill(&mut client);
    assert!(written > 1_000_000, "only {written} bytes were accepted");

    let mut sampler = sampler(port);
    let mut snapshot = sampler.sample(0).expect("sample").snapshot;
    assert!(eventually(Duration::from_secs(3), || {
        snapshot = sampler.sample(0).expect("sample").snapshot;
        find(&snapshot, TcpState::Established, client_port)
            .is_some_and(|c| c.send_queue > 1_000_000)
    }));
    let sent = find(&snapshot, TcpState::Established, client_port).expect("client");
    let unread = find(&snapshot, TcpState::Established, port).expect("server");
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let app = drill_down(&snapshot, port, width, height);
        let screen = draw(&app, width, height).backend().to_string();
        let size = format!("{width}x{height}");
        assert_whole(&screen, sent.send_queue, &size);
        assert_whole(&screen, unread.recv_queue, &size);
    }

    // close() with unsent data: the client end is an orphan in FIN_WAIT1.
    drop(client);
    assert!(eventually(Duration::from_secs(3), || {
        snapshot = sampler.sample(0).expect("sample").snapshot;
        find(&snapshot, TcpState::FinWait1, client_port).is_some_and(|c| c.inode == 0)
    }));
    let orphan = find(&snapshot, TcpState::FinWait1, client_port).expect("orphan");
    for (width, height) in [(120, 40), (200, 60)] {
        let app = drill_down(&snapshot, port, width, height);
        let screen = draw(&app, width, height).backend().to_string();
        assert_whole(&screen, orphan.send_queue, &format!("{width}x{height}"));
        let line = screen
            .lines()
            .find(|l| l.contains("FIN_WAIT1"))
            .expect("the orphan's row");
        assert!(line.contains("orphan"), "{line}");
        assert!(!line.contains("accept()"), "{line}");
    }
}
