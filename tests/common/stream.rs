//! A running `tcpwatch --stream ARGS` (or any JSON-lines run) whose lines
//! arrive on a channel (or, `Unread`, are not read until asked);
//! the child (and only it) is killed, by its own handle, on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Stream {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Stream {
    pub fn start(args: &[&str]) -> Stream {
        let mut with_stream = vec!["--stream"];
        with_stream.extend_from_slice(args);
        Stream::lines_of(&with_stream)
    }

    /// `tcpwatch ARGS` on a pipe (JSON lines without `--stream`, e.g.
    /// `--format json`).
    pub fn lines_of(args: &[&str]) -> Stream {
        Stream::reading(spawn_piped(args))
    }

    fn reading(mut child: Child) -> Stream {
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line).expect("each line is JSON");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        Stream { child, lines }
    }

    /// Events collected until `done` says so or the deadline passes.
    pub fn collect_until(
        &self,
        deadline: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        let mut events = Vec::new();
        while start.elapsed() < deadline && !done(&events) {
            if let Ok(event) = self.lines.recv_timeout(Duration::from_millis(100)) {
                events.push(event);
            }
        }
        events
    }

    /// The first alert event of `kind` raised within the deadline.
    pub fn raised(&self, kind: &str, deadline: Duration) -> Option<Value> {
        let is_it = |e: &Value| e["type"] == "alert" && e["event"] == "raised" && e["kind"] == kind;
        self.collect_until(deadline, |events| events.iter().any(is_it))
            .into_iter()
            .find(is_it)
    }
}

fn spawn_piped(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpwatch")
}

/// `tcpwatch ARGS` on a pipe nobody reads yet: once the pipe holds 64 KiB,
/// its next write blocks until `read` is called. Killed (by its own
/// handle) on drop.
pub struct Unread(Option<Child>);

impl Unread {
    pub fn start(args: &[&str]) -> Unread {
        Unread(Some(spawn_piped(args)))
    }

    /// Starts reading its JSON lines.
    pub fn read(mut self) -> Stream {
        Stream::reading(self.0.take().expect("not read yet"))
    }
}

impl Drop for Unread {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
