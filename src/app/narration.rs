//! What the demo's narrator has said: the step being run, what it does and
//! what to look for, what came of it, and the closing words.
//!
//! Owns: `NarrationEvent` (what the narrator sends) and `Narration` (what the
//! panel shows). Must not: run the demo or draw.

/// One message from the narrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarrationEvent {
    /// A step starts. `number` counts from 1; 0 is the introduction.
    Step {
        number: usize,
        total: usize,
        text: String,
        at_ms: u64,
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
    pub outcome: Option<String>,
    pub started_at_ms: u64,
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
            } => {
                *self = Narration {
                    number,
                    total,
                    text,
                    outcome: None,
                    started_at_ms: at_ms,
                    done: false,
                    failed: false,
                };
            }
            NarrationEvent::Outcome { text } => self.outcome = Some(text),
            NarrationEvent::Done { text, at_ms } => {
                self.text = text;
                self.outcome = None;
                self.started_at_ms = at_ms;
                self.done = true;
            }
            NarrationEvent::Failed { text, at_ms } => {
                self.outcome = Some(text);
                self.started_at_ms = at_ms;
                self.done = true;
                self.failed = true;
            }
        }
    }
}
