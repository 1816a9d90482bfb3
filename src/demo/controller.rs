//! The demo's step controller: where the demo stands (the introduction, a
//! step, or done), how long the current part has left, and what pause,
//! next and previous do to that. Time is passed in, so it is tested with
//! made-up clocks.
//!
//! Owns: `StepController`, `Position`, `Pacing`. Must not: read the clock,
//! touch sockets (the narrator makes the lab follow the position) or draw.

use std::time::Duration;

use super::Step;
use crate::app::DemoControl;

/// How long each part stays on screen before the demo moves on by itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    pub introduction: Duration,
    pub step: fn(Step) -> Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            introduction: Duration::from_secs(3),
            step: Step::on_screen_for,
        }
    }
}

/// Where the demo stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Introduction,
    /// `Step::ALL[index]`, after the steps before it.
    Step(usize),
    Done,
}

impl Position {
    /// How many steps have been run at this position (the lab follows).
    pub(crate) fn steps_run(self) -> usize {
        match self {
            Position::Introduction => 0,
            Position::Step(index) => index + 1,
            Position::Done => Step::ALL.len(),
        }
    }

    fn after(self) -> Position {
        match self {
            Position::Introduction => Position::Step(0),
            Position::Step(index) if index + 1 < Step::ALL.len() => Position::Step(index + 1),
            Position::Step(_) | Position::Done => Position::Done,
        }
    }

    fn before(self) -> Position {
        match self {
            Position::Introduction | Position::Step(0) => Position::Introduction,
            Position::Step(index) => Position::Step(index - 1),
            Position::Done => Position::Done,
        }
    }
}

