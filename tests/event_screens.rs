//! Screens with exact kernel events: the transition log showing every event
//! to the microsecond (● seen, ○ inferred), a 20 ms connection's whole life,
//! the RST and drop lines, the Ports panel's RST counts, and the note when
//! events are off. Scripted events and samples, frozen time, TestBackend.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
mod common;

use common::screen::{START_MS, TestApp, at, draw, feed, new_app, press};
use tcpwatch::app::Msg;
use tcpwatch::collect::scenarios::listen_one_experiment;
use tcpwatch::model::TcpState::{self, *};
use tcpwatch::model::event::{EventKind, Reason, TcpEvent};

/// Microseconds after the first sample.
fn at_us(offset_us: u64) -> u64 {
    START_MS * 1000 + offset_us
}

fn change(
    offset_us: u64,
    sk: u64,
    local: &str,
    remote: &str,
    old: TcpState,
    new: TcpState,
) -> TcpEvent {
    TcpEvent {
        at_us: at_us(offset_us),
        kind: EventKind::StateChange { old, new },
        local: Some(local.parse().expect("addr")),
        remote: Some(remote.parse().expect("addr")),
        cookie: None,
        sk,
    }
}

fn other(
    offset_us: u64,
    sk: u64,
    kind: EventKind,
    local: Option<&str>,
    remote: Option<&str>,
) -> TcpEvent {
    TcpEvent {
        at_us: at_us(offset_us),
        kind,
        local: local.map(|a| a.parse().expect("addr")),
        remote: remote.map(|a| a.parse().expect("addr")),
        cookie: None,
        sk,
    }
}

const CLIENT: &str = "127.0.0.1:45000";
const SERVER: &str = "127.0.0.1:9000";

/// Between the first two samples: the listen(1) listener on 10000, a
/// connection to :9000 that lives 20 ms, a connect to the closed port
/// 10002, a final ACK dropped on 10000's full queue and a SYN-ACK resent.
fn script() -> Vec<TcpEvent> {
    let refused = "127.0.0.1:44720";
    let closed = "127.0.0.1:10002";
    let listener = "127.0.0.1:10000";
    vec![
        change(100_000, 0x100, listener, "0.0.0.0:0", Close, Listen),
        change(200_000, 0xa, CLIENT, SERVER, Close, SynSent),
        change(200_041, 0xa, CLIENT, SERVER, SynSent, Established),
        change(200_049, 0xb, SERVER, CLIENT, Listen, SynRecv),
        change(200_053, 0xb, SERVER, CLIENT, SynRecv, Established),
        change(200_110, 0xa, CLIENT, SERVER, Established, FinWait1),
        change(200_114, 0xb, SERVER, CLIENT, Established, CloseWait),
        change(220_270, 0xb, SERVER, CLIENT, CloseWait, LastAck),
        change(220_301, 0xa, CLIENT, SERVER, FinWait1, FinWait2),
        change(220_311, 0xa, CLIENT, SERVER, FinWait2, Close),
        change(220_329, 0xb, SERVER, CLIENT, LastAck, Close),
        change(400_000, 0xc, refused, closed, Close, SynSent),
        other(
            400_011,
            0,
            EventKind::RstSent {
                reason: Reason {
                    code: 2,
                    name: "NO_SOCKET",
                },
                state: None,
            },
            Some(closed),
            Some(refused),
        ),
        other(
            400_021,
            0xc,
            EventKind::RstReceived,
            Some(refused),
            Some(closed),
        ),
        change(400_022, 0xc, refused, closed, SynSent, Close),
        other(
            600_000,
            0x100,
            EventKind::Drop {
                reason: Reason {
                    code: 40,
                    name: "TCP_LISTEN_OVERFLOW",
                },
                rx_sk: 0x100,
            },
            None,
            None,
        ),
        other(
            700_000,
            0x100,
            EventKind::SynAckRetransmit,
            Some(listener),
            Some("127.0.0.1:40002"),
        ),
    ]
}

/// The listen(1) picture at seconds 0 and 1 with the scripted events
/// between; the clock half a second after the second sample.
fn with_events(width: u16, height: u16) -> TestApp {
    let mut app = new_app(width, height, false).with_events(&[]);
    feed(&mut app, listen_one_experiment(START_MS, 0));
    app.kernel_events(&mut script(), 0);
    at(&mut app, START_MS + 1000);
    feed(&mut app, listen_one_experiment(START_MS, 1));
    at(&mut app, START_MS + 1500);
    app
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

#[test]
fn the_log_shows_a_20ms_connection_whole_and_the_rst_and_drop_lines() {
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let mut app = with_events(width, height);
        press(&mut app, KeyCode::Char('d'));
        let terminal = draw(&app, width, height);
        insta::assert_snapshot!(format!("event_log_{width}x{height}"), terminal.backend());
    }
    let mut app = with_events(200, 60);
    press(&mut app, KeyCode::Char('d'));
    let screen = text(&draw(&app, 200, 60));
    for step in [
        "21:40:00.200000  127.0.0.1:45000 → 127.0.0.1:9000  CLOSED → SYN_SENT",
        "21:40:00.200041  127.0.0.1:45000 → 127.0.0.1:9000  SYN_SENT → ESTABLISHED",
        "21:40:00.200049  127.0.0.1:9000 → 127.0.0.1:45000  new → SYN_RECV",
        "21:40:00.200053  127.0.0.1:9000 → 127.0.0.1:45000  SYN_RECV → ESTABLISHED",
        "21:40:00.200110  127.0.0.1:45000 → 127.0.0.1:9000  ESTABLISHED → FIN_WAIT1",
        "21:40:00.200114  127.0.0.1:9000 → 127.0.0.1:45000  ESTABLISHED → CLOSE_WAIT",
        "21:40:00.220270  127.0.0.1:9000 → 127.0.0.1:45000  CLOSE_WAIT → LAST_ACK",
        "21:40:00.220301  127.0.0.1:45000 → 127.0.0.1:9000  FIN_WAIT1 → FIN_WAIT2",
        "21:40:00.220311  127.0.0.1:45000 → 127.0.0.1:9000  FIN_WAIT2 → TIME_WAIT",
        "21:40:00.220329  127.0.0.1:9000 → 127.0.0.1:45000  LAST_ACK → CLOSED",
        "21:40:00.400022  127.0.0.1:44720 → 127.0.0.1:10002  SYN_SENT → CLOSED  recv RST",
        "● 21:40:00.400011  RST sent: SYN to 127.0.0.1:10002, no listener (connect() gets ECONNREFUSED)",
        "● 21:40:00.600000  Drop at listener 127.0.0.1:10000: TCP_LISTEN_OVERFLOW",
        "○ 21:40:01",
        "Drop (inferred): ListenOverflows",
    ] {
        assert!(screen.contains(step), "{step:?} missing in\n{screen}");
    }
}

