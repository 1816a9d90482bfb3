//! `--all-namespaces` against real namespaces: three made with `ip netns
//! add` and two with `unshare -n` processes. A listen(1) listener that never
//! accepts, with 5 clients, runs in one named namespace; TIME_WAIT is built
//! in an unshare'd one. The one-shot JSON must find every namespace, with
//! names for the named ones, the full listener and its alert under the right
//! namespace, and the TIME_WAIT in the other.
//!
//! Needs root and iproute2; under CI=true a missing one fails the test.
//! Every namespace and child made here is removed (by name, by pid).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::netns::{Experiment, PrivateNetns};
use common::*;
use serde_json::Value;

/// listen(1) never accept()ed, 5 non-blocking clients; "ready", then waits.
const FULL_LISTENER: &str = r#"
import socket, time
full = socket.socket(); full.bind(("127.0.0.1", 10000)); full.listen(1)
clients = []
for _ in range(5):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", 10000))
    except BlockingIOError: pass
    clients.append(c)
time.sleep(1.5)
print("ready", flush=True)
time.sleep(120)
"#;

/// 30 connections to :10001 closed by the client first: 30 TIME_WAIT.
const TIME_WAIT: &str = r#"
import socket, time
server = socket.socket(); server.bind(("127.0.0.1", 10001)); server.listen(64)
for _ in range(30):
    c = socket.create_connection(("127.0.0.1", 10001))
    s, _ = server.accept()
    c.close(); s.recv(1); s.close()
time.sleep(0.5)
print("ready", flush=True)
time.sleep(120)
"#;

/// Whether this run can make namespaces; under CI=true it must.
fn can_make_namespaces() -> bool {
    let has_tools = ["ip", "unshare", "python3"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    can_run(
        is_root() && has_tools,
        "root, iproute2 (ip), unshare and python3",
    )
}

/// A process in a network namespace of its own (`unshare -n`), loopback up,
/// running `python3 -c script`; waits for its first line. `unshare` and `sh`
/// exec, so the child's pid is the namespace's only process.
fn unshared_python(script: &str) -> (Experiment, String) {
    let mut child = Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec python3 -c \"$0\"",
            script,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare starts");
    let stdout = child.stdout.take().expect("stdout");
    let experiment = Experiment(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    (experiment, line.trim().to_string())
}

fn namespaces(report: &Value) -> &Vec<Value> {
    report["namespaces"].as_array().expect("namespaces[]")
}

fn by_name<'a>(report: &'a Value, name: &str) -> &'a Value {
    namespaces(report)
        .iter()
        .find(|ns| ns["name"] == name)
        .unwrap_or_else(|| panic!("no namespace named {name} in {report:#}"))
}

fn by_pid(report: &Value, pid: u32) -> &Value {
    namespaces(report)
        .iter()
        .find(|ns| ns["pid"] == pid)
        .unwrap_or_else(|| panic!("no namespace with pid {pid} in {report:#}"))
}