/// The demo's position and its step timer.
#[derive(Debug, Clone)]
pub(crate) struct StepController {
    pacing: Pacing,
    position: Position,
    /// Time spent on this position before the timer last (re)started.
    spent_ms: u64,
    /// When the timer last (re)started; `None` while paused.
    running_since_ms: Option<u64>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl StepController {
    /// At the introduction, its timer running from `now_ms`.
    pub(crate) fn new(pacing: Pacing, now_ms: u64) -> StepController {
        StepController {
            pacing,
            position: Position::Introduction,
            spent_ms: 0,
            running_since_ms: Some(now_ms),
        }
    }

    pub(crate) fn position(&self) -> Position {
        self.position
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.running_since_ms.is_none()
    }

    /// How long the current part stays on screen in all.
    fn length_ms(&self) -> u64 {
        match self.position {
            Position::Introduction => millis(self.pacing.introduction),
            Position::Step(index) => millis((self.pacing.step)(Step::ALL[index])),
            Position::Done => 0,
        }
    }

    /// Time spent on the current part, not counting pauses.
    #[cfg(test)]
    fn spent_by(&self, now_ms: u64) -> u64 {
        let running = self
            .running_since_ms
            .map_or(0, |since| now_ms.saturating_sub(since));
        self.spent_ms.saturating_add(running)
    }

    /// How long until the demo moves on by itself (frozen while paused).
    #[cfg(test)]
    pub(crate) fn left_ms(&self, now_ms: u64) -> u64 {
        self.length_ms().saturating_sub(self.spent_by(now_ms))
    }

    /// When the demo moves on by itself: `None` while paused or when done.
    pub(crate) fn moves_on_at_ms(&self) -> Option<u64> {
        if self.position == Position::Done {
            return None;
        }
        let left = self.length_ms().saturating_sub(self.spent_ms);
        self.running_since_ms
            .map(|since| since.saturating_add(left))
    }

    /// Moves on when the current part's time is up; true if it moved.
    pub(crate) fn tick(&mut self, now_ms: u64) -> bool {
        if self.moves_on_at_ms().is_none_or(|at| now_ms < at) {
            return false;
        }
        self.move_to(self.position.after(), now_ms);
        true
    }

    /// Applies the viewer's control; true if the position changed. The
    /// end is final: the lab is closed there.
    pub(crate) fn control(&mut self, control: DemoControl, now_ms: u64) -> bool {
        if self.position == Position::Done {
            return false;
        }
        match control {
            DemoControl::TogglePause => {
                match self.running_since_ms.take() {
                    Some(since) => {
                        self.spent_ms = self.spent_ms.saturating_add(now_ms.saturating_sub(since));
                    }
                    None => self.running_since_ms = Some(now_ms),
                }
                false
            }
            DemoControl::Next => {
                self.move_to(self.position.after(), now_ms);
                true
            }
            DemoControl::Previous => {
                let before = self.position.before();
                let moved = before != self.position;
                self.move_to(before, now_ms);
                moved
            }
        }
    }

    /// A new position starts its full time; a pause stays a pause.
    fn move_to(&mut self, position: Position, now_ms: u64) {
        self.position = position;
        self.spent_ms = 0;
        if self.running_since_ms.is_some() {
            self.running_since_ms = Some(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_s(_: Step) -> Duration {
        Duration::from_secs(5)
    }

    fn controller() -> StepController {
        StepController::new(
            Pacing {
                introduction: Duration::from_secs(3),
                step: five_s,
            },
            1_000,
        )
    }

    #[test]
    fn the_timer_moves_on_after_each_part() {
        let mut demo = controller();
        assert!(!demo.tick(3_999));
        assert_eq!(demo.left_ms(3_999), 1);
        assert!(demo.tick(4_000));
        assert_eq!(demo.position(), Position::Step(0));
        assert_eq!(demo.moves_on_at_ms(), Some(9_000));
        let mut now = 4_000;
        for _ in 1..Step::ALL.len() {
            now += 5_000;
            assert!(demo.tick(now));
        }
        assert_eq!(demo.position(), Position::Step(Step::ALL.len() - 1));
        assert!(demo.tick(now + 5_000));
        assert_eq!(demo.position(), Position::Done);
        assert_eq!(demo.moves_on_at_ms(), None);
        assert!(!demo.tick(now + 60_000), "the end is final");
    }

    #[test]
    fn pause_freezes_the_step_timer_and_resume_continues_it() {
        let mut demo = controller();
        demo.tick(4_000);
        assert!(!demo.control(DemoControl::TogglePause, 6_000), "2 s spent");
        assert!(demo.is_paused());
        assert_eq!(demo.moves_on_at_ms(), None);
        for now in [6_000, 9_000, 60_000, 600_000] {
            assert_eq!(demo.left_ms(now), 3_000, "frozen at {now}");
            assert!(!demo.tick(now), "paused: stays at {now}");
        }
        assert_eq!(demo.position(), Position::Step(0));
        demo.control(DemoControl::TogglePause, 600_000);
        assert!(!demo.is_paused());
        assert_eq!(demo.moves_on_at_ms(), Some(603_000));
        assert!(!demo.tick(602_999));
        assert!(demo.tick(603_000));
        assert_eq!(demo.position(), Position::Step(1));
    }

    #[test]
    fn next_and_previous_move_one_step_with_a_fresh_timer() {
        let mut demo = controller();
        assert!(demo.control(DemoControl::Next, 1_500));
        assert_eq!(demo.position(), Position::Step(0));
        assert!(demo.control(DemoControl::Next, 2_000));
        assert_eq!(demo.position(), Position::Step(1));
        assert_eq!(demo.left_ms(2_000), 5_000, "a fresh timer");
        assert!(demo.control(DemoControl::Previous, 4_000));
        assert_eq!(demo.position(), Position::Step(0));
        assert_eq!(demo.position().steps_run(), 1);
        assert_eq!(demo.moves_on_at_ms(), Some(9_000));
        assert!(demo.control(DemoControl::Previous, 4_100));
        assert_eq!(demo.position(), Position::Introduction);
        assert!(
            !demo.control(DemoControl::Previous, 4_200),
            "nothing before the introduction"
        );
    }

    #[test]
    fn stepping_while_paused_stays_paused() {
        let mut demo = controller();
        demo.control(DemoControl::TogglePause, 1_000);
        demo.control(DemoControl::Next, 2_000);
        demo.control(DemoControl::Next, 3_000);
        assert_eq!(demo.position(), Position::Step(1));
        assert!(demo.is_paused());
        assert_eq!(
            demo.left_ms(100_000),
            5_000,
            "the new step's full time, frozen"
        );
        assert!(!demo.tick(100_000));
    }

    #[test]
    fn next_on_the_last_step_ends_the_demo_and_the_end_takes_no_controls() {
        let mut demo = controller();
        for _ in 0..=Step::ALL.len() {
            demo.control(DemoControl::Next, 2_000);
        }
        assert_eq!(demo.position(), Position::Done);
        assert_eq!(demo.position().steps_run(), Step::ALL.len());
        assert!(!demo.control(DemoControl::Previous, 3_000));
        assert!(!demo.control(DemoControl::Next, 3_000));
        assert_eq!(demo.position(), Position::Done);
    }
}
