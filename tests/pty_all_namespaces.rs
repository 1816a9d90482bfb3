//! The `--all-namespaces` dashboard in a pseudo-terminal while namespaces
//! come and go: named namespaces created and deleted while it runs appear
//! and vanish from the Namespaces panel; a full listen(1) listener in one
//! shows `2/1 FULL` and its alert; a CLOSE_WAIT leak in another, never
//! opened, shows its round-robin alert and table; Enter opens the full
//! one's usual dashboard and Esc comes back; `q` restores the terminal.
//!
//! Other runs (tests, the soak, benchmarks) make namespaces of their own on
//! this machine at the same time, so every check here is about the
//! namespaces this test made, found by name: never about positions, counts
//! or the short log of changes that theirs can push ours out of.
//!
//! Needs root and iproute2; under CI=true a missing one fails the test.
//! Every namespace and child made here is removed (by name, by pid).

mod common;

use std::time::Duration;

use common::netns::{CLOSE_WAIT_LEAK, FULL_LISTENER, PrivateNetns, can_make_namespaces};
use common::pty::{PtyRun, after_last_entry};

const COLS: u16 = 200;
/// Tall: the machine may hold other runs' namespaces; ours must be on screen.
const ROWS: u16 = 200;
const DEADLINE: Duration = Duration::from_secs(30);

/// The panel's rows, in order: the text of each line that starts a row.
fn panel_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|line| !line.contains("NAMESPACE"))
        .skip(1)
        .take_while(|line| line.starts_with('│'))
        .map(|line| line.trim_start_matches('│').to_string())
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// The row of the namespace named `name`, if it is on screen.
fn row_of(screen: &str, name: &str) -> Option<String> {
    panel_rows(screen)
        .into_iter()
        .find(|row| row.contains(&format!("netns {name} ")))
}

/// Whether the selected row (the detail pane's title) is `name`'s.
fn selected_is(screen: &str, name: &str) -> bool {
    screen.contains(&format!(" netns {name} · netns:["))
}

/// Moves the selection onto `name`'s row, one step at a time from the top,
/// reading the detail pane after each step: rows re-sort as other runs'
/// namespaces come and go, so positions cannot be trusted.
fn select(run: &mut PtyRun, name: &str) -> bool {
    run.send(b"g");
    for _ in 0..ROWS {
        let (found, _) = run.wait_for(Duration::from_millis(400), |s| selected_is(s, name));
        if found {
            return true;
        }
        run.send(b"j");
    }
    false
}

#[test]
fn namespaces_come_and_go_while_the_dashboard_runs() {
    if !can_make_namespaces() {
        return;
    }
    let mut run = PtyRun::start(&["--all-namespaces", "--interval", "500ms"], COLS, ROWS);
    let (started, screen) = run.wait_for(DEADLINE, |s| {
        s.contains("Namespaces (worst first)") && s.contains("round-robin within 5% of one core")
    });
    assert!(
        started,
        "the Namespaces panel and its round-robin budget:\n{screen}"
    );

    // Created while it runs: they appear.
    let quiet = PrivateNetns::create("churn-quiet").expect("ip netns add");
    let busy = PrivateNetns::create("churn-busy").expect("ip netns add");
    let leaky = PrivateNetns::create("churn-leaky").expect("ip netns add");
    let (listener, ready) = busy.spawn_python(FULL_LISTENER);
    assert_eq!(ready, "ready");
    let (leaker, ready) = leaky.spawn_python(CLOSE_WAIT_LEAK);
    assert_eq!(ready, "ready");
    let (seen, screen) = run.wait_for(DEADLINE, |s| {
        row_of(s, &quiet.name).is_some()
            && row_of(s, &busy.name)
                .is_some_and(|row| row.contains("2/1 FULL") && row.contains("backlog_full"))
    });
    assert!(
        seen,
        "both new namespaces appear, the busy one full and alerting:\n{screen}"
    );

    // Never opened: its CLOSE_WAIT leak comes from its round-robin tables.
    let (leak_seen, screen) = run.wait_for(DEADLINE * 2, |s| {
        row_of(s, &leaky.name).is_some_and(|row| row.contains("close_wait_leak"))
    });
    assert!(
        leak_seen,
        "the leak in a namespace nobody opened is raised:\n{screen}"
    );
    assert!(select(&mut run, &leaky.name), "select the leaky namespace");
    let (detail, screen) = run.wait_for(DEADLINE, |s| {
        s.lines().any(|line| {
            line.contains("whole table")
                && line.contains("(round-robin,")
                && line.contains(":10002 ")
                && line.contains("CLOSE_WAIT 5")
        })
    });
    assert!(
        detail,
        "its detail shows the round-robin table's figures and age:\n{screen}"
    );

    // Deleted while it runs: it vanishes.
    let quiet_name = quiet.name.clone();
    drop(quiet);
    let (gone, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&busy.name) && row_of(s, &quiet_name).is_none()
    });
    assert!(gone, "the deleted namespace vanishes:\n{screen}");

    // Enter opens the busy namespace's usual dashboard; Esc comes back.
    assert!(select(&mut run, &busy.name), "select the busy namespace");
    run.send(b"\r");
    let (opened, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&format!("netns {}", busy.name)) && s.contains("Ports") && s.contains("2/1 FULL")
    });
    assert!(opened, "Enter opens that namespace's dashboard:\n{screen}");
    run.send(b"\x1b");
    let (back, screen) = run.wait_for(DEADLINE, |s| s.contains("Namespaces (worst first)"));
    assert!(back, "Esc returns to the Namespaces panel:\n{screen}");

    // A namespace added later: the rest is undisturbed.
    let late = PrivateNetns::create("churn-late").expect("ip netns add");
    let (appeared, screen) = run.wait_for(DEADLINE, |s| {
        row_of(s, &late.name).is_some()
            && row_of(s, &busy.name).is_some_and(|row| row.contains("2/1 FULL"))
    });
    assert!(
        appeared,
        "a late namespace appears beside the busy one:\n{screen}"
    );

    run.send(b"q");
    let (status, output) = run.finish(Duration::from_secs(5));
    drop((listener, leaker));
    drop((busy, leaky, late));
    let status = status.expect("tcpwatch exits after q");
    assert!(status.success(), "exit status {status:?}");
    let quit_part = after_last_entry(&output);
    assert!(
        quit_part.contains("\x1b[?1049l"),
        "leaves the alternate screen"
    );
    assert!(quit_part.contains("\x1b[?25h"), "shows the cursor again");
}
