//! A watched target that vanishes is noticed, said once, and ends the line
//! modes with a clear message and a non-zero status: a process started with
//! `unshare -n` that exits (as root the sampling thread's setns keeps its
//! namespace alive, so nothing fails by itself), an `ip netns` deleted
//! while watched, and, without root, a process whose /proc/PID/net
//! disappears. A recycled pid never switches namespaces: the pid is pinned
//! by its /proc directory handle.
//!
//! Needs root, util-linux (unshare, setpriv) and iproute2; fails in CI
//! (`CI=true`) when they are missing, skips elsewhere.

mod common;

use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::collect::{CollectError, SnapshotSource, SourceChoice};
use tcpwatch::model::{Filter, JudgingScope};

use common::can_run;
use common::netns::PrivateNetns;

const DEADLINE: Duration = Duration::from_secs(10);

/// A child we started; killed by its pid and reaped on drop.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sleep` in a network namespace of its own.
fn sleeper_in_private_netns() -> Started {
    let child = Command::new("unshare")
        .args(["-n", "sleep", "60"])
        .stdout(Stdio::null())
        .spawn()
        .expect("unshare -n sleep starts");
    // unshare execs sleep: same pid; wait until it left our namespace.
    let pid = child.id();
    let ours = std::fs::read_link("/proc/self/ns/net").expect("our netns");
    let started = Instant::now();
    while std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .ok()
        .as_ref()
        == Some(&ours)
    {
        assert!(started.elapsed() < DEADLINE, "unshare never left our netns");
        thread::sleep(Duration::from_millis(10));
    }
    Started(child)
}

fn root_with(tools: &[&str]) -> bool {
    let tools_present = tools.iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    can_run(
        common::is_root() && tools_present,
        &format!("root and {}", tools.join(", ")),
    )
}

