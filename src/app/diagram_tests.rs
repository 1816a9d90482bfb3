//! The diagram view's state, driven by messages only: selection, the
//! explanation, flashing with injected time, scope, the transition log and
//! the demo's narration.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::diagram::FLASH_MS;
use super::test_app::TestApp;
use super::*;
use crate::collect::scenarios::{ClosePhase, close_sequence, listen_one_experiment};
use crate::model::transitions::Change;
use crate::model::{Snapshot, SourceKind, TcpState};

const START_MS: u64 = 1_795_470_000_000;

fn app(width: u16, height: u16) -> TestApp {
    TestApp::new(AppSetup {
        host: "testhost".to_string(),
        color: false,
        interval: Duration::from_secs(1),
        listen_interval: Duration::from_millis(100),
        watch_filter: "all".to_string(),
        width,
        height,
        now_ms: START_MS,
    })
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn feed(app: &mut TestApp, snapshot: Snapshot) {
    app.feed(snapshot);
}

fn selected(app: &App) -> TcpState {
    app.diagram().selected
}

#[test]
fn d_opens_the_diagram_and_d_or_esc_leaves_it() {
    let mut app = app(120, 40);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(*app.view(), View::Diagram);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(*app.view(), View::Dashboard);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(*app.view(), View::Dashboard);
}

#[test]
fn arrows_move_between_boxes_on_the_drawn_diagram() {
    let mut app = app(120, 40);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(selected(&app), TcpState::Established);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), TcpState::Close);
    press(&mut app, KeyCode::Right);
    assert_eq!(selected(&app), TcpState::Listen);
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(selected(&app), TcpState::SynRecv);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), TcpState::FinWait1);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    assert_eq!(selected(&app), TcpState::CloseWait);
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), TcpState::LastAck);
    press(&mut app, KeyCode::Left);
    assert_eq!(selected(&app), TcpState::TimeWait);
    press(&mut app, KeyCode::Tab);
    assert_eq!(selected(&app), TcpState::Close, "Tab: next in life order");
}

#[test]
fn arrows_walk_the_compact_list_in_order() {
    let mut app = app(80, 24);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), TcpState::FinWait1);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), TcpState::SynRecv);
    app.update(Msg::Resize {
        width: 100,
        height: 30,
    });
    press(&mut app, KeyCode::Down);
    assert_eq!(
        selected(&app),
        TcpState::Established,
        "drawn again: down from SYN_RECV is ESTABLISHED"
    );
}

#[test]
fn question_mark_opens_and_closes_the_explanation() {
    let mut app = app(120, 40);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help_visible(), "on the dashboard ? is the help");
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('?'));
    assert!(app.diagram().explaining);
    assert!(!app.help_visible());
    press(&mut app, KeyCode::Right);
    assert!(app.diagram().explaining, "another state, still explained");
    assert_eq!(selected(&app), TcpState::SynRecv);
    press(&mut app, KeyCode::Char('p'));
    assert!(!app.is_paused(), "keys under the overlay do nothing");
    press(&mut app, KeyCode::Char('?'));
    assert!(!app.diagram().explaining);
    press(&mut app, KeyCode::Enter);
    assert!(app.diagram().explaining, "Enter explains too");
    press(&mut app, KeyCode::Esc);
    assert!(!app.diagram().explaining);
    assert_eq!(*app.view(), View::Diagram, "Esc closed the overlay only");
    press(&mut app, KeyCode::Char('H'));
    assert!(app.help_visible(), "H is the help in the diagram");
}

#[test]
fn a_state_that_gains_sockets_flashes_for_the_flash_time() {
    let mut app = app(120, 40);
    press(&mut app, KeyCode::Char('d'));
    feed(&mut app, close_sequence(START_MS, ClosePhase::Open));
    assert_eq!(
        app.diagram().flash(TcpState::Established, START_MS),
        None,
        "the first sample only sets the baseline"
    );
    let t = START_MS + 1000;
    app.update(Msg::Clock { now_ms: t + 100 });
    feed(&mut app, close_sequence(t, ClosePhase::ClientsClosed));
    let now = t + 100;
    assert_eq!(app.diagram().flash(TcpState::FinWait2, now), Some(3));
    assert_eq!(app.diagram().flash(TcpState::CloseWait, now), Some(3));
    assert_eq!(app.diagram().flash(TcpState::Established, now), None);
    assert_eq!(
        app.diagram().flash(TcpState::FinWait2, now + FLASH_MS - 1),
        Some(3)
    );
    assert_eq!(
        app.diagram().flash(TcpState::FinWait2, now + FLASH_MS),
        None
    );
    let t2 = t + 1000;
    app.update(Msg::Clock { now_ms: t2 });
    feed(&mut app, close_sequence(t2, ClosePhase::BothClosed));
    assert_eq!(
        app.diagram().flash(TcpState::FinWait2, t2),
        None,
        "a state that lost its sockets stops flashing"
    );
    assert_eq!(app.diagram().flash(TcpState::TimeWait, t2), Some(3));
}

