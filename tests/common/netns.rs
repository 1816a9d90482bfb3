//! A private network namespace for one test, and python experiments run
//! inside it (or in an `unshare -n` process of its own), with the scripts
//! the namespace tests share. Needs root and iproute2;
//! `PrivateNetns::create` returns `None` otherwise so the test can say why
//! it skipped. Everything is removed on drop: the children we started (by
//! pid) and the namespace.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// listen(1) never accept()ed, 5 non-blocking clients: the accept queue
/// holds 2 (`2/1 FULL`); prints "ready", then waits.
pub const FULL_LISTENER: &str = r#"
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

/// A server on :10002 that never close()s what it accepted: the clients
/// close, and 5 sockets stay in CLOSE_WAIT; prints "ready", then waits.
pub const CLOSE_WAIT_LEAK: &str = r#"
import socket, time
server = socket.socket(); server.bind(("127.0.0.1", 10002)); server.listen(16)
held = []
for _ in range(5):
    c = socket.create_connection(("127.0.0.1", 10002))
    s, _ = server.accept()
    held.append(s)
    c.close()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(120)
"#;

/// Whether `tool` is on the PATH.
pub fn has_tool(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this run can make namespaces (root, ip, unshare, python3);
/// under CI=true it must.
pub fn can_make_namespaces() -> bool {
    let has_tools = ["ip", "unshare", "python3"].iter().all(|t| has_tool(t));
    super::can_run(
        super::is_root() && has_tools,
        "root, iproute2 (ip), unshare and python3",
    )
}

/// A process in a network namespace of its own (`unshare -n`), loopback up,
/// running `python3 -c script`; waits for its first line. `unshare` and `sh`
/// exec, so the child's pid is the namespace's only process.
pub fn unshared_python(script: &str) -> (Experiment, String) {
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
    (experiment, first_line(stdout))
}

fn first_line(stdout: impl std::io::Read) -> String {
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    line.trim().to_string()
}

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
        (experiment, first_line(stdout))
    }
}

/// A python experiment told what to do next, line by line: it hears on
/// its stdin and answers on its stdout.
pub struct Talking {
    pub experiment: Experiment,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Talking {
    pub fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("the experiment hears");
        self.stdin.flush().expect("the experiment hears");
    }

    /// Its next line (it answers at once: every script here does).
    pub fn hear(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the experiment answers");
        line.trim().to_string()
    }
}

impl PrivateNetns {
    /// Starts `python3 -c script` inside, to be talked to.
    pub fn spawn_talking_python(&self, script: &str) -> Talking {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Talking {
            experiment: Experiment(child),
            stdin,
            stdout,
        }
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
