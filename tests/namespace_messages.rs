//! Messages about namespaces and permissions name the real cause: hidepid
//! is not "no process", a refused namespace is not a refused sock_diag,
//! `ip netns exec NAME` is not "host".
//!
//! Needs root (to create namespaces, mount a hidepid /proc and drop to
//! nobody), util-linux and iproute2; fails in CI (`CI=true`) without them.

mod common;

use std::process::{Command, Output, Stdio};

use common::can_run;
use common::netns::PrivateNetns;

const NOBODY: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];

fn privileged() -> bool {
    let tools = ["setpriv", "unshare", "ip"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    can_run(common::is_root() && tools, "root, setpriv, unshare and ip")
}

fn as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(NOBODY)
        .arg(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(args)
        .output()
        .expect("setpriv runs tcpwatch")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A process of ours that outlives the test's tcpwatch runs.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn start() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("60")
                .spawn()
                .expect("sleep starts"),
        )
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn hidepid_is_not_no_such_process() {
    if !privileged() {
        return;
    }
    // A private mount namespace with its own /proc, mounted hidepid.
    let script = format!(
        "mount -t proc -o hidepid=invisible proc /proc && exec setpriv {} {} --once --pid 1",
        NOBODY.join(" "),
        env!("CARGO_BIN_EXE_tcpwatch")
    );
    let output = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("process 1 exists but /proc hides it (mounted with hidepid)"),
        "{said}"
    );
    assert!(!said.contains("no process with pid"), "{said}");
}

#[test]
fn netlink_as_nobody_blames_the_namespace_not_sock_diag() {
    if !privileged() {
        return;
    }
    let sleeper = Sleeper::start();
    let pid = sleeper.0.id().to_string();
    let output = as_nobody(&["--once", "--source", "netlink", "--pid", &pid]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "not permitted to enter the network namespace of pid {pid}"
        )),
        "{said}"
    );
    assert!(!said.contains("sock_diag"), "{said}");

    let output = as_nobody(&["--once", "--pid", &pid]);
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains(&format!("note: not root (/proc/{pid}/ns/net refused:")),
        "the note says what was refused: {said}"
    );
}

#[test]
fn ip_netns_exec_names_the_namespace() {
    if !privileged() {
        return;
    }
    let netns = PrivateNetns::create("named").expect("ip netns add");
    let output = Command::new("ip")
        .args(["netns", "exec", &netns.name])
        .arg(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(["--once", "--format", "json", "--port", "1"])
        .output()
        .expect("ip netns exec runs tcpwatch");
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(report["namespace"], format!("netns {}", netns.name));
}
