//! The dashboard demo's narrator: runs the steps one after the other beside
//! the dashboard, says what each one does before doing it and what came of
//! it after, waits so the viewer can watch, and closes everything the lab
//! opened before saying it is done.
//!
//! Owns: the order and pacing of the steps and what is said when. Must not:
//! draw or decide what the dashboard shows; it only sends narration events.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::lab::Lab;
use super::{EPILOGUE, Step, introduction};
use crate::app::NarrationEvent;

/// How long each part stays on screen.
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

/// Waits `duration` unless told to stop (a message, or the sender gone).
fn keep_going_after(stop: &Receiver<()>, duration: Duration) -> bool {
    matches!(stop.recv_timeout(duration), Err(RecvTimeoutError::Timeout))
}

/// Runs the demo. `say` delivers an event and returns false once nobody
/// listens; `now_ms` stamps the events. Returns when the demo is done or
/// stopped; the lab is closed either way.
pub(crate) fn narrate(
    mut lab: Lab,
    pacing: Pacing,
    now_ms: fn() -> u64,
    mut say: impl FnMut(NarrationEvent) -> bool,
    stop: &Receiver<()>,
) {
    let total = Step::ALL.len();
    let opened = say(NarrationEvent::Step {
        number: 0,
        total,
        text: introduction(&lab.ports),
        at_ms: now_ms(),
    });
    if !opened || !keep_going_after(stop, pacing.introduction) {
        return;
    }
    for (index, step) in Step::ALL.into_iter().enumerate() {
        say(NarrationEvent::Step {
            number: index + 1,
            total,
            text: step.narration(&lab.ports),
            at_ms: now_ms(),
        });
        match step.perform(&mut lab) {
            Ok(outcome) => {
                say(NarrationEvent::Outcome { text: outcome });
            }
            Err(error) => {
                drop(lab);
                say(NarrationEvent::Failed {
                    text: format!("this step failed: {error}; the demo's sockets are closed"),
                    at_ms: now_ms(),
                });
                return;
            }
        }
        if !keep_going_after(stop, (pacing.step)(step)) {
            return;
        }
    }
    drop(lab);
    say(NarrationEvent::Done {
        text: EPILOGUE.to_string(),
        at_ms: now_ms(),
    });
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpStream};
    use std::sync::mpsc;

    use super::*;

    fn quick(_: Step) -> Duration {
        Duration::from_millis(1)
    }

    #[test]
    fn every_step_is_narrated_then_done_and_the_lab_is_closed() {
        let lab = Lab::open().expect("loopback lab");
        let port = lab.ports.full_queue;
        let (_keep, stop) = mpsc::channel::<()>();
        let mut events = Vec::new();
        let pacing = Pacing {
            introduction: Duration::from_millis(1),
            step: quick,
        };
        narrate(
            lab,
            pacing,
            || 7,
            |e| {
                events.push(e);
                true
            },
            &stop,
        );
        let steps: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                NarrationEvent::Step { number, .. } => Some(*number),
                _ => None,
            })
            .collect();
        assert_eq!(steps, [0, 1, 2, 3, 4, 5]);
        assert!(
            matches!(events.last(), Some(NarrationEvent::Done { .. })),
            "{events:?}"
        );
        assert!(
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
            "the listen(1) socket is closed"
        );
    }

    #[test]
    fn a_stop_ends_the_demo_early() {
        let lab = Lab::open().expect("loopback lab");
        let (stop_now, stop) = mpsc::channel::<()>();
        drop(stop_now);
        let mut events = Vec::new();
        narrate(
            lab,
            Pacing::default(),
            || 7,
            |e| {
                events.push(e);
                true
            },
            &stop,
        );
        assert_eq!(events.len(), 1, "only the introduction: {events:?}");
    }

    #[test]
    fn the_whole_demo_stays_under_40_s() {
        let total = Pacing::default().introduction
            + Step::ALL
                .into_iter()
                .map(Step::on_screen_for)
                .sum::<Duration>();
        assert!(total < Duration::from_secs(40), "{total:?}");
    }
}
