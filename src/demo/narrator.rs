//! The dashboard demo's narrator: runs the steps one after the other beside
//! the dashboard, says what each one does before doing it and what came of
//! it after, waits so the viewer can watch, and closes everything the lab
//! opened before saying it is done.
//!
//! Owns: the order and pacing of the steps and what is said when. Must not:
//! draw or decide what the dashboard shows; it only sends narration events.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::controller::{Pacing, Position, StepController};
use super::lab::Lab;
use super::{EPILOGUE, Step, bring_lab_to, introduction};
use crate::app::{DemoControl, NarrationEvent};

/// Runs the demo. `say` delivers an event and returns false once nobody
/// listens; `now_ms` stamps the events and the step timer. `controls`
/// brings the viewer's pause, next and previous; its sender gone means
/// stop. Returns when the demo is done or stopped; the lab is closed
/// either way.
pub(crate) fn narrate(
    mut lab: Lab,
    pacing: Pacing,
    now_ms: fn() -> u64,
    mut say: impl FnMut(NarrationEvent) -> bool,
    controls: &Receiver<DemoControl>,
) {
    let mut demo = StepController::new(pacing, now_ms());
    let mut announced = None;
    loop {
        let position = demo.position();
        if announced != Some(position) {
            let back =
                announced.is_some_and(|was: Position| was.steps_run() > position.steps_run());
            announced = Some(position);
            if position == Position::Done {
                drop(lab); // every socket the demo opened, closed before saying so
                say(NarrationEvent::Done {
                    text: EPILOGUE.to_string(),
                    at_ms: now_ms(),
                });
                return;
            }
            match announce(&mut lab, position, back, now_ms, &mut say) {
                Announced::Going => {}
                Announced::NobodyListens => return,
                Announced::Failed(error) => {
                    drop(lab);
                    say(NarrationEvent::Failed {
                        text: format!("this step failed: {error}; the demo's sockets are closed"),
                        at_ms: now_ms(),
                    });
                    return;
                }
            }
        }
        let now = now_ms();
        let moves_on_at_ms = demo.moves_on_at_ms();
        say(NarrationEvent::Timer {
            moves_on_at_ms,
            paused: demo.is_paused(),
        });
        let received = match moves_on_at_ms {
            Some(at) => controls
                .recv_timeout(Duration::from_millis(at.saturating_sub(now)))
                .map_err(|e| (e, at)),
            None => controls
                .recv()
                .map_err(|_| (RecvTimeoutError::Disconnected, now)),
        };
        match received {
            Ok(control) => {
                demo.control(control, now_ms());
            }
            // The wait ran to the moment the timer named: move on then.
            Err((RecvTimeoutError::Timeout, at)) => {
                demo.tick(at.max(now_ms()));
            }
            Err((RecvTimeoutError::Disconnected, _)) => return,
        }
    }
}

/// How announcing a position went.
enum Announced {
    Going,
    NobodyListens,
    Failed(std::io::Error),
}