/// Opens a sampler on its own thread (it may enter a namespace), samples
/// once, runs `vanish`, then samples until an error comes.
fn sample_until_error(target: NetnsTarget, vanish: impl FnOnce()) -> CollectError {
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let sampler = thread::spawn(move || {
        let mut sampler = Sampler::open(SamplerConfig {
            source: SourceChoice::Auto,
            target,
            filter: Filter::default(),
            scope: JudgingScope::default(),
        })
        .expect("the target can be watched");
        sampler.sample(0).expect("a first sample while it exists");
        ready_tx.send(()).expect("ready");
        go_rx.recv().expect("go");
        let started = Instant::now();
        loop {
            match sampler.sample(0) {
                Err(error) => return error,
                Ok(_) if started.elapsed() > DEADLINE => {
                    panic!("the vanished target was still sampled after {DEADLINE:?}")
                }
                Ok(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    ready_rx.recv().expect("sampler ready");
    vanish();
    go_tx.send(()).expect("go");
    sampler.join().expect("sampler thread")
}

#[test]
fn a_private_netns_process_that_exits_is_gone_for_the_sampler() {
    if !root_with(&["unshare"]) {
        return;
    }
    let mut sleeper = sleeper_in_private_netns();
    let pid = sleeper.0.id();
    let error = sample_until_error(NetnsTarget::Pid(pid), || {
        sleeper.0.kill().expect("kill our sleeper");
        sleeper.0.wait().expect("reap it");
    });
    assert!(error.is_final(), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "pid {pid} is gone: the process has exited; nothing left to watch (start tcpwatch again on the new target)"
        )
    );
}

#[test]
fn a_deleted_ip_netns_is_gone_for_the_sampler() {
    if !root_with(&["ip"]) {
        return;
    }
    let netns = PrivateNetns::create("gone").expect("ip netns add");
    let name = netns.name.clone();
    let error = sample_until_error(NetnsTarget::Named(name.clone()), || drop(netns));
    assert!(error.is_final(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("netns {name} is gone: it was deleted")),
        "{error}"
    );
}

#[test]
fn a_netns_deleted_and_added_again_under_the_same_name_is_not_followed() {
    if !root_with(&["ip"]) {
        return;
    }
    let netns = PrivateNetns::create("readd").expect("ip netns add");
    let name = netns.name.clone();
    let mut again = None;
    let error = sample_until_error(NetnsTarget::Named(name.clone()), || {
        std::mem::forget(netns);
        let del = Command::new("ip").args(["netns", "del", &name]).status();
        assert!(del.is_ok_and(|s| s.success()));
        again = PrivateNetns::create_named(&name);
    });
    drop(again);
    assert!(
        error
            .to_string()
            .contains("now refers to another namespace"),
        "{error}"
    );
}

/// Runs tcpwatch with `args` (after `prefix`, e.g. setpriv), calls
/// `vanish` once it has printed its first line, and returns its exit code
/// and stderr; fails if it does not exit within DEADLINE.
fn line_mode_until_exit(prefix: &[&str], args: &[&str], vanish: impl FnOnce()) -> (i32, String) {
    let binary = env!("CARGO_BIN_EXE_tcpwatch");
    let mut command = match prefix.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpwatch starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let errors = thread::spawn(move || {
        use std::io::Read;
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let first = line_rx.recv_timeout(DEADLINE);
    let mut child = Started(child);
    assert!(first.is_ok(), "tcpwatch {args:?} printed nothing");
    vanish();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "tcpwatch {args:?} still runs {DEADLINE:?} after its target vanished"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    let stderr = errors.join().expect("stderr reader");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn stream_exits_once_with_a_clear_message_when_the_pid_exits() {
    if !root_with(&["unshare"]) {
        return;
    }
    let mut sleeper = sleeper_in_private_netns();
    let pid = sleeper.0.id();
    // --stream's first line is the snapshot; then the sleeper exits.
    let (code, stderr) = line_mode_until_exit(
        &[],
        &["--pid", &pid.to_string(), "--stream", "--interval", "200ms"],
        || {
            sleeper.0.kill().expect("kill our sleeper");
            sleeper.0.wait().expect("reap it");
        },
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.matches("is gone").count(), 1, "said once: {stderr}");
    assert!(
        stderr.contains(&format!(
            "tcpwatch: pid {pid} is gone: the process has exited"
        )),
        "{stderr}"
    );
}

#[test]
fn lines_exit_when_the_named_netns_is_deleted() {
    if !root_with(&["ip"]) {
        return;
    }
    let netns = PrivateNetns::create("linesgone").expect("ip netns add");
    let name = netns.name.clone();
    let (code, stderr) = line_mode_until_exit(
        &[],
        &["--netns", &name, "--format", "json", "--interval", "200ms"],
        || drop(netns),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "tcpwatch: netns {name} is gone: it was deleted (ip netns del)"
        )),
        "{stderr}"
    );
}

#[test]
fn without_root_a_pid_that_exits_ends_the_run_instead_of_failing_forever() {
    if !root_with(&["setpriv"]) {
        return;
    }
    let mut sleeper = Started(
        Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("sleep starts"),
    );
    let pid = sleeper.0.id();
    let (code, stderr) = line_mode_until_exit(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
        &[
            "--pid",
            &pid.to_string(),
            "--format",
            "json",
            "--interval",
            "200ms",
        ],
        || {
            sleeper.0.kill().expect("kill our sleeper");
            sleeper.0.wait().expect("reap it");
        },
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("pid {pid} is gone: the process has exited")),
        "{stderr}"
    );
    assert!(!stderr.contains("sample failed"), "said once: {stderr}");
}

#[test]
fn the_dashboard_shows_that_the_target_is_gone() {
    if !root_with(&["unshare"]) {
        return;
    }
    let mut sleeper = sleeper_in_private_netns();
    let pid = sleeper.0.id();
    let mut run =
        common::pty::PtyRun::start(&["--pid", &pid.to_string(), "--interval", "200ms"], 120, 40);
    let (drawn, screen) = run.wait_for(DEADLINE, |s| s.contains(&format!("pid {pid}")));
    assert!(drawn, "{screen}");
    sleeper.0.kill().expect("kill our sleeper");
    sleeper.0.wait().expect("reap it");
    let (shown, screen) = run.wait_for(DEADLINE, |s| s.contains("is gone"));
    run.send(b"q");
    let _ = run.finish(DEADLINE);
    assert!(shown, "the dashboard says the target is gone:\n{screen}");
}
