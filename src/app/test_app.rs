//! Tests drive the app the way the live loop does: each scripted sample goes
//! through a `Watch` first, and the judged tick reaches the app. The unit
//! tests and the screen tests (through `test-support`) share this one.
//!
//! Owns: `TestApp`. Must not: ship outside tests.

use std::ops::{Deref, DerefMut};

use super::{App, AppSetup, Effects, Msg};
use crate::alert::Thresholds;
use crate::collect::CollectError;
use crate::collect::sample_loop::SamplerEvent;
use crate::model::event::TcpEvent;
use crate::model::{Sampled, Snapshot, SocketRecord};
use crate::watch::Watch;

/// An app with the pipeline step in front of it.
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
    pub fn with_events(mut self, ports: &[u16]) -> TestApp {
        self.watch = self.watch.with_events(ports);
        self
    }

    /// A batch from the event reader; the next full sample delivers it.
    pub fn kernel_events(&mut self, events: &mut [TcpEvent], lost: u64) {
        self.watch.ingest_events(events, lost);
    }

    /// A sampler event, judged and delivered.
    pub fn ingest(&mut self, event: SamplerEvent) -> Effects {
        let tick = self.watch.ingest(event);
        self.app.update(Msg::Sampled(tick))
    }

    /// A full sample, judged and delivered.
    pub fn feed(&mut self, snapshot: Snapshot) -> Effects {
        let at_ms = snapshot.taken_at_ms;
        self.ingest(SamplerEvent::Full {
            at_ms,
            result: Ok(Box::new(Sampled::from_snapshot(snapshot))),
        })
    }

    /// A listener-only sample.
    pub fn feed_listeners(&mut self, at_ms: u64, listeners: Vec<SocketRecord>) {
        self.ingest(SamplerEvent::Listeners { at_ms, listeners });
    }

    /// A failed full sample.
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
