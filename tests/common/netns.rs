//! A private network namespace for one test, and python experiments run
//! inside it. Needs root and iproute2; `PrivateNetns::create` returns `None`
//! otherwise so the test can say why it skipped. Everything is removed on
//! drop: the children we started (by pid) and the namespace.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const SKIP_REASON: &str =
    "skipped: needs root and iproute2 (ip netns) to create a private network namespace";

pub struct PrivateNetns {
    pub name: String,
}

impl PrivateNetns {
    pub fn create(suffix: &str) -> Option<PrivateNetns> {
        PrivateNetns::create_named(&format!("tcpwatch-t{}-{suffix}", std::process::id()))
    }

    /// `ip netns add NAME` with lo up; `None` without root or iproute2.
    pub fn create_named(name: &str) -> Option<PrivateNetns> {
        if !super::is_root() {
            return None;
        }
        let name = name.to_string();
        let added = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .ok()?;
        if !added.success() {
            return None;
        }
        let netns = PrivateNetns { name };
        netns.exec(&["ip", "link", "set", "lo", "up"]);
        Some(netns)
    }

    /// Runs a command inside and asserts it succeeded.
    pub fn exec(&self, command: &[&str]) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(command)
            .status()
            .expect("ip netns exec runs");
        assert!(
            status.success(),
            "ip netns exec {}: {status}",
            command.join(" ")
        );
    }

    /// Sets a sysctl inside the namespace only.
    pub fn sysctl(&self, path: &str, value: &str) {
        self.exec(&["sh", "-c", &format!("echo '{value}' > /proc/sys/{path}")]);
    }

    /// Starts `python3 -c script` inside and waits for its first line.
    pub fn spawn_python(&self, script: &str) -> (Experiment, String) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("stdout");
        let experiment = Experiment(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        (experiment, line.trim().to_string())
    }
}

impl Drop for PrivateNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A child process we started; killed by its own pid on drop.
pub struct Experiment(pub Child);

impl Experiment {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Experiment {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
