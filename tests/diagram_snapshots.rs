//! Rendered-screen snapshots of the state-diagram view, the explanation
//! overlay, the transition log and the demo's narration, built from scripted
//! samples with frozen time: no threads, no sleeps, no terminal.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
mod common;

use common::screen::{START_MS, TestApp, at, draw, feed, new_app, press};
use tcpwatch::app::{App, Msg, NarrationEvent};
use tcpwatch::collect::scenarios::{ClosePhase, close_sequence, listen_one_experiment};
use tcpwatch::demo::Step;
use tcpwatch::demo::lab::LabPorts;
use tcpwatch::model::{Snapshot, SourceKind, TcpState};

fn select_port(app: &mut App, port: u16) {
    for _ in 0..10 {
        if app.selected_port() == Some(port) {
            return;
        }
        press(app, KeyCode::Down);
    }
    panic!("port {port} must be listed");
}

/// The listen(1) experiment from an empty table: at second 1 the listener,
/// its two queued connections and three clients in SYN_SENT appear; then
/// the SYNs are retried. The diagram counts port 10000 only.
fn listen_one_diagram(width: u16, height: u16) -> TestApp {
    let mut app = new_app(width, height, false);
    feed(&mut app, Snapshot::empty(START_MS, SourceKind::Netlink));
    for second in 1..=4 {
        at(&mut app, START_MS + second * 1000);
        feed(&mut app, listen_one_experiment(START_MS, second));
    }
    at(&mut app, START_MS + 4_000 + 950);
    select_port(&mut app, 10000);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('a'));
    app
}

/// Three connections to :9000 closed by their clients, up to `phase`; the
/// last sample 0.5 s before the picture, so its gains still flash.
fn close_diagram(width: u16, height: u16, phase: ClosePhase) -> TestApp {
    let mut app = new_app(width, height, false);
    let phases = [
        ClosePhase::Open,
        ClosePhase::Open,
        ClosePhase::ClientsClosed,
        ClosePhase::BothClosed,
    ];
    let last = phases.iter().rposition(|p| *p == phase).unwrap_or(0);
    for (i, phase) in phases.iter().take(last + 1).enumerate() {
        let t = START_MS + i as u64 * 1000;
        at(&mut app, t);
        feed(&mut app, close_sequence(t, *phase));
    }
    at(&mut app, START_MS + last as u64 * 1000 + 500);
    press(&mut app, KeyCode::Char('d'));
    app
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

/// The count in the middle row of the box whose top border names `state`.
fn box_count(screen: &str, state: TcpState) -> Option<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let name: Vec<char> = format!(" {} ", state.name()).chars().collect();
    for (y, line) in lines.iter().enumerate() {
        let Some(x) = line.windows(name.len()).position(|w| w == name.as_slice()) else {
            continue;
        };
        if !matches!(line.get(x.wrapping_sub(1)), Some('─' | '━' | '┌' | '┏')) {
            continue;
        }
        let below = lines.get(y + 1)?;
        let cell: String = below.get(x..x + name.len())?.iter().collect();
        return Some(cell.trim().to_string());
    }
    None
}

