//! `tcpwatch demo --no-tui` runs the write-up's experiments end to end,
//! within a bounded time, shows what each one should show, and leaves no
//! socket behind but the kernel's TIME_WAIT ones.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use tcpwatch::demo::Step;
use tcpwatch::demo::lab::LabPorts;
use tcpwatch::demo::sights::{View, look_for_in_report, report_sights_of};

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

    every_hint_is_in_its_steps_picture(&text);

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
        // The full queue's refused clients resend their SYN. On 6.18 in a
        // VM the kernel sometimes counts a timer's retransmit on an idle
        // CPU and never writes it: then the summary must say events were
        // lost, never show a complete-looking log without it.
        assert!(
            text.contains("SYN retransmit: ") || text.contains("Events lost: "),
            "neither a SYN retransmit nor a lost count:\n{text}"
        );
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

/// Each step's "Look for" names what the picture printed after it shows.
fn every_hint_is_in_its_steps_picture(text: &str) {
    let ports: Vec<u16> = text
        .split("filter: port ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .map(|list| {
            list.split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let [full_queue, time_wait, close_wait, closed] = ports.as_slice() else {
        panic!("the report names the lab's 4 ports: {ports:?}\n{text}");
    };
    let ports = LabPorts {
        full_queue: *full_queue,
        time_wait: *time_wait,
        close_wait: *close_wait,
        closed: *closed,
    };
    for (index, step) in Step::ALL.into_iter().enumerate() {
        let start = text
            .find(&format!("[{}/5]", index + 1))
            .unwrap_or_else(|| panic!("step {} in:\n{text}", index + 1));
        let section = &text[start..];
        let section = section[1..]
            .find("\n[")
            .map_or(section, |end| &section[..=end]);
        assert!(
            section.contains(&look_for_in_report(step, &ports)),
            "{step:?}: the narration says what to look for:\n{section}"
        );
        for sight in report_sights_of(step, &ports) {
            assert!(
                sight.is_on(View::Report, section),
                "{step:?}: {} is not in the picture:\n{section}",
                sight.describe()
            );
        }
    }
}
