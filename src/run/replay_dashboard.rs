//! `tcpwatch replay FILE` on a terminal: the dashboard on the recording,
//! with the time bar and the replay keys (space, [ ], , . < >, n).
//!
//! Owns: the replay's terminal loop. Must not: judge or decode frames
//! itself; the app and the recording do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::dashboard::{color_for, spawn_input};
use crate::app::replay::{FrameSource, Replay};
use crate::app::{AppSetup, Msg};
use crate::cli::{Config, ReplayConfig};
use crate::error::AppError;
use crate::record::Recording;
use crate::record::format::flags;
use crate::record::player::Player;
use crate::tui::{StopSignals, TerminalGuard};

/// How often the screen moves while playing.
const FRAME_EVERY: Duration = Duration::from_millis(100);

struct RecordingFrames(Recording);

impl FrameSource for RecordingFrames {
    fn frame(&mut self, number: usize) -> Result<crate::watch::FullTick, String> {
        self.0.tick(number).map_err(|e| e.to_string())
    }
}

/// A player over the recording's frames, at `speed`.
pub fn player_for(recording: &Recording, speed: u32) -> Player {
    let frames = recording.frames();
    Player::new(
        frames.iter().map(|f| f.at_ms).collect(),
        frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.flags & flags::ALERT_EVENTS != 0)
            .map(|(i, _)| i)
            .collect(),
        speed,
    )
}

pub fn run(config: &Config, replay: &ReplayConfig) -> Result<(), AppError> {
    let recording = super::replay::open(replay)?;
    let header = recording.header().clone();
    let player = player_for(&recording, replay.speed);
    let mut source = RecordingFrames(recording);
    let watch_filter = source
        .frame(0)
        .map(|tick| tick.snapshot.filter.describe())
        .unwrap_or_default();
    let signals = StopSignals::register().map_err(AppError::Terminal)?;
    let mut guard = TerminalGuard::enter().map_err(AppError::Terminal)?;
    let size = guard.terminal().size().map_err(AppError::Terminal)?;
    let setup = AppSetup {
        host: format!("{} (replay)", header.host),
        color: color_for(config),
        interval: Duration::from_millis(header.interval_ms.max(1)),
        listen_interval: config.listen_interval,
        watch_filter,
        width: size.width,
        height: size.height,
        now_ms: player.span_ms().0,
    };
    let mut view = Replay::new(setup, player, &mut source);
    let (messages, inbox) = mpsc::channel::<Msg>();
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(messages, Arc::clone(&input_stop))?;
    let mut last = Instant::now();
    let result = loop {
        let now = Instant::now();
        view.advance(now - last, &mut source);
        last = now;
        if let Err(error) = guard
            .terminal()
            .draw(|frame| crate::ui::time_bar::render_replay(frame, &view))
        {
            break Err(AppError::Terminal(error));
        }
        match inbox.recv_timeout(FRAME_EVERY) {
            Ok(msg) => {
                view.update(msg, &mut source);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
        while let Ok(msg) = inbox.try_recv() {
            view.update(msg, &mut source);
        }
        match guard.obey(&signals) {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(error) => break Err(AppError::Terminal(error)),
        }
        if view.app().should_quit() {
            break Ok(());
        }
    };
    input_stop.store(true, Ordering::Relaxed);
    drop(guard);
    if let Some(damage) = view.damaged() {
        eprintln!("tcpwatch: {damage}");
    }
    result
}
