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
