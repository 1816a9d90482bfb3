//! Every signal and exit path of the dashboard leaves the terminal as it
//! found it: the real binary in a pty, told to stop by SIGTERM, SIGHUP,
//! SIGINT, SIGQUIT, two signals at once; suspended by SIGTSTP or Ctrl-Z and
//! continued by SIGCONT (raw mode, alternate screen and mouse back, a key
//! without Enter quits); SIGUSR1 ignored.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::pty::{PtyRun, after_last_entry};

const COLS: u16 = 100;
const ROWS: u16 = 30;
const DEADLINE: Duration = Duration::from_secs(10);

const LEAVE_ALT_SCREEN: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const MOUSE_OFF: &str = "\x1b[?1000l";
const ENTER_ALT_SCREEN: &str = "\x1b[?1049h";
const MOUSE_ON: &str = "\x1b[?1000h";

/// A dashboard that has drawn its first frame, in raw mode.
fn started() -> PtyRun {
    let run = PtyRun::start(&["--source", "proc", "--port", "1"], COLS, ROWS);
    let (drawn, screen) = run.wait_for(DEADLINE, |screen| screen.contains("tcpwatch"));
    assert!(drawn, "the dashboard should draw; screen:\n{screen}");
    assert!(run.is_raw(), "the dashboard runs in raw mode");
    run
}

fn assert_restored(output: &str, context: &str) {
    let tail = after_last_entry(output);
    for (escape, what) in [
        (LEAVE_ALT_SCREEN, "leaves the alternate screen"),
        (SHOW_CURSOR, "shows the cursor"),
        (MOUSE_OFF, "turns mouse reporting off"),
    ] {
        assert!(
            tail.contains(escape),
            "{context}: {what}; output tail {tail:?}"
        );
    }
}

