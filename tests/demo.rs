//! `tcpwatch demo --no-tui` runs the write-up's experiments end to end,
//! within a bounded time, shows what each one should show, and leaves no
//! socket behind but the kernel's TIME_WAIT ones.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The number right after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> u16 {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("'{marker}' in demo output"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a port number")
}

#[test]
fn demo_without_tui_runs_every_experiment_and_cleans_up() {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(["demo", "--no-tui"])
        .output()
        .expect("run the demo");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the demo took {elapsed:?}"
    );

    for step in 1..=5 {
        assert!(
            text.contains(&format!("[{step}/5]")),
            "step {step} missing:\n{text}"
        );
    }
    assert!(
        text.contains("2/1 FULL"),
        "the full queue must show:\n{text}"
    );
    assert!(
        text.contains("connect() failed"),
        "the refused connect must show:\n{text}"
    );
    assert!(text.contains("demo done"), "{text}");

    let full_queue = number_after(&text, "listen(1) on 127.0.0.1:");
    let close_wait = number_after(&text, "3 clients of port ");
    let time_wait = number_after(&text, "20 short connections to port ");
    let closed = number_after(&text, "connect() to port ");
    if can_run(is_root(), "root (the demo's exact events)") {
        // Each experiment's exact sequence, and the RST step's RST line.
        for seen in [
            format!("127.0.0.1:{full_queue} → 0.0.0.0:0  CLOSE → LISTEN  listen()"),
            "○ Drop (inferred): ListenOverflows".to_string(),
            format!("attributed to 127.0.0.1:{full_queue}, the listener that was full"),
            "SYN retransmit: ".to_string(),
            format!(" → 127.0.0.1:{time_wait}  FIN_WAIT2 → TIME_WAIT"),
            format!("127.0.0.1:{close_wait} → "),
            "ESTABLISHED → CLOSE_WAIT  recv FIN".to_string(),
            format!(
                "RST sent: SYN to 127.0.0.1:{closed}, no listener (connect() gets ECONNREFUSED)"
            ),
            format!("RSTs by port (exact): :{closed} sent 1, received 1"),
        ] {
            assert!(text.contains(&seen), "{seen:?} missing:\n{text}");
        }
    }
    for port in [full_queue, close_wait, time_wait] {
        let report = once_json(&["--port", &port.to_string()]);
        for row in report["ports"].as_array().expect("ports") {
            for (state, count) in row["states"].as_object().expect("states") {
                if state != "TIME_WAIT" {
                    assert_eq!(
                        count, 0,
                        "port {port}: {state} left behind after the demo: {report}"
                    );
                }
            }
        }
        assert!(
            report["listeners"]
                .as_array()
                .expect("listeners")
                .is_empty(),
            "{report}"
        );
    }
}
