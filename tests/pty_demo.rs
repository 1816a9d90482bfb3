//! End to end: `tcpwatch demo` on a pseudo-terminal (120×40) opens on the
//! state diagram and narrates the steps. The test pauses the demo, steps
//! through it with the step keys, and at each step finds every sight the
//! step's "Look for" names on the real screen: the diagram's counts and
//! log, and the dashboard's rows (`d`). Stepping back undoes a step; `q`
//! ends it with status 0, the terminal restored and the lab's listener
//! closed.
//!
//! Skips, saying why, only when sock_diag is unavailable on this machine.

mod common;

use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use common::pty::{PtyRun, after_last_entry};
use tcpwatch::collect::netlink::NetlinkTable;
use tcpwatch::demo::Step;
use tcpwatch::demo::lab::LabPorts;
use tcpwatch::demo::sights::{View, sights_of};

/// Each wait; a loaded machine gets some slack.
const DEADLINE: Duration = Duration::from_secs(20);

/// The lab's ports from the header: `watching port A,B,C,D`, in the order
/// of `LabPorts::all`.
fn lab_ports(screen: &str) -> Option<LabPorts> {
    let start = screen.find("watching port ")? + "watching port ".len();
    let ports: Vec<u16> = screen[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()?
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect();
    match ports.as_slice() {
        [full_queue, time_wait, close_wait, closed] => Some(LabPorts {
            full_queue: *full_queue,
            time_wait: *time_wait,
            close_wait: *close_wait,
            closed: *closed,
        }),
        _ => None,
    }
}

/// Waits for `done`, or fails with the last screen.
fn expect(run: &PtyRun, what: &str, done: impl Fn(&str) -> bool) -> String {
    let (seen, screen) = run.wait_for(DEADLINE, done);
    assert!(seen, "within {DEADLINE:?}: {what}; last screen:\n{screen}");
    screen
}

/// The sights of `step` on `view` that `screen` does not show.
fn missing(step: Step, ports: &LabPorts, view: View, screen: &str) -> Vec<String> {
    sights_of(step, ports)
        .iter()
        .filter(|s| s.view() == view && !s.is_on(view, screen))
        .map(|s| s.describe())
        .collect()
}

/// `tcpwatch demo` at 120×40, on its introduction, and the lab's ports;
/// `None` (the test skips) without sock_diag.
fn start_demo() -> Option<(PtyRun, LabPorts)> {
    if !common::can_run(NetlinkTable::open().is_ok(), "sock_diag (netlink)") {
        return None;
    }
    let run = PtyRun::start(&["demo"], 120, 40);
    let screen = expect(&run, "the introduction", |s| s.contains("Demo · 5 steps"));
    let ports = lab_ports(&screen).expect("the header names the lab's 4 ports");
    Some((run, ports))
}

#[test]
fn every_hint_of_the_demo_is_on_the_real_screen_as_it_steps_through() {
    let Some((mut run, ports)) = start_demo() else {
        return;
    };
    run.send(b" ");
    expect(&run, "Space pauses the demo", |s| {
        s.contains("Demo · 5 steps · PAUSED")
    });

    for (index, step) in Step::ALL.into_iter().enumerate() {
        run.send(b"n");
        let title = format!("Demo · step {}/5 · PAUSED", index + 1);
        expect(&run, &format!("{title} with every diagram sight"), |s| {
            s.contains(&title) && missing(step, &ports, View::Diagram, s).is_empty()
        });
        run.send(b"d");
        expect(
            &run,
            &format!("step {step:?}: every dashboard sight"),
            |s| s.contains("Listeners (") && missing(step, &ports, View::Dashboard, s).is_empty(),
        );
        run.send(b"d");
        expect(&run, "back on the diagram", |s| s.contains(&title));
    }

    // Back from step 5 to step 3: the server that never closes is undone.
    run.send(b"b");
    expect(&run, "step 4 again", |s| s.contains("Demo · step 4/5"));
    run.send(b"b");
    expect(&run, "step 3 again, the leak undone", |s| {
        s.contains("Demo · step 3/5")
            && s.contains("← back a step")
            && missing(Step::ShortConnections, &ports, View::Diagram, s).is_empty()
    });
    run.send(b" ");
    expect(&run, "Space resumes: the next step comes by itself", |s| {
        s.contains("Demo · step 3/5 · next in")
    });

    run.send(b"q");
    let (status, output) = run.finish(Duration::from_secs(5));
    let status = status.expect("tcpwatch exits after q");
    assert!(status.success(), "exit status {status:?}");
    let quit_part = after_last_entry(&output);
    assert!(
        quit_part.contains("\x1b[?1049l"),
        "leaves the alternate screen"
    );
    assert!(quit_part.contains("\x1b[?25h"), "shows the cursor again");
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, ports.full_queue)).is_err(),
        "the lab's listen(1) socket on {} is closed once the demo ends",
        ports.full_queue
    );
}

#[test]
fn the_demo_moves_on_by_itself_to_the_full_queue() {
    let Some((mut run, ports)) = start_demo() else {
        return;
    };
    let screen = expect(
        &run,
        "step 2 with every diagram sight, without a key",
        |s| {
            s.contains("Demo · step 2/5 · next in")
                && missing(Step::FillTheQueue, &ports, View::Diagram, s).is_empty()
        },
    );
    assert!(screen.contains("TCP state diagram"), "{screen}");
    run.send(b"q");
    let (status, _) = run.finish(Duration::from_secs(5));
    assert!(status.as_ref().is_some_and(|s| s.success()), "{status:?}");
}

/// `demo --no-tui` with stdin a terminal waits after each picture: Enter
/// goes on, `b` steps back (undoing the step), `q` ends with everything
/// closed.
#[test]
fn demo_lines_on_a_terminal_step_with_enter_back_and_quit() {
    if !common::can_run(NetlinkTable::open().is_ok(), "sock_diag (netlink)") {
        return;
    }
    let mut run = PtyRun::start(&["demo", "--no-tui"], 120, 40);
    let said = |run: &PtyRun, text: &str, times: usize| {
        let deadline = std::time::Instant::now() + DEADLINE;
        while std::time::Instant::now() < deadline {
            if run.output_so_far().matches(text).count() >= times {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "within {DEADLINE:?}: {text:?} ×{times}; output:\n{}",
            run.output_so_far()
        );
    };
    said(&run, "Enter: next step", 1);
    assert!(!run.output_so_far().contains("[2/5]"), "waits for Enter");
    run.send(b"\r");
    said(&run, "[2/5]", 1);
    said(&run, "Enter: next step", 2);
    run.send(b"b\r");
    said(&run, "← back a step: undone: 5 clients reset", 1);
    said(&run, "[1/5]", 2);
    said(&run, "Enter: next step", 3);
    let output = run.output_so_far();
    let port = output
        .split("listen(1) on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u16>()
                .ok()
        })
        .expect("the narration names the listen(1) port");
    run.send(b"q\r");
    let (status, output) = run.finish(Duration::from_secs(5));
    assert!(
        status.as_ref().is_some_and(|s| s.success()),
        "{status:?}\n{output}"
    );
    assert!(output.contains("demo done"), "{output}");
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "the listen(1) socket on {port} is closed"
    );
}
