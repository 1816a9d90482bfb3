//! Building the dashboard's state from scripted samples and drawing it on a
//! `TestBackend`, with frozen time and no terminal, for screen tests.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tcpwatch::app::{App, AppSetup, Msg};
use tcpwatch::model::Snapshot;

/// 2026-11-23 21:40:00 UTC.
pub const START_MS: u64 = 1_795_470_000_000;

pub fn setup(width: u16, height: u16, color: bool) -> AppSetup {
    AppSetup {
        host: "testhost".to_string(),
        color,
        interval: Duration::from_secs(1),
        listen_interval: Duration::from_millis(100),
        watch_filter: "all".to_string(),
        width,
        height,
        now_ms: START_MS,
    }
}

/// The app with the pipeline step in front of it (shared with the unit
/// tests).
pub use tcpwatch::app::test_app::TestApp;

pub fn new_app(width: u16, height: u16, color: bool) -> TestApp {
    TestApp::new(setup(width, height, color))
}

pub fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

pub fn feed(app: &mut TestApp, snapshot: Snapshot) {
    app.feed(snapshot);
}

/// Moves the app's clock.
pub fn at(app: &mut App, now_ms: u64) {
    app.update(Msg::Clock { now_ms });
}

pub fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| tcpwatch::ui::render(frame, app))
        .expect("draw");
    terminal
}
