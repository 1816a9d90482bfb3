//! The demo's "Look for" hints against the screen: every step runs on the
//! real lab, the real sampler feeds the app as the live loop does, and the
//! diagram and the dashboard are drawn on a `TestBackend` (120×40) until
//! every sight the step's hint names is there.
//!
//! Owns: the hint-against-screen tests. Must not: ship outside tests.

use std::thread;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::lab::Lab;
use super::lab_probe::LabProbe;
use super::sights::{Sight, View, sights_of};
use super::{Step, bring_lab_to};
use crate::alert::Thresholds;
use crate::app::{App, AppSetup, Command, Msg, NarrationEvent};
use crate::collect::clock::now_ms;
use crate::collect::sample_loop::SamplerEvent;
use crate::watch::Watch;

/// How long the kernel may take to get where a step's hint says (the SYN
/// retries and the CLOSE_WAIT alert need a few samples).
const STEP_DEADLINE: Duration = Duration::from_secs(12);

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| crate::ui::render(frame, app))
        .expect("draw");
    terminal.backend().to_string()
}

/// The demo's app on the diagram, as `tcpwatch demo` opens it.
fn demo_app(width: u16, height: u16) -> App {
    let mut app = App::new(AppSetup {
        host: "testhost".to_string(),
        color: false,
        interval: Duration::from_millis(500),
        listen_interval: Duration::from_millis(100),
        watch_filter: "the demo's ports".to_string(),
        width,
        height,
        now_ms: now_ms(),
    });
    app.execute(Command::ToggleDiagram);
    app
}

#[test]
fn every_hint_is_on_the_screen_at_its_step() {
    let (width, height) = (120, 40);
    let mut lab = Lab::open().expect("loopback lab");
    let ports = lab.ports;
    let mut probe = LabProbe::open(&ports);
    let mut watch = Watch::new(Thresholds::default());
    let mut app = demo_app(width, height);
    let mut sample = |app: &mut App| {
        let now = now_ms();
        let sampled = probe.sample(now);
        app.update(Msg::Clock { now_ms: now });
        app.update(Msg::Sampled(watch.ingest(SamplerEvent::Full {
            at_ms: now,
            result: Ok(Box::new(sampled)),
        })));
    };
    sample(&mut app); // before the first step, as the live demo
    for (index, step) in Step::ALL.into_iter().enumerate() {
        app.update(Msg::Narration(NarrationEvent::Step {
            number: index + 1,
            total: Step::ALL.len(),
            text: step.narration(&ports),
            port: Some(step.port(&ports)),
            at_ms: now_ms(),
        }));
        let outcome = bring_lab_to(&mut lab, index + 1).expect("the step runs");
        app.update(Msg::Narration(NarrationEvent::Outcome { text: outcome }));
        let sights = sights_of(step, &ports);
        let narration = app.narration().map(|n| n.text.clone()).unwrap_or_default();
        for sight in &sights {
            assert!(
                narration.contains(&sight.describe()),
                "step {step:?}: the hint names {sight:?}: {narration}"
            );
        }
        let started = Instant::now();
        loop {
            sample(&mut app);
            let diagram = screen(&app, width, height);
            app.execute(Command::ToggleDiagram);
            let dashboard = screen(&app, width, height);
            app.execute(Command::ToggleDiagram);
            let missing: Vec<&Sight> = sights
                .iter()
                .filter(|sight| {
                    let shown = match sight.view() {
                        View::Diagram => &diagram,
                        View::Dashboard | View::Report => &dashboard,
                    };
                    !sight.is_on(sight.view(), shown)
                })
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                started.elapsed() < STEP_DEADLINE,
                "step {step:?}: not on the screen after {STEP_DEADLINE:?}: {missing:?}\n{diagram}\n{dashboard}"
            );
            thread::sleep(Duration::from_millis(250));
        }
    }
}

#[test]
fn a_sight_is_not_found_in_the_narration_that_quotes_it() {
    let ports = super::lab::LabPorts {
        full_queue: 10000,
        time_wait: 10001,
        close_wait: 10002,
        closed: 10003,
    };
    let mut app = demo_app(120, 40);
    app.update(Msg::Narration(NarrationEvent::Step {
        number: 1,
        total: Step::ALL.len(),
        text: Step::ListenOne.narration(&ports),
        port: Some(10000),
        at_ms: now_ms(),
    }));
    let diagram = screen(&app, 120, 40);
    assert!(diagram.contains("Demo · step 1/5"), "{diagram}");
    for sight in sights_of(Step::ListenOne, &ports) {
        assert!(
            !sight.is_on(View::Diagram, &diagram),
            "{sight:?} only in the narration:\n{diagram}"
        );
    }
}