#[test]
fn every_namespace_is_found_with_its_full_listener_and_its_time_wait() {
    if !can_make_namespaces() {
        return;
    }
    let named: Vec<PrivateNetns> = ["all-a", "all-b", "all-c"]
        .iter()
        .map(|suffix| PrivateNetns::create(suffix).expect("ip netns add"))
        .collect();
    let (listener, ready) = named[1].spawn_python(FULL_LISTENER);
    assert_eq!(ready, "ready");
    let (time_wait, ready) = unshared_python(TIME_WAIT);
    assert_eq!(ready, "ready");
    let (idle, ready) = unshared_python("print('ready', flush=True)\nimport time; time.sleep(120)");
    assert_eq!(ready, "ready");

    let report = once_json(&["--all-namespaces"]);
    assert_eq!(report["all_namespaces"], true);
    let host = namespaces(&report)
        .iter()
        .find(|ns| ns["host"] == true)
        .expect("the host's own namespace");
    assert_eq!(host["label"], "host");

    let mut ids = std::collections::HashSet::new();
    for netns in &named {
        let entry = by_name(&report, &netns.name);
        assert_eq!(entry["label"], format!("netns {}", netns.name));
        assert_eq!(entry["readable"], true, "{entry}");
        assert_eq!(
            entry["source"], "netlink",
            "root enters with setns: {entry}"
        );
        assert!(ids.insert(entry["id"].as_u64().expect("id")));
    }
    for child in [&time_wait, &idle] {
        let entry = by_pid(&report, child.pid());
        assert!(entry["name"].is_null(), "{entry}");
        assert_eq!(entry["readable"], true, "{entry}");
        assert!(
            entry["label"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("pid {}", child.pid())),
            "{entry}"
        );
        assert!(
            ids.insert(entry["id"].as_u64().expect("id")),
            "distinct namespaces"
        );
    }

    // The full listener, under the namespace it runs in, and nowhere else.
    let full_ns = by_name(&report, &named[1].name);
    let full = listener_entry(full_ns, "127.0.0.1:10000");
    assert_eq!(full["accept_queue"], 2, "{full}");
    assert_eq!(full["backlog"], 1, "{full}");
    assert_eq!(full["full"], true, "{full}");
    assert_eq!(full["process"]["pid"], listener.pid(), "{full}");
    let alert = full_ns["alerts"]
        .as_array()
        .expect("alerts[]")
        .iter()
        .find(|a| a["kind"] == "backlog_full")
        .unwrap_or_else(|| panic!("backlog_full alert in {full_ns:#}"));
    let subject = alert["subject"].as_str().expect("subject");
    assert!(
        subject.contains("127.0.0.1:10000") && subject.contains(&named[1].name),
        "the alert names the listener and its namespace: {subject}"
    );
    assert!(
        alert["title"]
            .as_str()
            .unwrap_or("")
            .contains(&named[1].name)
    );
    for other in namespaces(&report)
        .iter()
        .filter(|ns| ns["id"] != full_ns["id"])
    {
        let alerts = other["alerts"].as_array().expect("alerts[]");
        assert!(
            !a_subject_mentions(alerts, &named[1].name),
            "the alert belongs to one namespace: {other}"
        );
    }

    // The TIME_WAIT, in the unshare'd namespace that built it.
    let tw_ns = by_pid(&report, time_wait.pid());
    assert_eq!(time_wait_on(tw_ns, 10001), 30, "{tw_ns:#}");
    assert_eq!(tw_ns["time_wait"]["namespace_total"], 30, "{tw_ns:#}");
    assert_eq!(full_ns["time_wait"]["namespace_total"], 0, "{full_ns:#}");

    // --fail-on counts every namespace; the table has a section for the full one.
    let output = tcpwatch(&["--all-namespaces", "--once", "--fail-on", "critical"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("=== netns {}", named[1].name)),
        "{text}"
    );
    assert!(text.contains("2/1 FULL"), "{text}");
    assert!(
        !text.contains(&format!("=== netns {}", named[0].name)),
        "no section for a namespace with no listeners or alerts: {text}"
    );

    drop((listener, time_wait, idle));
    drop(named);
}

fn a_subject_mentions(alerts: &[Value], needle: &str) -> bool {
    alerts
        .iter()
        .any(|a| a["subject"].as_str().is_some_and(|s| s.contains(needle)))
}

/// Without root, a namespace that cannot be entered is listed with the
/// reason, the host's own is still read, and the run does not abort.
#[test]
fn without_root_unreadable_namespaces_are_named_with_the_reason() {
    let has_setpriv = Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !can_make_namespaces() || !can_run(has_setpriv, "setpriv (util-linux) to drop root") {
        return;
    }
    let netns = PrivateNetns::create("all-perm").expect("ip netns add");
    // A copy nobody may run, wherever the build tree is.
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = dir.path().join("tcpwatch");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpwatch"), &binary).expect("copy the binary");
    use std::os::unix::fs::PermissionsExt;
    for path in [dir.path(), binary.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(["--all-namespaces", "--once", "--format", "json"])
        .output()
        .expect("setpriv runs");
    assert!(
        output.status.success(),
        "never aborts: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let host = namespaces(&report)
        .iter()
        .find(|ns| ns["host"] == true)
        .expect("the host's own namespace");
    assert_eq!(host["readable"], true, "{host}");
    let named = by_name(&report, &netns.name);
    assert_eq!(named["readable"], false, "{named}");
    let why = named["access"].as_str().unwrap_or("");
    assert!(why.contains("CAP_SYS_ADMIN"), "says why: {named}");
    assert!(report["unreadable"].as_u64().unwrap_or(0) >= 1, "{report}");
}
