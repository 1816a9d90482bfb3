//! `--once --state S` lists only what matches: a listener is not shown when
//! LISTEN is not among the states asked for.

mod common;

use common::*;

#[test]
fn state_close_once_lists_no_listeners() {
    let listener = listen_with_backlog("127.0.0.1", 8);
    let port = local_addr(&listener).port().to_string();
    let report = once_json(&["--port", &port, "--state", "CLOSE"]);
    assert_eq!(
        report["listeners"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let listed = once_json(&["--port", &port, "--state", "LISTEN"]);
    assert_eq!(
        listed["listeners"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    let output = tcpwatch(&["--once", "--port", &port, "--state", "CLOSE"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(!text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("--state leaves LISTEN out"), "{text}");
}
