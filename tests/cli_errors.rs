//! Bad input gives one clear line naming the fix and a non-zero exit, never
//! a panic.

mod common;

use common::tcpwatch;

fn assert_fails_with(args: &[&str], code: i32, needle: &str) {
    let output = tcpwatch(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
}

#[test]
fn a_bad_port_is_rejected() {
    assert_fails_with(&["--once", "--port", "http"], 2, "use 1-65535");
    assert_fails_with(&["--once", "--port", "65536"], 2, "use 1-65535");
}

#[test]
fn bad_port_lists_addresses_and_families_are_usage_errors() {
    assert_fails_with(&["--once", "--port", "10010-10000"], 2, "write 10000-10010");
    assert_fails_with(&["--once", "--port", "22,,80"], 2, "empty item");
    assert_fails_with(&["--once", "--addr", "10.0.0.0/33"], 2, "0-32");
    assert_fails_with(&["--once", "--addr", "db.internal"], 2, "not an IP address");
    assert_fails_with(&["--once", "-4", "-6"], 2, "cannot be used with");
}

#[test]
fn stream_with_a_table_format_is_a_usage_error() {
    assert_fails_with(
        &["--stream", "--format", "table"],
        2,
        "--stream prints JSON lines only",
    );
}

/// Recording every namespace is not supported: said at once, nothing
/// created, rather than a run that silently records nothing.
#[test]
fn all_namespaces_with_record_is_a_usage_error() {
    let file = std::env::temp_dir().join(format!("tcpwatch-all-rec-{}.rec", std::process::id()));
    let path = file.to_str().expect("utf-8 temp path");
    for args in [
        vec!["-A", "--record", path],
        vec!["-A", "--stream", "--record", path],
        vec!["--all-namespaces", "--once", "--record", path],
        vec!["-A", "record", path],
        vec!["serve", "-A", "--record", path],
    ] {
        assert_fails_with(&args, 2, "--all-namespaces cannot be recorded");
        assert_fails_with(&args, 2, "--pid PID or --netns NAME");
        assert!(!file.exists(), "{args:?} created {path}");
    }
}

#[test]
fn count_and_for_are_checked_before_anything_runs() {
    assert_fails_with(&["--count", "0"], 2, "0");
    assert_fails_with(&["--once", "--count", "3"], 2, "cannot be used with");
    assert_fails_with(&["--for", "3s"], 2, "--once");
    assert_fails_with(&["--once", "--for", "2days"], 2, "between 100ms and 1day");
    assert_fails_with(&["completions", "tcsh"], 2, "bash");
}

#[test]
fn help_shows_examples_and_the_exit_codes() {
    let output = tcpwatch(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "Examples:",
        "tcpwatch demo",
        "--port 10000-10010,22 -4",
        "--once --for 5s --fail-on warning",
        "--count 5",
        "Exit status:",
        "0  success",
        "1  runtime error",
        "2  usage error",
        "3  --fail-on",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn no_interval_panics_and_each_names_the_fix() {
    for (text, needle) in [
        ("1e20", "not a duration: write e.g. 500ms"),
        ("1e3", "not a duration"),
        ("18446744073709551615", "between 100ms and 1h"),
        ("44674407370951651616", "too long"),
        ("99999999999999999999999h", "too long"),
        ("1h 1s", "between 100ms and 1h"),
        ("-1s", "not a duration"),
        ("NaN", "not a duration"),
    ] {
        let flag = format!("--interval={text}");
        assert_fails_with(&["--once", &flag], 2, needle);
    }
}

#[test]
fn interval_takes_humantime_units_up_to_one_hour() {
    for text in ["1h", "1min", "500ms", "2.5s"] {
        let output = tcpwatch(&["--once", "--source", "proc", "--interval", text]);
        assert!(
            output.status.success(),
            "{text}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_bad_state_lists_the_valid_names() {
    assert_fails_with(&["--once", "--state", "SYN_WAIT"], 2, "TIME_WAIT");
}

#[test]
fn an_unknown_pid_says_so() {
    assert_fails_with(
        &["--once", "--pid", "999999999"],
        1,
        "no process with pid 999999999",
    );
}

#[test]
fn an_unknown_namespace_points_at_ip_netns_list() {
    assert_fails_with(
        &["--once", "--netns", "tcpwatch-no-such-ns"],
        1,
        "ip netns list",
    );
}

#[test]
fn a_bad_format_is_rejected() {
    assert_fails_with(&["--once", "--format", "xml"], 2, "table");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(["--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader goes away before we write
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn explain_prints_every_state_and_rejects_unknown_ones() {
    for state in [
        "LISTEN",
        "SYN_SENT",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "CLOSE_WAIT",
        "LAST_ACK",
        "CLOSING",
        "TIME_WAIT",
        "CLOSE",
    ] {
        let output = tcpwatch(&["explain", state]);
        assert!(output.status.success(), "explain {state}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.starts_with(state), "{state}: {text}");
        assert!(text.contains("leaves by"), "{state}: {text}");
    }
    let all = tcpwatch(&["explain"]);
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(
        text.contains("TCP state diagram") && text.contains("CLOSE_WAIT"),
        "{text}"
    );
    assert_fails_with(&["explain", "HALF_OPEN"], 2, "use one of LISTEN");
}
