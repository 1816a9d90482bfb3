//! `--all-namespaces` against real namespaces: three made with `ip netns
//! add` and two with `unshare -n` processes. A listen(1) listener that never
//! accepts, with 5 clients, runs in one named namespace; TIME_WAIT is built
//! in an unshare'd one. The one-shot JSON must find every namespace, with
//! names for the named ones, the full listener and its alert under the right
//! namespace, and the TIME_WAIT in the other. A CLOSE_WAIT leak in a
//! namespace nobody opened is raised from its round-robin whole tables and
//! named with its namespace; every document matches the JSON contract.
//! Namespaces created and deleted leave no reader (no descriptor) behind.
//!
//! Needs root and iproute2; under CI=true a missing one fails the test.
//! Every namespace and child made here is removed (by name, by pid).

mod common;

use std::process::Command;
use std::time::Duration;

use common::netns::{
    CLOSE_WAIT_LEAK, FULL_LISTENER, PrivateNetns, can_make_namespaces, has_tool, unshared_python,
};
use common::schema::{assert_valid, validator};
use common::stream::{Stream, Unread};
use common::*;
use serde_json::Value;

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
    assert_valid(&validator(), &report);
    assert_eq!(report["type"], "namespaces");
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
    let table = &tw_ns["last_table"];
    assert_eq!(table["age_ms"], 0, "read for this picture: {tw_ns:#}");
    assert!(
        table["ports"].as_array().is_some_and(|ports| ports
            .iter()
            .any(|p| p["port"] == 10001 && p["states"]["TIME_WAIT"] == 30)),
        "{table:#}"
    );
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
    if !can_make_namespaces() || !can_run(has_tool("setpriv"), "setpriv (util-linux) to drop root")
    {
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

fn alert_in(line: &Value, kind: &str, netns: &str) -> bool {
    line["type"] == "alert"
        && line["event"] == "raised"
        && line["kind"] == kind
        && line["netns"]["name"] == netns
}

/// No namespace is opened under `--stream`: every namespace but none gets
/// its whole table round-robin, and the whole-table rules run on it.
#[test]
fn a_close_wait_leak_in_a_namespace_nobody_opened_is_raised_and_named() {
    if !can_make_namespaces() {
        return;
    }
    let leaky = PrivateNetns::create("all-leak").expect("ip netns add");
    let (leaker, ready) = leaky.spawn_python(CLOSE_WAIT_LEAK);
    assert_eq!(ready, "ready");
    let stream = Stream::start(&["--all-namespaces", "--interval", "500ms"]);
    let opening = stream.collect_until(Duration::from_secs(20), |lines| !lines.is_empty());
    // One made after the stream started: a `namespace` line says so.
    let late = PrivateNetns::create("all-late").expect("ip netns add");
    let appeared = |l: &Value| {
        l["type"] == "namespace" && l["event"] == "appeared" && l["netns"]["name"] == late.name
    };
    let mut lines = opening;
    lines.extend(stream.collect_until(Duration::from_secs(90), |lines| {
        lines
            .iter()
            .any(|l| alert_in(l, "close_wait_leak", &leaky.name))
            && lines.iter().any(appeared)
    }));
    assert!(lines.iter().any(appeared), "{lines:#?}");
    let validator = validator();
    for line in &lines {
        assert_valid(&validator, line);
    }
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&Value::from("namespaces"))
    );
    let alert = lines
        .iter()
        .find(|l| alert_in(l, "close_wait_leak", &leaky.name))
        .unwrap_or_else(|| panic!("no close_wait_leak for {} in {lines:#?}", leaky.name));
    let subject = alert["subject"].as_str().unwrap_or("");
    assert!(
        subject.contains("port 10002") && subject.contains(&leaky.name),
        "names the port and the namespace: {subject}"
    );
    assert!(
        alert["summary"]
            .as_str()
            .unwrap_or("")
            .contains("5 sockets in CLOSE_WAIT"),
        "{alert}"
    );
    let table = &alert["last_table"];
    assert_eq!(table["opened"], false, "a round-robin table: {table}");
    assert!(
        table["age_ms"].as_u64().is_some_and(|age| age < 5_000),
        "{table}"
    );
    let port = table["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["port"] == 10002))
        .unwrap_or_else(|| panic!("port 10002 in {table}"));
    assert_eq!(port["states"]["CLOSE_WAIT"], 5, "{table}");
    drop(stream);
    drop(leaker);
}

/// 1000 idle listeners (so a picture of its namespace is well over a pipe's
/// 64 KiB) and a listen(1) listener on :10000; prints "ready". On "fill", 3
/// non-blocking clients overflow it (2 queued, `2/1 FULL`, the third's SYN
/// dropped); prints "full". On "close", closes it and its clients, so it
/// cannot fill again; prints "closed".
const FILLS_ON_CUE: &str = r#"
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), max(hard, 4096)))
idle = []
for port in range(20000, 21000):
    s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen(8); idle.append(s)
full = socket.socket(); full.bind(("127.0.0.1", 10000)); full.listen(1)
print("ready", flush=True)
sys.stdin.readline()
clients = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", 10000))
    except BlockingIOError: pass
    clients.append(c)
time.sleep(0.3)
print("full", flush=True)
sys.stdin.readline()
full.close()
for c in clients: c.close()
print("closed", flush=True)
time.sleep(120)
"#;

fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    u64::try_from(since_epoch.as_millis()).expect("ms fit u64")
}

