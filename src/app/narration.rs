//! What the demo's narrator has said: the step being run, what it does and
//! what to look for, what came of it, and the closing words.
//!
//! Owns: `NarrationEvent` (what the narrator sends), `Narration` (what the
//! panel shows), `DemoControl` (what the viewer asks of the narrator) and
//! how a step turns the diagram and the dashboard to its port. Must not:
//! run the demo or draw.

use super::{App, DiagramScope};

/// What the viewer asks of the demo's narrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoControl {
    /// Stop the step timer, or start it again where it stopped.
    TogglePause,
    /// Go on to the next step now.
    Next,
    /// Go back one step: the lab undoes the current one.
    Previous,
}

/// One message from the narrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarrationEvent {
    /// A step starts. `number` counts from 1; 0 is the introduction.
    /// `port`: the port the step is about; while it is on, the diagram
    /// counts that port only and the dashboard selects its row.
    Step {
        number: usize,
        total: usize,
        text: String,
        port: Option<u16>,
        at_ms: u64,
    },
    /// The step timer: when the demo moves on by itself (`None` once
    /// paused), and whether the viewer paused it.
    Timer {
        moves_on_at_ms: Option<u64>,
        paused: bool,
    },
    /// What the step's calls returned.
    Outcome { text: String },
    /// The demo is over; everything it opened is closed.
    Done { text: String, at_ms: u64 },
    /// A step failed; the demo stops there.
    Failed { text: String, at_ms: u64 },
}

/// Where the demo stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Narration {
    pub number: usize,
    pub total: usize,
    pub text: String,
    /// The port the step is about, if any.
    pub port: Option<u16>,
    pub outcome: Option<String>,
    pub started_at_ms: u64,
    /// When the demo moves on to the next step by itself.
    pub moves_on_at_ms: Option<u64>,
    pub paused: bool,
    pub done: bool,
    pub failed: bool,
}

impl Narration {
    pub fn apply(&mut self, event: NarrationEvent) {
        match event {
            NarrationEvent::Step {
                number,
                total,
                text,
                at_ms,
                port,
            } => {
                *self = Narration {
                    number,
                    total,
                    text,
                    port,
                    outcome: None,
                    started_at_ms: at_ms,
                    moves_on_at_ms: self.moves_on_at_ms,
                    paused: self.paused,
                    done: false,
                    failed: false,
                };
            }
            NarrationEvent::Timer {
                moves_on_at_ms,
                paused,
            } => {
                self.moves_on_at_ms = moves_on_at_ms;
                self.paused = paused;
            }
            NarrationEvent::Outcome { text } => self.outcome = Some(text),
            NarrationEvent::Done { text, at_ms } => {
                self.text = text;
                self.outcome = None;
                self.started_at_ms = at_ms;
                self.moves_on_at_ms = None;
                self.done = true;
            }
            NarrationEvent::Failed { text, at_ms } => {
                self.outcome = Some(text);
                self.started_at_ms = at_ms;
                self.moves_on_at_ms = None;
                self.done = true;
                self.failed = true;
            }
        }
    }
}

impl App {
    /// A narrator's message: the panel takes it in, and a new step turns
    /// the diagram's counts and the dashboard's selection to its port (the
    /// introduction and the end turn the diagram back to every port).
    pub(super) fn on_narration(&mut self, event: NarrationEvent) {
        match &event {
            NarrationEvent::Step {
                port: Some(port), ..
            } => {
                self.diagram.scope = DiagramScope::Port(*port);
                self.nav.select_port(*port);
            }
            NarrationEvent::Step { port: None, .. } | NarrationEvent::Done { .. } => {
                self.diagram.scope = DiagramScope::AllWatched;
            }
            NarrationEvent::Outcome { .. } => {
                // The step's sockets exist now: select the port's row again
                // in case a sample came before them.
                if let Some(port) = self.feed.narration.as_ref().and_then(|n| n.port) {
                    self.nav.select_port(port);
                }
            }
            NarrationEvent::Timer { .. } | NarrationEvent::Failed { .. } => {}
        }
        self.feed.narration.get_or_insert_default().apply(event);
    }
}
