//! The dashboard on a recording: the same `App` fed with recorded ticks,
//! driven by the replay `Player` (play, pause, speed, seek, next alert).
//! Seeking back or far rebuilds the app from a warm-up before the target,
//! so every panel reads as it did live at that moment.
//!
//! Owns: `Replay` and what the replay keys (in the key table) do. Must
//! not: read files or the clock; frames come from a `FrameSource`, real elapsed time is passed in.

use std::time::Duration;

use crossterm::event::KeyModifiers;

use super::keymap::{self, Command, ReplayCommand, Screen};
use super::{App, AppSetup, Effects, Msg};
use crate::record::player::{Player, Step};
use crate::watch::{FullTick, Tick};

/// Where recorded frames come from (the recording, or a test's ticks).
pub trait FrameSource {
    fn frame(&mut self, number: usize) -> Result<FullTick, String>;
}

impl FrameSource for Vec<FullTick> {
    fn frame(&mut self, number: usize) -> Result<FullTick, String> {
        self.get(number)
            .cloned()
            .ok_or_else(|| format!("no frame {number}"))
    }
}

/// The replayed dashboard.
pub struct Replay {
    setup: AppSetup,
    app: App,
    player: Player,
    /// The latest frame that could not be read, if any.
    damaged: Option<String>,
}

impl Replay {
    /// Opens on the first frame.
    pub fn new(setup: AppSetup, player: Player, source: &mut dyn FrameSource) -> Replay {
        let app = App::new(setup.clone());
        let mut replay = Replay {
            setup,
            app,
            player,
            damaged: None,
        };
        let start = replay.player.start();
        replay.apply(start, source);
        replay
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn player(&self) -> &Player {
        &self.player
    }

    pub fn damaged(&self) -> Option<&str> {
        self.damaged.as_deref()
    }

    fn feed(&mut self, number: usize, source: &mut dyn FrameSource) -> Effects {
        match source.frame(number) {
            Ok(tick) => self.app.update(Msg::Sampled(Tick::Full(Box::new(tick)))),
            Err(error) => {
                self.damaged = Some(error);
                Effects::default()
            }
        }
    }

    fn apply(&mut self, step: Step, source: &mut dyn FrameSource) -> Effects {
        let mut effects = Effects::default();
        let frames = match step {
            Step::Stay => None,
            Step::Feed(frames) => Some(frames),
            Step::Rebuild(frames) => {
                let (width, height) = self.app.viewport;
                self.setup.width = width;
                self.setup.height = height;
                self.setup.now_ms = self.player.now_ms();
                self.app = App::new(self.setup.clone());
                Some(frames)
            }
        };
        for number in frames.into_iter().flatten() {
            effects = effects.and(self.feed(number, source));
        }
        effects.and(self.app.update(Msg::Clock {
            now_ms: self.player.now_ms(),
        }))
    }

    /// Real time passed.
    pub fn advance(&mut self, real: Duration, source: &mut dyn FrameSource) -> Effects {
        let step = self.player.advance(real);
        self.apply(step, source)
    }

    /// A message from the terminal: replay keys drive the player, the rest
    /// go to the app (also every key while a filter is typed or help is up).
    pub fn update(&mut self, msg: Msg, source: &mut dyn FrameSource) -> Effects {
        let Msg::Key(key) = &msg else {
            return self.app.update(msg);
        };
        if self.app.filter().is_editing() || self.app.help_visible() {
            return self.app.update(msg);
        }
        // Alt-keys go to the app, as the player has none.
        let command = if key.modifiers.contains(KeyModifiers::ALT) {
            None
        } else {
            keymap::command_for(key, Screen::Replay)
        };
        let Some(Command::Replay(action)) = command else {
            return self.app.update(msg);
        };
        let step = match action {
            ReplayCommand::PlayPause => {
                self.player.toggle_play();
                Step::Stay
            }
            ReplayCommand::Faster => {
                self.player.faster();
                Step::Stay
            }
            ReplayCommand::Slower => {
                self.player.slower();
                Step::Stay
            }
            ReplayCommand::Seek(delta_ms) => self.player.seek_by(delta_ms),
            ReplayCommand::NextAlert => self.player.next_alert(),
        };
        self.apply(step, source)
    }
}