#[test]
fn diagram_listen_one_100x30() {
    let app = listen_one_diagram(100, 30);
    let terminal = draw(&app, 100, 30);
    let screen = text(&terminal);
    assert_eq!(box_count(&screen, TcpState::Listen).as_deref(), Some("1"));
    assert_eq!(box_count(&screen, TcpState::SynSent).as_deref(), Some("3"));
    assert!(screen.contains("counts for port 10000"), "{screen}");
    assert!(screen.contains("q 2/1 FULL"), "{screen}");
    assert!(
        screen.contains("2 wait in the accept queue (no process yet)"),
        "{screen}"
    );
    for label in [
        "connect()",
        "listen()",
        "recv SYN",
        "recv SYN-ACK",
        "recv ACK",
        "recv FIN",
        "close()",
        "2MSL (60 s)",
    ] {
        assert!(screen.contains(label), "{label} missing:\n{screen}");
    }
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_listen_one_120x40_with_the_transition_log() {
    let app = listen_one_diagram(120, 40);
    let terminal = draw(&app, 120, 40);
    let screen = text(&terminal);
    assert!(screen.contains(" ESTABLISHED "), "{screen}");
    assert!(screen.contains("SYN_SENT ↻ SYN #"), "{screen}");
    assert!(screen.contains("CLOSED → SYN_SENT"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_listen_one_80x24_is_a_compact_list_with_the_log() {
    let app = listen_one_diagram(80, 24);
    let terminal = draw(&app, 80, 24);
    let screen = text(&terminal);
    assert!(screen.contains("IN BY"), "{screen}");
    assert!(screen.contains("Transitions"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_60x16_list_scrolls_to_the_selection() {
    let mut app = listen_one_diagram(60, 16);
    for _ in 0..6 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.diagram().selected, TcpState::TimeWait);
    let terminal = draw(&app, 60, 16);
    assert!(text(&terminal).contains("▶TIME_WAIT"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_40x10_too_small() {
    let app = listen_one_diagram(40, 10);
    let terminal = draw(&app, 40, 10);
    assert!(text(&terminal).contains("terminal too small"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_close_sequence_fin_wait2_and_close_wait_100x30() {
    let app = close_diagram(100, 30, ClosePhase::ClientsClosed);
    let terminal = draw(&app, 100, 30);
    let screen = text(&terminal);
    assert_eq!(
        box_count(&screen, TcpState::FinWait2).as_deref(),
        Some("3 +3"),
        "{screen}"
    );
    assert_eq!(
        box_count(&screen, TcpState::CloseWait).as_deref(),
        Some("3 +3")
    );
    assert!(screen.contains("┃  ·  · accept() takes it out"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn diagram_close_sequence_time_wait_120x40() {
    let app = close_diagram(120, 40, ClosePhase::BothClosed);
    let terminal = draw(&app, 120, 40);
    let screen = text(&terminal);
    assert_eq!(
        box_count(&screen, TcpState::TimeWait).as_deref(),
        Some("3 +3")
    );
    assert!(
        screen.contains("FIN_WAIT2 → TIME_WAIT (+1.0 s)"),
        "{screen}"
    );
    assert!(screen.contains("via FIN_WAIT1"), "{screen}");
    assert!(screen.contains("CLOSE_WAIT → CLOSED"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn flashing_ends_after_the_flash_time() {
    let mut app = close_diagram(100, 30, ClosePhase::ClientsClosed);
    let cell_at = |terminal: &Terminal<TestBackend>, needle: &str| {
        let buffer = terminal.backend().buffer();
        let screen = text(terminal);
        let (y, line) = screen
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .expect("on screen");
        let x = line[..line.find(needle).expect("found")].chars().count() - 1;
        buffer[(x as u16, y as u16)].clone()
    };
    let flashing = draw(&app, 100, 30);
    assert!(
        cell_at(&flashing, "3 +3")
            .modifier
            .contains(Modifier::REVERSED)
    );
    at(&mut app, START_MS + 2_000 + 2_000);
    let calm = draw(&app, 100, 30);
    assert!(!text(&calm).contains("+3"), "{}", text(&calm));
}

#[test]
fn explanation_overlay_100x30() {
    let mut app = listen_one_diagram(100, 30);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Left);
    assert_eq!(app.diagram().selected, TcpState::SynSent);
    press(&mut app, KeyCode::Char('?'));
    let terminal = draw(&app, 100, 30);
    let screen = text(&terminal);
    assert!(screen.contains("tcpwatch explain SYN_SENT"), "{screen}");
    assert!(screen.contains("3 sockets now"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn explanation_overlay_80x24() {
    let mut app = close_diagram(80, 24, ClosePhase::BothClosed);
    while app.diagram().selected != TcpState::TimeWait {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn help_in_the_diagram_lists_its_keys_80x24() {
    let mut app = listen_one_diagram(80, 24);
    press(&mut app, KeyCode::Char('H'));
    let terminal = draw(&app, 80, 24);
    assert!(text(&terminal).contains("In the state diagram"));
    insta::assert_snapshot!(terminal.backend());
}

/// The listen(1) experiment and a close sequence side by side, all ports:
/// appearances, SYN retransmits, a move that skipped FIN_WAIT1, a TIME_WAIT
/// and a passive close that went by between samples.
#[test]
fn transition_log_with_scripted_changes_120x40() {
    let mut app = new_app(120, 40, false);
    let phases = [
        ClosePhase::Open,
        ClosePhase::ClientsClosed,
        ClosePhase::BothClosed,
    ];
    feed(&mut app, Snapshot::empty(START_MS, SourceKind::Netlink));
    for second in 1..=3u64 {
        let t = START_MS + second * 1000;
        let mut snapshot = listen_one_experiment(START_MS, second);
        snapshot.sockets.retain(|s| {
            s.local.port() == 10000 || s.remote.port() == 10000 || s.local.port() == 22
        });
        let close = close_sequence(t, phases[(second - 1) as usize]);
        snapshot.listeners.extend(close.listeners);
        snapshot.sockets.extend(close.sockets);
        at(&mut app, t);
        feed(&mut app, snapshot);
    }
    at(&mut app, START_MS + 3_500);
    press(&mut app, KeyCode::Char('d'));
    let terminal = draw(&app, 120, 40);
    let screen = text(&terminal);
    assert!(screen.contains("×3"), "{screen}");
    assert!(
        screen.contains("ESTABLISHED → FIN_WAIT2 (+1.0 s) via FIN_WAIT1"),
        "{screen}"
    );
    assert!(screen.contains("next in"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

/// Step 2 of the demo as the narrator says it, with the listen(1) port at
/// 10000.
fn narrated(app: &mut App) {
    let ports = LabPorts {
        full_queue: 10000,
        time_wait: 10001,
        close_wait: 10002,
        closed: 10003,
    };
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 2,
        total: 5,
        text: Step::FillTheQueue.narration(&ports),
        port: Some(10000),
        at_ms: START_MS + 3_000,
    }));
    app.update(Msg::Narration(NarrationEvent::Outcome {
        text: "5 connect() calls issued (non-blocking)".to_string(),
    }));
}

#[test]
fn demo_narration_panel_120x40() {
    let mut app = listen_one_diagram(120, 40);
    narrated(&mut app);
    let terminal = draw(&app, 120, 40);
    let screen = text(&terminal);
    assert!(screen.contains("Demo · step 2/5"), "{screen}");
    assert!(screen.contains("→ 5 connect() calls issued"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn demo_narration_panel_done_100x30() {
    let mut app = listen_one_diagram(100, 30);
    narrated(&mut app);
    app.update(Msg::Narration(NarrationEvent::Done {
        text: tcpwatch::demo::EPILOGUE.to_string(),
        at_ms: START_MS + 30_000,
    }));
    let terminal = draw(&app, 100, 30);
    let screen = text(&terminal);
    assert!(screen.contains("Demo · done"), "{screen}");
    assert_eq!(box_count(&screen, TcpState::SynSent).as_deref(), Some("3"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn demo_narration_panel_80x24() {
    let mut app = listen_one_diagram(80, 24);
    narrated(&mut app);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}
