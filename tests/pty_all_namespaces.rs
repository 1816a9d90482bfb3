//! The `--all-namespaces` dashboard in a pseudo-terminal while namespaces
//! come and go: named namespaces created and deleted while it runs appear
//! and vanish from the Namespaces panel; a full listen(1) listener in one
//! shows `2/1 FULL` and its alert; Enter opens that namespace's usual
//! dashboard and Esc comes back; `q` restores the terminal.
//!
//! Needs root and iproute2; under CI=true a missing one fails the test.
//! Every namespace and child made here is removed (by name, by pid).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::netns::PrivateNetns;
use common::pty::{PtyRun, after_last_entry};
use common::{can_run, is_root};

const COLS: u16 = 180;
/// Tall: the machine may hold other namespaces; ours must all be on screen.
const ROWS: u16 = 200;
const DEADLINE: Duration = Duration::from_secs(15);

const FULL_LISTENER: &str = r#"
import socket, time
full = socket.socket(); full.bind(("127.0.0.1", 10000)); full.listen(1)
clients = []
for _ in range(5):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", 10000))
    except BlockingIOError: pass
    clients.append(c)
time.sleep(1)
print("ready", flush=True)
time.sleep(120)
"#;

fn has_ip() -> bool {
    Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

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

#[test]
fn namespaces_come_and_go_while_the_dashboard_runs() {
    if !can_run(is_root() && has_ip(), "root and iproute2 (ip netns)") {
        return;
    }
    let mut run = PtyRun::start(&["--all-namespaces", "--interval", "500ms"], COLS, ROWS);
    let (started, screen) = run.wait_for(DEADLINE, |s| {
        s.contains("Namespaces (worst first)") && s.contains("host")
    });
    assert!(started, "the Namespaces panel shows the host:\n{screen}");

    // Created while it runs: they appear.
    let quiet = PrivateNetns::create("churn-quiet").expect("ip netns add");
    let busy = PrivateNetns::create("churn-busy").expect("ip netns add");
    let (listener, ready) = busy.spawn_python(FULL_LISTENER);
    assert_eq!(ready, "ready");
    let (seen, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&format!("netns {}", quiet.name))
            && panel_rows(s).iter().any(|row| {
                row.contains(&busy.name) && row.contains("2/1 FULL") && row.contains("backlog_full")
            })
    });
    assert!(
        seen,
        "both new namespaces appear, the busy one full and alerting:\n{screen}"
    );

    // Deleted while it runs: it vanishes, and the panel says so.
    let quiet_name = quiet.name.clone();
    drop(quiet);
    let (gone, screen) = run.wait_for(DEADLINE, |s| {
        !panel_rows(s).iter().any(|row| row.contains(&quiet_name))
            && s.contains(&format!("vanished: netns {quiet_name}"))
    });
    assert!(gone, "the deleted namespace vanishes:\n{screen}");

    // Enter opens the busy namespace's usual dashboard; Esc comes back.
    let position = panel_rows(&screen)
        .iter()
        .position(|row| row.contains(&busy.name))
        .expect("the busy namespace has a row");
    run.send(b"g");
    for _ in 0..position {
        run.send(b"j");
    }
    std::thread::sleep(Duration::from_millis(300));
    run.send(b"\r");
    let (opened, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&format!("netns {}", busy.name)) && s.contains("Ports") && s.contains("2/1 FULL")
    });
    assert!(opened, "Enter opens that namespace's dashboard:\n{screen}");
    run.send(b"\x1b");
    let (back, screen) = run.wait_for(DEADLINE, |s| s.contains("Namespaces (worst first)"));
    assert!(back, "Esc returns to the Namespaces panel:\n{screen}");

    // A namespace deleted and one added at once: the rest is undisturbed.
    let late = PrivateNetns::create("churn-late").expect("ip netns add");
    let (appeared, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&format!("netns {}", late.name))
            && panel_rows(s)
                .iter()
                .any(|row| row.contains(&busy.name) && row.contains("2/1 FULL"))
    });
    assert!(
        appeared,
        "a late namespace appears beside the busy one:\n{screen}"
    );

    run.send(b"q");
    let (status, output) = run.finish(Duration::from_secs(5));
    drop(listener);
    drop((busy, late));
    let status = status.expect("tcpwatch exits after q");
    assert!(status.success(), "exit status {status:?}");
    let quit_part = after_last_entry(&output);
    assert!(
        quit_part.contains("\x1b[?1049l"),
        "leaves the alternate screen"
    );
    assert!(quit_part.contains("\x1b[?25h"), "shows the cursor again");
}