#[test]
fn scope_switches_between_all_ports_and_the_selected_port() {
    let mut app = app(120, 40);
    feed(&mut app, listen_one_experiment(START_MS, 3));
    while app.selected_port() != Some(10000) {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(app.diagram().scope, DiagramScope::AllWatched);
    assert_eq!(app.diagram().figures().counts.get(TcpState::Listen), 3);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.diagram().scope, DiagramScope::Port(10000));
    let figures = app.diagram().figures();
    assert_eq!(figures.counts.get(TcpState::Listen), 1);
    assert_eq!(figures.counts.get(TcpState::SynSent), 3);
    assert_eq!(figures.counts.get(TcpState::Established), 4);
    assert_eq!(figures.not_accepted, 2);
    let retry = figures.next_syn_retry.expect("a SYN retry is pending");
    assert_eq!(retry.retransmits, 1, "the soonest one: 40005's");
    assert_eq!(retry.left_ms(START_MS + 3000 + 500), 600);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.diagram().scope, DiagramScope::AllWatched);
}

#[test]
fn the_transition_log_follows_every_sample_and_pausing_freezes_it() {
    let mut app = app(120, 40);
    feed(&mut app, close_sequence(START_MS, ClosePhase::Open));
    assert!(app.transitions().is_empty(), "the first sample only learns");
    feed(
        &mut app,
        close_sequence(START_MS + 1000, ClosePhase::ClientsClosed),
    );
    let changes: Vec<_> = app
        .transitions()
        .newest_first()
        .map(|t| t.change.clone())
        .collect();
    assert_eq!(changes.len(), 6);
    assert!(changes.contains(&Change::Moved {
        from: TcpState::Established,
        to: TcpState::FinWait2,
        skipped: vec![TcpState::FinWait1],
    }));
    press(&mut app, KeyCode::Char('p'));
    feed(
        &mut app,
        close_sequence(START_MS + 2000, ClosePhase::BothClosed),
    );
    assert_eq!(app.transitions().len(), 12, "followed while paused");
    assert_eq!(app.history_until_ms(), START_MS + 1000, "shown up to here");
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('c'));
    assert!(
        app.transitions().is_empty(),
        "c clears the log in the diagram"
    );
    assert!(app.is_paused());
}

#[test]
fn the_log_is_bounded() {
    let mut app = app(120, 40);
    feed(&mut app, Snapshot::empty(START_MS, SourceKind::Netlink));
    for i in 0..300u64 {
        let phase = if i % 2 == 0 {
            ClosePhase::Open
        } else {
            ClosePhase::BothClosed
        };
        feed(&mut app, close_sequence(START_MS + (i + 1) * 1000, phase));
    }
    assert_eq!(app.transitions().len(), transition_log::LOG_CAPACITY);
}

#[test]
fn narration_events_tell_the_panel_where_the_demo_stands() {
    let mut app = app(120, 40);
    assert!(app.narration().is_none());
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 2,
        total: 5,
        text: "connect() ×5".to_string(),
        port: Some(10000),
        at_ms: START_MS,
    }));
    app.update(Msg::Narration(NarrationEvent::Outcome {
        text: "5 calls".to_string(),
    }));
    let narration = app.narration().expect("narrating");
    assert_eq!((narration.number, narration.total), (2, 5));
    assert_eq!(narration.outcome.as_deref(), Some("5 calls"));
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 3,
        total: 5,
        text: "short connections".to_string(),
        port: None,
        at_ms: START_MS + 5000,
    }));
    assert_eq!(app.narration().and_then(|n| n.outcome.clone()), None);
    app.update(Msg::Narration(NarrationEvent::Done {
        text: "done".to_string(),
        at_ms: START_MS + 9000,
    }));
    let narration = app.narration().expect("narrating");
    assert!(narration.done && !narration.failed);
    assert_eq!(narration.number, 3, "the last step stays counted");
}

#[test]
fn a_demo_step_turns_the_diagram_and_the_selection_to_its_port() {
    let mut app = app(120, 40);
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 0,
        total: 5,
        text: "introduction".to_string(),
        port: None,
        at_ms: START_MS,
    }));
    assert_eq!(app.diagram().scope, DiagramScope::AllWatched);
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 3,
        total: 5,
        text: "short connections".to_string(),
        port: Some(10000),
        at_ms: START_MS,
    }));
    assert_eq!(app.diagram().scope, DiagramScope::Port(10000));
    assert_eq!(app.selected_port(), Some(10000));
    app.update(Msg::Narration(NarrationEvent::Timer {
        moves_on_at_ms: None,
        paused: true,
    }));
    let narration = app.narration().expect("narrating");
    assert!(narration.paused);
    assert_eq!(narration.port, Some(10000));
    app.update(Msg::Narration(NarrationEvent::Done {
        text: "done".to_string(),
        at_ms: START_MS + 9000,
    }));
    assert_eq!(app.diagram().scope, DiagramScope::AllWatched);
}
