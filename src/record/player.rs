//! The replay clock: where a replay is (the virtual time and the last frame
//! shown), whether it plays, how fast, and what a seek means in frames.
//!
//! Owns: `Player`, `Step`. Must not: read the clock (real elapsed time is
//! passed in) or touch frames; it only says which frames to show.

use std::ops::RangeInclusive;
use std::time::Duration;

/// Frames fed before a seek target when the view is rebuilt, so rates,
/// sparklines and the transition log have some past.
pub const WARMUP_FRAMES: usize = 30;
/// A forward jump over more frames than this rebuilds instead of feeding
/// every frame in between.
const FEED_AT_MOST: usize = 120;
pub const MAX_SPEED: u32 = 64;

/// What the view must do after a player step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing new to show.
    Stay,
    /// Feed these frames, in order, to the current view.
    Feed(RangeInclusive<usize>),
    /// Start a fresh view and feed these frames (a warm-up, then the target).
    Rebuild(RangeInclusive<usize>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    times: Vec<u64>,
    alert_frames: Vec<usize>,
    /// The last frame shown.
    position: usize,
    now_ms: u64,
    playing: bool,
    speed: u32,
}

impl Player {
    /// A player at the first frame, playing. `times` are the frame times
    /// (sorted); `alert_frames` the frames where an alert was raised or cleared.
    pub fn new(times: Vec<u64>, alert_frames: Vec<usize>, speed: u32) -> Player {
        let now_ms = times.first().copied().unwrap_or(0);
        Player {
            times,
            alert_frames,
            position: 0,
            now_ms,
            playing: true,
            speed: speed.clamp(1, MAX_SPEED),
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn frames(&self) -> usize {
        self.times.len()
    }

    pub fn is_playing(&self) -> bool {
        self.playing
    }

    pub fn speed(&self) -> u32 {
        self.speed
    }

    pub fn span_ms(&self) -> (u64, u64) {
        (
            self.times.first().copied().unwrap_or(0),
            self.times.last().copied().unwrap_or(0),
        )
    }

    pub fn alert_frames(&self) -> &[usize] {
        &self.alert_frames
    }

    pub fn frame_time(&self, frame: usize) -> Option<u64> {
        self.times.get(frame).copied()
    }

    /// The first frame: fed when the view opens.
    pub fn start(&self) -> Step {
        if self.times.is_empty() {
            Step::Stay
        } else {
            Step::Feed(0..=0)
        }
    }

    fn frame_at(&self, at_ms: u64) -> usize {
        self.times
            .partition_point(|t| *t <= at_ms)
            .saturating_sub(1)
    }

    /// Moves to `target` (a frame): feeds forward, or rebuilds for a
    /// backward or long jump.
    fn go_to(&mut self, target: usize) -> Step {
        let target = target.min(self.times.len().saturating_sub(1));
        let from = self.position;
        self.position = target;
        if target == from {
            Step::Stay
        } else if target > from && target - from <= FEED_AT_MOST {
            Step::Feed(from + 1..=target)
        } else {
            Step::Rebuild(target.saturating_sub(WARMUP_FRAMES)..=target)
        }
    }

    /// Real time passed: the virtual clock moves `speed` times as fast while
    /// playing, and stops at the last frame.
    pub fn advance(&mut self, real: Duration) -> Step {
        let (_, last) = self.span_ms();
        if !self.playing {
            return Step::Stay;
        }
        let moved = u64::try_from(real.as_millis()).unwrap_or(u64::MAX);
        self.now_ms = self
            .now_ms
            .saturating_add(moved.saturating_mul(u64::from(self.speed)))
            .min(last);
        if self.now_ms >= last {
            self.playing = false;
        }
        let target = self.frame_at(self.now_ms);
        self.go_to(target)
    }

    /// Seeks by `delta_ms` (negative: back).
    pub fn seek_by(&mut self, delta_ms: i64) -> Step {
        let (first, last) = self.span_ms();
        let now = i128::from(self.now_ms) + i128::from(delta_ms);
        let now = now.clamp(i128::from(first), i128::from(last));
        self.now_ms = u64::try_from(now).unwrap_or(first);
        if self.now_ms >= last {
            self.playing = false;
        }
        let target = self.frame_at(self.now_ms);
        self.go_to(target)
    }

    /// Jumps to the next frame where an alert was raised or cleared.
    pub fn next_alert(&mut self) -> Step {
        let Some(next) = self
            .alert_frames
            .iter()
            .copied()
            .find(|frame| *frame > self.position)
        else {
            return Step::Stay;
        };
        self.now_ms = self.times.get(next).copied().unwrap_or(self.now_ms);
        self.go_to(next)
    }

    pub fn toggle_play(&mut self) {
        let (_, last) = self.span_ms();
        if !self.playing && self.now_ms >= last {
            return;
        }
        self.playing = !self.playing;
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed * 2).min(MAX_SPEED);
    }

    pub fn slower(&mut self) {
        self.speed = (self.speed / 2).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player() -> Player {
        // 600 frames, one a second.
        let times = (0..600).map(|i| 1_000_000 + i * 1000).collect();
        Player::new(times, vec![5, 300], 1)
    }

    #[test]
    fn playing_feeds_the_frames_the_clock_reaches() {
        let mut p = player();
        assert_eq!(p.start(), Step::Feed(0..=0));
        assert_eq!(p.advance(Duration::from_millis(500)), Step::Stay);
        assert_eq!(p.advance(Duration::from_millis(600)), Step::Feed(1..=1));
        p.faster();
        p.faster();
        assert_eq!(p.speed(), 4);
        assert_eq!(p.advance(Duration::from_secs(1)), Step::Feed(2..=5));
        p.toggle_play();
        assert_eq!(p.advance(Duration::from_secs(10)), Step::Stay);
    }

    #[test]
    fn seeks_feed_forward_and_rebuild_backward() {
        let mut p = player();
        assert_eq!(p.seek_by(10_000), Step::Feed(1..=10));
        assert_eq!(p.seek_by(-10_000), Step::Rebuild(0..=0));
        assert_eq!(p.seek_by(60_000 * 5), Step::Rebuild(270..=300));
        assert_eq!(p.seek_by(-60_000), Step::Rebuild(210..=240));
        assert_eq!(p.seek_by(i64::MIN / 2), Step::Rebuild(0..=0));
        assert_eq!(p.now_ms(), 1_000_000);
        assert_eq!(p.seek_by(i64::MAX / 2), Step::Rebuild(569..=599));
    }

    #[test]
    fn next_alert_jumps_to_the_next_raise_or_clear() {
        let mut p = player();
        assert_eq!(p.next_alert(), Step::Feed(1..=5));
        assert_eq!(p.next_alert(), Step::Rebuild(270..=300));
        assert_eq!(p.now_ms(), 1_300_000);
        assert_eq!(p.next_alert(), Step::Stay);
    }

    #[test]
    fn speed_stays_between_1_and_64_and_play_stops_at_the_end() {
        let mut p = Player::new(vec![0, 1000], Vec::new(), 99);
        assert_eq!(p.speed(), 64);
        for _ in 0..10 {
            p.slower();
        }
        assert_eq!(p.speed(), 1);
        assert_eq!(p.advance(Duration::from_secs(5)), Step::Feed(1..=1));
        assert!(!p.is_playing());
        p.toggle_play();
        assert!(!p.is_playing(), "nothing left to play");
    }
}
