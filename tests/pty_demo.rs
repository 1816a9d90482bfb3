//! End to end: `tcpwatch demo` on a pseudo-terminal (120×40) opens the
//! dashboard on the state diagram, narrates the steps, and after step 2
//! shows the three clients stuck in SYN_SENT in the diagram. `q` then ends
//! it with status 0, the terminal restored and the lab's listener closed.
//!
//! Skips, saying why, only when sock_diag is unavailable on this machine.

mod common;

use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use common::pty::{PtyRun, after_last_entry};
use tcpwatch::collect::netlink::NetlinkTable;

/// Step 2 starts after about 7 s; a loaded machine gets some slack.
const DEADLINE: Duration = Duration::from_secs(25);

/// The count in the box whose top border names `state` (one line below).
fn box_count(screen: &str, state: &str) -> Option<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let name: Vec<char> = format!(" {state} ").chars().collect();
    lines.iter().enumerate().find_map(|(y, line)| {
        let x = line
            .windows(name.len())
            .position(|w| w == name.as_slice())?;
        if !matches!(line.get(x.checked_sub(1)?), Some('─' | '━' | '┌' | '┏')) {
            return None;
        }
        let below = lines.get(y + 1)?;
        Some(
            below
                .get(x..x + name.len())?
                .iter()
                .collect::<String>()
                .trim()
                .to_string(),
        )
    })
}

/// The listen(1) port, from the narration of step 2: `(port 12345)`.
fn listen_one_port(screen: &str) -> Option<u16> {
    let start = screen.find("backlog 1 (port ")? + "backlog 1 (port ".len();
    screen[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[test]
fn demo_narrates_on_the_diagram_and_quits_cleanly() {
    if !common::can_run(NetlinkTable::open().is_ok(), "sock_diag (netlink)") {
        return;
    }
    let mut run = PtyRun::start(&["demo"], 120, 40);
    let (seen, screen) = run.wait_for(DEADLINE, |screen| {
        screen.contains("Demo · step 2/5") && box_count(screen, "SYN_SENT").as_deref() == Some("3")
    });
    let port = listen_one_port(&screen);
    run.send(b"q");
    let (status, output) = run.finish(Duration::from_secs(5));

    assert!(
        seen,
        "within {DEADLINE:?} the narration should reach step 2/5 and the diagram show SYN_SENT 3; last screen:\n{screen}"
    );
    assert!(screen.contains("TCP state diagram"), "{screen}");
    assert!(screen.contains("CLOSED → SYN_SENT"), "the log: {screen}");
    let status = status.expect("tcpwatch exits after q");
    assert!(status.success(), "exit status {status:?}");
    let quit_part = after_last_entry(&output);
    assert!(
        quit_part.contains("\x1b[?1049l"),
        "leaves the alternate screen"
    );
    assert!(quit_part.contains("\x1b[?25h"), "shows the cursor again");
    let port = port.expect("the narration names the listen(1) port");
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "the lab's listen(1) socket on {port} is closed once the demo ends"
    );
}
