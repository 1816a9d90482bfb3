//! The dashboard's App fed by the real pipeline pieces (root): the real
//! tracepoint reader and the real sampler on loopback. A connection that
//! lives 20 ms and a connect to a closed port happen between two samples;
//! the transition log shows every step of both ends to the microsecond and
//! the RST line, and the Ports panel counts the RSTs. Under CI=true these
//! fail rather than skip when they cannot run.

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::screen::{at, draw, new_app, press};
use common::{can_run, closed_port, is_root, short_connection_closed_by_the_client};
use crossterm::event::KeyCode;
use tcpwatch::collect::SnapshotSource;
use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::clock::now_ms;
use tcpwatch::collect::events::{EventOptions, EventsChoice, EventsStart, start_events};
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::model::event::{EventKind, TcpEvent};
use tcpwatch::model::{Filter, JudgingScope};

fn sampler(ports: &[u16]) -> Sampler {
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

#[test]
fn the_dashboard_shows_a_20ms_connection_whole_and_the_rst_from_real_events() {
    if !can_run(is_root(), "root (perf_event_open of tracepoints)") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_addr = listener.local_addr().expect("addr");
    let closed = closed_port();
    let ports = [server_addr.port(), closed];
    let EventsStart::On(_reader, batches) =
        start_events(EventsChoice::On, &EventOptions::for_ports(&ports)).expect("events on")
    else {
        panic!("--events on must start the reader");
    };
    let mut sampler = sampler(&ports);
    let mut app = new_app(200, 60, false).with_events(&ports);
    let first = sampler.sample(now_ms()).expect("first sample");
    at(&mut app, first.snapshot.taken_at_ms);
    app.ingest(tcpwatch::collect::sample_loop::SamplerEvent::Full {
        at_ms: first.snapshot.taken_at_ms,
        result: Ok(Box::new(first)),
    });

    // A connection that lives about 20 ms, then a connect nobody answers.
    let started = Instant::now();
    let client_addr = short_connection_closed_by_the_client(&listener);
    let lived = started.elapsed();
    assert!(lived < Duration::from_millis(500), "lived {lived:?}");
    let refused = TcpStream::connect(("127.0.0.1", closed)).expect_err("nobody listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    // Everything the reader drains until the server's end and the RST came.
    let mut seen: Vec<TcpEvent> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let done = |seen: &[TcpEvent]| {
        seen.iter()
            .any(|e| matches!(e.kind, EventKind::RstSent { .. }))
            && seen.iter().any(|e| {
                e.local == Some(server_addr)
                    && matches!(
                        e.kind,
                        EventKind::StateChange {
                            new: tcpwatch::model::TcpState::Close,
                            ..
                        }
                    )
            })
    };
    while !done(&seen) && Instant::now() < deadline {
        if let Ok(mut batch) = batches.recv_timeout(Duration::from_millis(200)) {
            seen.extend(batch.events.iter().copied());
            app.kernel_events(&mut batch.events, batch.lost);
        }
    }
    assert!(done(&seen), "events seen: {seen:#?}");
    let second = sampler.sample(now_ms()).expect("second sample");
    at(&mut app, second.snapshot.taken_at_ms);
    app.ingest(tcpwatch::collect::sample_loop::SamplerEvent::Full {
        at_ms: second.snapshot.taken_at_ms,
        result: Ok(Box::new(second)),
    });

    let dashboard = draw(&app, 200, 60).backend().to_string();
    assert!(
        dashboard.contains(&format!(
            "RST (exact) at ports with no socket: :{closed} sent 1, received 1"
        )),
        "{dashboard}"
    );
    press(&mut app, KeyCode::Char('d'));
    let screen = draw(&app, 200, 60).backend().to_string();
    let (c, s) = (client_addr, server_addr);
    let order = [
        format!("{c} → {s}  CLOSED → SYN_SENT"),
        format!("{c} → {s}  SYN_SENT → ESTABLISHED"),
        format!("{s} → {c}  new → SYN_RECV"),
        format!("{s} → {c}  SYN_RECV → ESTABLISHED"),
        format!("{c} → {s}  ESTABLISHED → FIN_WAIT1"),
        format!("{s} → {c}  ESTABLISHED → CLOSE_WAIT"),
        format!("{s} → {c}  CLOSE_WAIT → LAST_ACK"),
        format!("{c} → {s}  FIN_WAIT2 → TIME_WAIT"),
        format!("{s} → {c}  LAST_ACK → CLOSED"),
    ];
    for step in &order {
        assert!(
            screen.contains(step.as_str()),
            "{step:?} missing in\n{screen}"
        );
    }
    assert!(
        screen.contains(&format!(
            "RST sent: SYN to 127.0.0.1:{closed}, no listener (connect() gets ECONNREFUSED)"
        )),
        "{screen}"
    );
    assert!(screen.contains("● seen by the kernel"), "{screen}");
}
