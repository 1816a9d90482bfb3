//! The messages the app reacts to: samples from the sampling thread, input
//! from the terminal, size changes and clock ticks.
//!
//! Owns: `Msg`, `SelfCost`. Must not: hold behaviour; `App::update` decides.

use crossterm::event::{KeyEvent, MouseEvent};

use super::narration::NarrationEvent;
use crate::watch::Tick;

/// What tcpwatch itself costs: CPU (percent of one core, all threads) and
/// resident memory, so users can trust that watching is cheap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfCost {
    pub cpu_percent: f64,
    pub rss_kib: u64,
}

/// Everything that can change the app's state.
#[derive(Debug)]
pub enum Msg {
    /// The pipeline judged a sample (or a listener sample, totals, or a
    /// failure) on the sampling thread.
    Sampled(Tick),
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// A click, already placed by the view under it (`ui::click_target`).
    Click(super::ClickTarget),
    Resize {
        width: u16,
        height: u16,
    },
    /// The wall clock, passed in (countdowns and ages).
    Clock {
        now_ms: u64,
    },
    /// A signal asked us to stop.
    Quit,
    /// tcpwatch's own cost, measured about once a second.
    SelfCost(SelfCost),
    /// The demo's narrator: a step starts, ends, or the demo is over.
    Narration(NarrationEvent),
    /// `--events auto` fell back to polling; the note says why.
    EventsOff {
        note: String,
    },
}
