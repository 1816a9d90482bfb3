//! Building the dashboard's state from scripted samples and drawing it on a
//! `TestBackend`, with frozen time and no terminal, for screen tests.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tcpwatch::alert::Thresholds;
use tcpwatch::app::{App, AppSetup, Msg};
use tcpwatch::collect::CollectError;
use tcpwatch::collect::sample_loop::SamplerEvent;
use tcpwatch::model::event::TcpEvent;
use tcpwatch::model::{Sampled, Snapshot, SocketRecord};
use tcpwatch::watch::Watch;

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

/// An app with the pipeline step in front of it, as in the live loop: each
/// scripted sample is judged by a `Watch` and the tick reaches the app.
pub struct TestApp {
    app: App,
    watch: Watch,
}

impl TestApp {
    pub fn new(setup: AppSetup) -> TestApp {
        TestApp {
            app: App::new(setup),
            watch: Watch::new(Thresholds::default()),
        }
    }

    /// Exact kernel events on, for `ports` (empty: all), as `--events on`.
    #[allow(dead_code)]
    pub fn with_events(mut self, ports: &[u16]) -> TestApp {
        self.watch = self.watch.with_events(ports);
        self
    }

    /// A batch from the event reader; the next full sample delivers it.
    #[allow(dead_code)]
    pub fn kernel_events(&mut self, events: &mut [TcpEvent], lost: u64) {
        self.watch.ingest_events(events, lost);
    }

    pub fn ingest(&mut self, event: SamplerEvent) {
        let tick = self.watch.ingest(event);
        self.app.update(Msg::Sampled(tick));
    }

    pub fn feed(&mut self, snapshot: Snapshot) {
        let at_ms = snapshot.taken_at_ms;
        self.ingest(SamplerEvent::Full {
            at_ms,
            result: Ok(Box::new(Sampled::from_snapshot(snapshot))),
        });
    }

    #[allow(dead_code)]
    pub fn feed_listeners(&mut self, at_ms: u64, listeners: Vec<SocketRecord>) {
        self.ingest(SamplerEvent::Listeners { at_ms, listeners });
    }

    #[allow(dead_code)]
    pub fn fail(&mut self, at_ms: u64, error: CollectError) {
        self.ingest(SamplerEvent::Full {
            at_ms,
            result: Err(error),
        });
    }
}

impl Deref for TestApp {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut App {
        &mut self.app
    }
}

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