/// Says which part of the demo is on and makes the lab's sockets follow.
fn announce(
    lab: &mut Lab,
    position: Position,
    back: bool,
    now_ms: fn() -> u64,
    say: &mut impl FnMut(NarrationEvent) -> bool,
) -> Announced {
    let (number, text, port) = match position {
        Position::Step(index) if index < Step::ALL.len() => {
            let step = Step::ALL[index];
            (
                index + 1,
                step.narration(&lab.ports),
                Some(step.port(&lab.ports)),
            )
        }
        Position::Introduction | Position::Step(_) | Position::Done => {
            (0, introduction(&lab.ports), None)
        }
    };
    let heard = say(NarrationEvent::Step {
        number,
        total: Step::ALL.len(),
        text,
        port,
        at_ms: now_ms(),
    });
    if !heard {
        return Announced::NobodyListens;
    }
    match bring_lab_to(lab, position.steps_run()) {
        Ok(outcome) if outcome.is_empty() => Announced::Going,
        Ok(outcome) => {
            let text = if back {
                format!("← back a step: {outcome}")
            } else {
                outcome
            };
            say(NarrationEvent::Outcome { text });
            Announced::Going
        }
        Err(error) => Announced::Failed(error),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpStream};
    use std::sync::mpsc;

    use super::*;
    use crate::demo::lab_probe::LabProbe;
    use crate::model::TcpState;

    fn quick(_: Step) -> Duration {
        Duration::from_millis(1)
    }

    #[test]
    fn every_step_is_narrated_then_done_and_the_lab_is_closed() {
        let lab = Lab::open().expect("loopback lab");
        let port = lab.ports.full_queue;
        let (_keep, stop) = mpsc::channel::<DemoControl>();
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
        let (stop_now, stop) = mpsc::channel::<DemoControl>();
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
        assert!(
            matches!(
                events.as_slice(),
                [
                    NarrationEvent::Step { number: 0, .. },
                    NarrationEvent::Timer { .. }
                ]
            ),
            "only the introduction and its timer: {events:?}"
        );
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
    /// Runs the narrator on its own thread with a timer that never fires,
    /// so only the controls move it.
    struct Driven {
        controls: mpsc::Sender<DemoControl>,
        events: mpsc::Receiver<NarrationEvent>,
        thread: std::thread::JoinHandle<()>,
    }

    fn an_hour(_: Step) -> Duration {
        Duration::from_secs(3600)
    }

    impl Driven {
        fn start(lab: Lab) -> Driven {
            let (controls, received) = mpsc::channel();
            let (said, events) = mpsc::channel();
            let pacing = Pacing {
                introduction: Duration::from_secs(3600),
                step: an_hour,
            };
            let thread = std::thread::spawn(move || {
                narrate(
                    lab,
                    pacing,
                    crate::collect::clock::now_ms,
                    |e| said.send(e).is_ok(),
                    &received,
                );
            });
            let mut driven = Driven {
                controls,
                events,
                thread,
            };
            driven.settle();
            driven
        }

        /// The events up to the narrator's next wait (its Timer event).
        fn settle(&mut self) -> Vec<NarrationEvent> {
            let mut seen = Vec::new();
            loop {
                let event = self
                    .events
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or_else(|e| panic!("the narrator answers ({e}) after {seen:?}"));
                let timer = matches!(event, NarrationEvent::Timer { .. });
                seen.push(event);
                if timer {
                    return seen;
                }
            }
        }

        fn press(&mut self, control: DemoControl) -> Vec<NarrationEvent> {
            self.controls.send(control).expect("the narrator listens");
            self.settle()
        }

        fn step_number(events: &[NarrationEvent]) -> Option<usize> {
            events.iter().find_map(|e| match e {
                NarrationEvent::Step { number, .. } => Some(*number),
                _ => None,
            })
        }
    }

    #[test]
    fn the_labs_real_sockets_follow_next_and_previous() {
        let lab = Lab::open().expect("loopback lab");
        let ports = lab.ports;
        let mut probe = LabProbe::open(&ports);
        let mut demo = Driven::start(lab);
        let queue = ports.full_queue;
        assert_eq!(probe.settled(queue, TcpState::Listen, 0), 0, "introduction");

        let events = demo.press(DemoControl::Next);
        assert_eq!(Driven::step_number(&events), Some(1), "{events:?}");
        assert_eq!(
            probe.queue_settled(queue, Some((0, Some(1)))),
            Some((0, Some(1))),
            "listen(1), empty"
        );

        let events = demo.press(DemoControl::Next);
        assert_eq!(Driven::step_number(&events), Some(2), "{events:?}");
        assert_eq!(
            probe.queue_settled(queue, Some((2, Some(1)))),
            Some((2, Some(1))),
            "2/1 FULL"
        );
        assert_eq!(probe.settled(queue, TcpState::SynSent, 3), 3);

        let events = demo.press(DemoControl::Previous);
        assert_eq!(Driven::step_number(&events), Some(1), "{events:?}");
        assert!(
            events.iter().any(
                |e| matches!(e, NarrationEvent::Outcome { text } if text.starts_with("← back"))
            ),
            "{events:?}"
        );
        assert_eq!(
            probe.queue_settled(queue, Some((0, Some(1)))),
            Some((0, Some(1))),
            "the queue emptied"
        );
        assert_eq!(probe.settled(queue, TcpState::SynSent, 0), 0);
        assert_eq!(probe.settled(queue, TcpState::Established, 0), 0);

        demo.press(DemoControl::Previous);
        assert_eq!(
            probe.settled(queue, TcpState::Listen, 0),
            0,
            "not listening"
        );

        let mut events = Vec::new();
        for _ in 0..4 {
            events.extend(demo.press(DemoControl::Next));
        }
        assert_eq!(
            probe.settled(ports.close_wait, TcpState::CloseWait, 3),
            3,
            "{events:?}"
        );
        assert_eq!(probe.settled(ports.close_wait, TcpState::FinWait2, 3), 3);
        assert_eq!(probe.settled(ports.time_wait, TcpState::TimeWait, 20), 20);

        demo.press(DemoControl::Previous);
        assert_eq!(probe.settled(ports.close_wait, TcpState::CloseWait, 0), 0);
        assert_eq!(probe.settled(ports.close_wait, TcpState::FinWait2, 0), 0);
        assert_eq!(probe.settled(ports.close_wait, TcpState::Listen, 1), 1);

        let events = demo.press(DemoControl::Next);
        assert_eq!(Driven::step_number(&events), Some(4), "{events:?}");
        assert_eq!(probe.settled(ports.close_wait, TcpState::CloseWait, 3), 3);
        assert_eq!(
            probe.settled(ports.time_wait, TcpState::TimeWait, 20),
            20,
            "stepping back over the short connections does not make 20 more"
        );

        drop(demo.controls);
        demo.thread.join().expect("the narrator ends");
        assert_eq!(
            probe.settled(ports.close_wait, TcpState::CloseWait, 0),
            0,
            "closed at the end"
        );
        assert_eq!(probe.settled(queue, TcpState::Listen, 0), 0);
    }

    #[test]
    fn pause_stops_the_timer_the_panel_is_told() {
        let lab = Lab::open().expect("loopback lab");
        let mut demo = Driven::start(lab);
        let events = demo.press(DemoControl::TogglePause);
        assert_eq!(
            events.last(),
            Some(&NarrationEvent::Timer {
                moves_on_at_ms: None,
                paused: true
            })
        );
        let events = demo.press(DemoControl::Next);
        assert_eq!(Driven::step_number(&events), Some(1), "steps while paused");
        assert!(matches!(
            events.last(),
            Some(NarrationEvent::Timer { paused: true, .. })
        ));
        let events = demo.press(DemoControl::TogglePause);
        assert!(matches!(
            events.last(),
            Some(NarrationEvent::Timer {
                moves_on_at_ms: Some(_),
                paused: false
            })
        ));
        drop(demo.controls);
        demo.thread.join().expect("the narrator ends");
    }
}