/// A queue that fills and is gone again while `-A --stream` has not yet
/// printed its opening picture is raised all the same, after the picture.
/// The picture is held back for as long as the test likes: its namespace's
/// 1000 listeners make it larger than the pipe, and nobody reads the pipe
/// until the full listener has been closed. Live sampling must therefore run
/// while the picture is taken and printed (it once started only after).
#[test]
fn a_queue_that_fills_before_the_opening_picture_is_printed_is_raised() {
    if !can_make_namespaces() {
        return;
    }
    let ns = PrivateNetns::create("all-startup").expect("ip netns add");
    let mut filler = ns.spawn_talking_python(FILLS_ON_CUE);
    assert_eq!(filler.hear(), "ready");
    let unread = Unread::start(&["--all-namespaces", "--stream", "--interval", "500ms"]);
    filler.say("fill");
    assert_eq!(filler.hear(), "full");
    // Listeners are sampled 4 times a second: full for 24 of their rounds,
    // with room for a loaded machine.
    std::thread::sleep(Duration::from_secs(6));
    filler.say("close");
    assert_eq!(filler.hear(), "closed");
    let closed_ms = now_ms();
    let stream = unread.read();
    let raised = |l: &Value| alert_in(l, "backlog_full", &ns.name);
    let lines = stream.collect_until(Duration::from_secs(60), |lines| lines.iter().any(raised));
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&Value::from("namespaces")),
        "the picture comes first"
    );
    let picture = &lines[0];
    let listeners = by_name(picture, &ns.name)["listeners"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(listeners >= 1000, "{listeners} listeners in the picture");
    let alert = lines
        .iter()
        .find(|l| raised(l))
        .unwrap_or_else(|| panic!("no backlog_full for {} in {lines:#?}", ns.name));
    let subject = alert["subject"].as_str().unwrap_or("");
    assert!(subject.contains("10000"), "names the listener: {subject}");
    let sampled_ms = alert["time_ms"].as_u64().unwrap_or(u64::MAX);
    assert!(
        sampled_ms <= closed_ms,
        "sampled while full, before anyone read the picture: {sampled_ms} > {closed_ms}"
    );
    let validator = validator();
    for line in &lines {
        assert_valid(&validator, line);
    }
    drop(stream);
    drop(filler);
}

/// `--all-namespaces --format json` on a pipe: `namespace_rows` lines that
/// match the contract, with each namespace's table age once it is read.
#[test]
fn namespace_rows_lines_match_the_contract() {
    if !can_make_namespaces() {
        return;
    }
    let leaky = PrivateNetns::create("all-rows").expect("ip netns add");
    let (leaker, ready) = leaky.spawn_python(CLOSE_WAIT_LEAK);
    assert_eq!(ready, "ready");
    let run = Stream::lines_of(&[
        "--all-namespaces",
        "--format",
        "json",
        "--interval",
        "300ms",
    ]);
    let ours = |line: &Value| {
        line["namespaces"].as_array().and_then(|rows| {
            rows.iter()
                .find(|row| row["name"] == leaky.name.as_str())
                .cloned()
        })
    };
    let lines = run.collect_until(Duration::from_secs(60), |lines| {
        lines
            .last()
            .and_then(ours)
            .is_some_and(|row| !row["last_table"].is_null())
    });
    let validator = validator();
    for line in &lines {
        assert_eq!(line["type"], "namespace_rows", "{line}");
        assert_valid(&validator, line);
    }
    let row = lines
        .last()
        .and_then(ours)
        .expect("a row for our namespace");
    assert_eq!(row["listener_count"], 1, "{row}");
    assert!(row["last_table"]["time_ms"].is_u64(), "{row}");
    drop(run);
    drop(leaker);
}

/// Sockets this process holds (the other tests here hold none of their
/// own: their children do; their pipes are not sockets).
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    })
}

/// The fleet's readers hold a netlink socket (and a /proc handle) per
/// namespace: namespaces created and deleted over and over must give every
/// one of them back.
#[test]
fn namespaces_created_and_deleted_leave_no_reader_behind() {
    use tcpwatch::collect::SourceChoice;
    use tcpwatch::collect::namespaces::discovery::discover;
    use tcpwatch::collect::namespaces::fleet::Fleet;
    use tcpwatch::model::Filter;
    use tcpwatch::model::judging::JudgingScope;

    if !can_make_namespaces() {
        return;
    }
    let mut fleet = Fleet::open(
        SourceChoice::Auto,
        Filter::default(),
        JudgingScope::default(),
    )
    .expect("the fleet opens");
    fleet.apply(&discover());
    let ours = |fleet: &Fleet, name: &str| {
        fleet
            .statuses()
            .iter()
            .any(|s| s.found.name.as_deref() == Some(name))
    };
    let mut baseline = None;
    for cycle in 0..5 {
        let netns = PrivateNetns::create(&format!("all-cycle{cycle}")).expect("ip netns add");
        fleet.apply(&discover());
        assert!(ours(&fleet, &netns.name), "cycle {cycle}: found");
        let mut sampled = 0;
        fleet
            .light_round(1_000, &mut |_| {
                sampled += 1;
                true
            })
            .expect("a light round");
        assert!(sampled >= 2, "cycle {cycle}: {sampled} light samples");
        let name = netns.name.clone();
        drop(netns);
        fleet.apply(&discover());
        assert!(!ours(&fleet, &name), "cycle {cycle}: gone");
        // Other runs' namespaces come and go too: compare our cycles only
        // after the first, and allow for theirs.
        let now = open_sockets();
        let readers = fleet.statuses().len();
        match baseline {
            None => baseline = Some((now, readers)),
            Some((before, readers_before)) => {
                let theirs = 2 * readers.saturating_sub(readers_before);
                assert!(
                    now <= before + theirs,
                    "cycle {cycle}: {now} sockets open, {before} after the first cycle \
                     ({readers} namespaces now, {readers_before} then)"
                );
            }
        }
    }
}
