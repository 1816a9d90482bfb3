//! A populated benchmark namespace: the namespace, the holder processes
//! that keep its sockets open, and the phases that build them.
//!
//! Owns: spawning holders (from the main thread, so their parent-death
//! signal fires only when the orchestrator exits), talking to them, and
//! killing them, by pid, when dropped. Must not: measure anything.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use super::ROLE_ENV;
use super::cleanup;
use super::holder::{NETNS_ENV, PARENT_ENV};
use super::namespace::BenchNamespace;
use super::plan::{HolderPlan, Plan};

struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The namespace and its holders. Field order matters: holders are killed
/// (in `Drop`) before the namespace is deleted.
pub struct Population {
    holders: Vec<Holder>,
    lines: Receiver<(usize, String)>,
    pub namespace: BenchNamespace,
    pub plan: Plan,
}

impl Population {
    /// Creates the namespace and starts the holders; they open their
    /// listeners and held sockets. Returns once all say `ready`.
    pub fn build_held(namespace: BenchNamespace, plan: Plan) -> Result<Population, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let (sender, lines) = channel();
        let mut population = Population {
            holders: Vec::new(),
            lines,
            namespace,
            plan,
        };
        for holder_plan in population.plan.holders.clone() {
            let mut child = Command::new(&exe)
                .env(ROLE_ENV, "holder")
                .env(HolderPlan::ENV, holder_plan.to_env())
                .env(PARENT_ENV, std::process::id().to_string())
                .env(NETNS_ENV, population.namespace.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("spawning holder: {e}"))?;
            cleanup::register_pid(child.id());
            let stdout = child.stdout.take();
            let stdin = child.stdin.take();
            population.holders.push(Holder { child, stdin });
            let sender = sender.clone();
            let index = holder_plan.index;
            if let Some(stdout) = stdout {
                std::thread::spawn(move || {
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if sender.send((index, line)).is_err() {
                            break;
                        }
                    }
                    let _ = sender.send((index, "eof".to_string()));
                });
            }
        }
        let timeout = build_timeout(population.plan.size);
        population.await_all("ready", timeout)?;
        Ok(population)
    }

    /// Asks every holder to build its TIME_WAIT share, in parallel; returns
    /// when all are done. TIME_WAIT lasts 60 s from here.
    pub fn build_time_wait(&mut self) -> Result<(), String> {
        for holder in &mut self.holders {
            let stdin = holder
                .stdin
                .as_mut()
                .ok_or_else(|| "holder stdin closed".to_string())?;
            writeln!(stdin, "tw").map_err(|e| format!("holder stdin: {e}"))?;
            stdin.flush().map_err(|e| format!("holder stdin: {e}"))?;
        }
        self.await_all("tw", build_timeout(self.plan.size))
    }

    pub fn holder_count(&self) -> usize {
        self.holders.len()
    }

    /// Waits until every holder printed a line starting with `word`.
    fn await_all(&self, word: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut pending = self.holders.len();
        while pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((_, line)) if line.split_whitespace().next() == Some(word) => pending -= 1,
                Ok((index, line)) => {
                    return Err(format!("holder {index}: {line} (waiting for {word})"));
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{pending} holders not {word} after {} s",
                        timeout.as_secs()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("holders disconnected".to_string());
                }
            }
        }
        Ok(())
    }
}

/// Generous: about 10x the build rate seen on a loaded 2-core machine.
fn build_timeout(size: usize) -> Duration {
    Duration::from_secs(60 + (size / 2_000) as u64)
}

impl Drop for Population {
    fn drop(&mut self) {
        for holder in &mut self.holders {
            drop(holder.stdin.take());
            let _ = holder.child.kill();
        }
        for holder in &mut self.holders {
            let _ = holder.child.wait();
            cleanup::unregister_pid(holder.child.id());
        }
    }
}