fn wait_until(deadline: Duration, done: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn stop_by(signal: i32, name: &str) {
    let run = started();
    run.signal(signal);
    let (status, output) = run.finish(DEADLINE);
    let status = status.unwrap_or_else(|| panic!("{name}: tcpwatch should exit"));
    assert!(status.success(), "{name}: exit status {status:?}");
    assert_restored(&output, name);
}

#[test]
fn sigterm_restores_the_terminal() {
    stop_by(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_restores_the_terminal() {
    stop_by(libc::SIGHUP, "SIGHUP");
}

#[test]
fn sigint_restores_the_terminal() {
    stop_by(libc::SIGINT, "SIGINT");
}

#[test]
fn sigquit_restores_the_terminal() {
    stop_by(libc::SIGQUIT, "SIGQUIT");
}

#[test]
fn two_signals_at_once_restore_the_terminal() {
    for (first, second) in [(libc::SIGTERM, libc::SIGHUP), (libc::SIGINT, libc::SIGINT)] {
        let run = started();
        run.signal(first);
        run.signal(second);
        let (status, output) = run.finish(DEADLINE);
        let status = status.expect("tcpwatch should exit after two signals");
        // Either the loop got out first (0) or the later of the two signals
        // ended the run (128 + signal; pending signals are read in number
        // order, so either may count as the later); the terminal is
        // restored either way.
        let code = status.exit_code();
        let ended_by = |signal: i32| 128 + u32::try_from(signal).expect("signal number");
        assert!(
            code == 0 || code == ended_by(first) || code == ended_by(second),
            "{first}+{second}: exit status {status:?}"
        );
        assert_restored(&output, &format!("signals {first} then {second}"));
    }
}

#[test]
fn sigusr1_is_ignored() {
    let mut run = started();
    run.signal(libc::SIGUSR1);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        run.process_state().map(|s| s != 'Z'),
        Some(true),
        "still running"
    );
    assert!(run.is_raw(), "still in raw mode after SIGUSR1");
    run.send(b"q");
    let (status, output) = run.finish(DEADLINE);
    assert!(status.expect("q quits").success());
    assert_restored(&output, "q after SIGUSR1");
}

/// Suspends the dashboard by `suspend`, checks the terminal is handed back
/// while it is stopped, continues it, and checks it takes the terminal
/// again: raw mode (a `q` without Enter quits), alternate screen and mouse
/// reporting, and a full redraw.
fn suspend_and_resume(suspend: impl FnOnce(&mut PtyRun), name: &str) {
    let mut run = started();
    let before = run.output_so_far().len();
    suspend(&mut run);
    assert!(
        wait_until(DEADLINE, || run.process_state() == Some('T')),
        "{name}: tcpwatch should be stopped, state {:?}",
        run.process_state()
    );
    // The process can be seen stopped before the pty reader has caught up
    // with what it wrote just before stopping.
    wait_until(DEADLINE, || {
        let output = run.output_so_far();
        after_last_entry(&output[before..]).contains(SHOW_CURSOR)
    });
    let while_stopped = run.output_so_far();
    assert_restored(&while_stopped[before..], &format!("{name}, while stopped"));
    assert!(
        !run.is_raw(),
        "{name}: the tty is cooked while tcpwatch is stopped"
    );

    let stopped_at = run.output_so_far().len();
    run.signal(libc::SIGCONT);
    assert!(
        wait_until(DEADLINE, || run.is_raw()),
        "{name}: raw mode again after SIGCONT"
    );
    assert!(
        wait_until(DEADLINE, || {
            let resumed = run.output_so_far();
            let resumed = &resumed[stopped_at..];
            resumed.contains(ENTER_ALT_SCREEN)
                && resumed.contains(MOUSE_ON)
                && resumed.contains("tcpwatch")
        }),
        "{name}: back in the alternate screen with mouse reporting, redrawn; output {:?}",
        &run.output_so_far()[stopped_at..]
    );
    run.send(b"q");
    let (status, output) = run.finish(DEADLINE);
    let status = status.unwrap_or_else(|| panic!("{name}: q without Enter should quit"));
    assert!(status.success(), "{name}: exit status {status:?}");
    assert_restored(&output, &format!("{name}, q after resume"));
}

#[test]
fn sigtstp_then_sigcont_hands_the_terminal_back_and_takes_it_again() {
    suspend_and_resume(|run| run.signal(libc::SIGTSTP), "SIGTSTP");
}

#[test]
fn ctrl_z_suspends_like_sigtstp() {
    suspend_and_resume(|run| run.send(b"\x1a"), "Ctrl-Z");
}

#[test]
fn sigstop_then_sigcont_takes_the_terminal_again() {
    let mut run = started();
    run.signal(libc::SIGSTOP);
    assert!(wait_until(DEADLINE, || run.process_state() == Some('T')));
    // What a shell does while a job is stopped: cook the tty.
    run.cook();
    let stopped_at = run.output_so_far().len();
    run.signal(libc::SIGCONT);
    assert!(
        wait_until(DEADLINE, || run.is_raw()),
        "raw mode again after SIGCONT"
    );
    assert!(
        wait_until(DEADLINE, || run.output_so_far()[stopped_at..]
            .contains(ENTER_ALT_SCREEN)),
        "back in the alternate screen"
    );
    run.send(b"q");
    let (status, output) = run.finish(DEADLINE);
    assert!(status.expect("q without Enter quits").success());
    assert_restored(&output, "q after SIGSTOP/SIGCONT");
}

#[test]
fn a_dumb_terminal_gets_lines_with_a_note() {
    for (term, said) in [
        (Some("dumb"), "TERM=dumb cannot move the cursor"),
        (None, "TERM is not set"),
        (Some("tcpwatch-no-such-terminal"), "has no terminfo entry"),
    ] {
        let run = PtyRun::start_with_env(
            &["--source", "proc", "--port", "1", "--interval", "200ms"],
            COLS,
            ROWS,
            &[("TERM", term)],
        );
        let printed = wait_until(DEADLINE, || run.output_so_far().contains("LISTENERS"));
        run.signal(libc::SIGTERM);
        let (_, output) = run.finish(DEADLINE);
        assert!(printed, "{term:?}: a picture is printed; output {output:?}");
        assert!(
            output.contains(said),
            "{term:?}: the note says why: {output:?}"
        );
        assert!(
            !output.contains(ENTER_ALT_SCREEN),
            "{term:?}: no full-screen UI: {output:?}"
        );
    }
}
