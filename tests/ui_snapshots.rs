//! Rendered-screen snapshots of the dashboard, built from scripted samples
//! with frozen time: no threads, no sleeps, no host name, no terminal.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
mod common;

use common::screen::{START_MS, TestApp, draw, press, setup};
use tcpwatch::app::Msg;
use tcpwatch::collect::CollectError;
use tcpwatch::collect::scenarios::listen_one_experiment;
use tcpwatch::model::SocketRecord;

/// Seconds of the experiment fed before the picture is taken.
const SECONDS: u64 = 40;

/// The listen(1) experiment after `SECONDS` s: a snapshot per second and
/// listener samples at 10 Hz in between, the queue filling at second 1.
fn listen_one_app(width: u16, height: u16, color: bool) -> TestApp {
    let mut app = TestApp::new(setup(width, height, color));
    for second in 0..SECONDS {
        let mut snapshot = listen_one_experiment(START_MS, second);
        if second == 0 {
            // The first clients are still connecting: the queue is empty.
            if let Some(l) = snapshot
                .listeners
                .iter_mut()
                .find(|l| l.local.port() == 10000)
            {
                l.recv_queue = 0;
            }
        }
        let listeners: Vec<SocketRecord> = snapshot.listeners.clone();
        app.feed(snapshot);
        for tenth in 1..10u64 {
            let mut sampled = listeners.clone();
            if let Some(l) = sampled.iter_mut().find(|l| l.local.port() == 10000) {
                // The queue filled up during the first second.
                l.recv_queue = if second == 0 { (tenth / 4) as u32 } else { 2 };
            }
            app.feed_listeners(START_MS + second * 1000 + tenth * 100, sampled);
        }
    }
    app.update(Msg::Clock {
        now_ms: START_MS + (SECONDS - 1) * 1000 + 950,
    });
    while app.selected_port() != Some(10000) {
        let before = app.selected_port();
        press(&mut app, KeyCode::Down);
        assert_ne!(app.selected_port(), before, "port 10000 must be listed");
    }
    app
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

#[test]
fn dashboard_120x40() {
    let app = listen_one_app(120, 40, false);
    let terminal = draw(&app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("2/1 FULL"), "{screen}");
    assert!(
        screen.contains("backlog full on 127.0.0.1:10000"),
        "{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn dashboard_80x24() {
    let app = listen_one_app(80, 24, false);
    let terminal = draw(&app, 80, 24);
    let screen = screen_text(&terminal);
    assert!(screen.contains("2/1 FULL"), "{screen}");
    assert!(screen.contains("FULL"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn dashboard_80x24_time_wait_panel() {
    let mut app = listen_one_app(80, 24, false);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn too_small_40x10() {
    let app = listen_one_app(40, 10, false);
    let terminal = draw(&app, 40, 10);
    assert!(screen_text(&terminal).contains("terminal too small (need 60×16)"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn connections_120x40() {
    let mut app = listen_one_app(120, 40, false);
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 120, 40).backend());
}

#[test]
fn connections_80x24() {
    let mut app = listen_one_app(80, 24, false);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn connections_40x10_too_small() {
    let mut app = listen_one_app(40, 10, false);
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 40, 10).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut app = listen_one_app(80, 24, false);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn paused_with_failed_sample_keeps_last_good_data() {
    let mut app = listen_one_app(120, 40, false);
    press(&mut app, KeyCode::Char('p'));
    app.feed(listen_one_experiment(START_MS, SECONDS));
    app.fail(
        START_MS + (SECONDS + 1) * 1000,
        CollectError::NetlinkDecode {
            reason: "truncated".to_string(),
        },
    );
    let terminal = draw(&app, 120, 40);
    let screen = screen_text(&terminal);
    assert!(screen.contains("PAUSED +1 new"), "{screen}");
    assert!(screen.contains("sample failed at 21:40:41"), "{screen}");
    assert!(screen.contains("2/1 FULL"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn colour_marks_the_full_queue_red_and_no_colour_uses_none() {
    let cell_of = |terminal: &Terminal<TestBackend>, needle: &str| {
        let buffer = terminal.backend().buffer();
        let width = buffer.area.width as usize;
        let text: Vec<String> = buffer
            .content
            .iter()
            .map(|c| c.symbol().to_string())
            .collect();
        let lines: Vec<String> = text.chunks(width).map(|l| l.concat()).collect();
        let (y, line) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .expect("text on screen");
        let byte = line.find(needle).expect("found");
        let x = line[..byte].chars().count();
        buffer[(x as u16, y as u16)].clone()
    };
    let coloured = draw(&listen_one_app(120, 40, true), 120, 40);
    let cell = cell_of(&coloured, "2/1 FULL");
    assert_eq!(cell.fg, Color::Red);
    assert!(cell.modifier.contains(Modifier::BOLD));
    let plain = draw(&listen_one_app(120, 40, false), 120, 40);
    let cell = cell_of(&plain, "2/1 FULL");
    assert_eq!(cell.fg, Color::Reset, "NO_COLOR: no colour at all");
    assert!(
        cell.modifier.contains(Modifier::BOLD),
        "emphasis still marks it"
    );
    for y in 0..40u16 {
        for x in 0..120u16 {
            let cell = &plain.backend().buffer()[(x, y)];
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "at {x},{y}"
            );
        }
    }
}