#[test]
fn the_ports_panel_counts_rsts_per_port() {
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let app = with_events(width, height);
        let terminal = draw(&app, width, height);
        let screen = text(&terminal);
        assert!(screen.contains("RST s/r"), "{screen}");
        assert!(
            screen.contains(":10002 sent 1, received 1"),
            "the closed port has no row, its RSTs are still counted:\n{screen}"
        );
        insta::assert_snapshot!(
            format!("ports_with_rsts_{width}x{height}"),
            terminal.backend()
        );
    }
}

#[test]
fn lost_events_are_told_in_the_log_title() {
    let mut app = new_app(120, 40, false).with_events(&[]);
    feed(&mut app, listen_one_experiment(START_MS, 0));
    app.kernel_events(&mut script(), 7);
    feed(&mut app, listen_one_experiment(START_MS, 1));
    press(&mut app, KeyCode::Char('d'));
    let screen = text(&draw(&app, 120, 40));
    assert!(
        screen.contains("7 events lost: the log is incomplete"),
        "{screen}"
    );
}

#[test]
fn with_events_off_the_log_says_why_and_stays_inferred() {
    let mut app = new_app(120, 40, false);
    app.update(Msg::EventsOff {
        note: "tcpwatch: exact events off (reading tracepoints needs root or CAP_PERFMON); polling only"
            .to_string(),
    });
    feed(&mut app, listen_one_experiment(START_MS, 0));
    feed(&mut app, listen_one_experiment(START_MS, 1));
    press(&mut app, KeyCode::Char('d'));
    let screen = text(&draw(&app, 120, 40));
    assert!(
        screen.contains("exact events off (reading tracepoints needs root or CAP_PERFMON)"),
        "{screen}"
    );
    assert!(!screen.contains("RST s/r"));
    assert!(!screen.contains("seen by the kernel"));
    let mut small = new_app(80, 24, false);
    small.update(Msg::EventsOff {
        note: "tcpwatch: exact events off (reading tracepoints needs root or CAP_PERFMON); polling only"
            .to_string(),
    });
    feed(&mut small, listen_one_experiment(START_MS, 0));
    feed(&mut small, listen_one_experiment(START_MS, 1));
    press(&mut small, KeyCode::Char('d'));
    insta::assert_snapshot!("events_off_note_80x24", draw(&small, 80, 24).backend());
}

#[test]
fn page_down_scrolls_the_exact_log() {
    let mut app = with_events(120, 40);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::PageDown);
    let screen = text(&draw(&app, 120, 40));
    assert!(screen.contains("Transitions (18) · ● seen"), "{screen}");
    assert!(screen.contains("newest first · from 6"), "{screen}");
    press(&mut app, KeyCode::Char('c'));
    let cleared = text(&draw(&app, 120, 40));
    assert!(cleared.contains("Transitions (0)"), "{cleared}");
}

#[test]
fn the_explanation_shows_the_latest_exact_changes_of_the_state() {
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let mut app = with_events(width, height);
        press(&mut app, KeyCode::Char('d'));
        // The list view goes down to it; the box diagram down, then right.
        for key in [KeyCode::Down; 12].into_iter().chain([KeyCode::Right; 3]) {
            if app.diagram().selected == TimeWait {
                break;
            }
            let before = app.diagram().selected;
            press(&mut app, key);
            if app.diagram().selected == before && key == KeyCode::Down {
                press(&mut app, KeyCode::Right);
            }
        }
        assert_eq!(app.diagram().selected, TimeWait);
        press(&mut app, KeyCode::Char('?'));
        let terminal = draw(&app, width, height);
        let screen = text(&terminal);
        assert!(screen.contains("seen:        exact "), "{screen}");
        assert!(
            screen.contains("21:40:00.220311 127.0.0.1:45000 → :9000 FIN_WAIT2"),
            "{screen}"
        );
        insta::assert_snapshot!(
            format!("explanation_with_events_{width}x{height}"),
            terminal.backend()
        );
    }
}
