//! `tcpwatch demo`: runs the write-up's experiments on loopback, step by
//! step, narrating each one, and shows tcpwatch's picture after each step.
//!
//! Owns: the script of steps and their narration. Must not: touch anything
//! outside loopback and its own sockets; it is bounded in time and closes
//! everything it opened when it ends.

pub(crate) mod controller;
pub mod lab;
#[cfg(test)]
pub(crate) mod lab_probe;
pub(crate) mod narrator;
#[cfg(test)]
mod screen_tests;
pub mod sights;

use std::time::Duration;

use lab::{Lab, LabPorts};

/// One step of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ListenOne,
    FillTheQueue,
    ShortConnections,
    NeverClose,
    ClosedPort,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::ListenOne,
        Step::FillTheQueue,
        Step::ShortConnections,
        Step::NeverClose,
        Step::ClosedPort,
    ];

    /// How long to watch after the step, so the kernel gets there.
    pub(crate) fn watch_for(self) -> Duration {
        match self {
            Step::ListenOne => Duration::from_millis(500),
            Step::FillTheQueue => Duration::from_millis(2500),
            Step::ShortConnections | Step::NeverClose | Step::ClosedPort => {
                Duration::from_millis(1000)
            }
        }
    }

    /// How long the dashboard demo stays on the step: long enough to read
    /// the narration and watch the kernel get there (the SYN retries need a
    /// few seconds). The whole demo stays under 40 s.
    pub(crate) fn on_screen_for(self) -> Duration {
        match self {
            Step::ListenOne => Duration::from_secs(4),
            Step::FillTheQueue => Duration::from_secs(7),
            Step::ShortConnections | Step::NeverClose | Step::ClosedPort => Duration::from_secs(5),
        }
        .max(self.watch_for())
    }

    /// What is about to happen, and what to look for on the screen.
    pub fn narration(self, ports: &LabPorts) -> String {
        format!(
            "{} {}",
            self.what_happens(ports),
            sights::look_for(self, ports)
        )
    }

    /// The narration of `demo --no-tui`: its "Look for" names what the
    /// picture printed after the step shows.
    pub fn narration_for_report(self, ports: &LabPorts) -> String {
        format!(
            "{} {}",
            self.what_happens(ports),
            sights::look_for_in_report(self, ports)
        )
    }

    /// What the step does and what the kernel does about it.
    fn what_happens(self, ports: &LabPorts) -> String {
        match self {
            Step::ListenOne => format!(
                "listen(1) on 127.0.0.1:{} and never call accept().",
                ports.full_queue
            ),
            Step::FillTheQueue => format!(
                "connect() ×5 to the listen(1) port {}: Linux queues backlog+1 = 2 finished handshakes and \
                 drops the other SYNs, so 3 clients stay in SYN_SENT and retry (every 1 s at first on Linux \
                 6.x, then 2, 4, 8… s).",
                ports.full_queue
            ),
            Step::ShortConnections => format!(
                "20 short connections to port {}: send, reply, and the client calls close() first. \
                 The side that closes first keeps the connection in TIME_WAIT for 60 s (2MSL).",
                ports.time_wait
            ),
            Step::NeverClose => format!(
                "3 clients of port {} hang up (close()), and the server never calls close(): \
                 CLOSE_WAIT is the server's leak, FIN_WAIT2 the clients waiting for its FIN.",
                ports.close_wait
            ),
            Step::ClosedPort => format!(
                "connect() to port {}, where nobody listens: the kernel answers the SYN with an RST, \
                 connect() fails with ECONNREFUSED and no socket remains (the header's OutRsts and the \
                 dashboard's alert log count RSTs host-wide).",
                ports.closed
            ),
        }
    }

    /// The port the step is about.
    pub fn port(self, ports: &LabPorts) -> u16 {
        sights::port_of(self, ports)
    }

    /// Runs the step's experiment; returns what happened, in one line.
    fn perform(self, lab: &mut Lab) -> std::io::Result<String> {
        Ok(match self {
            Step::ListenOne => {
                lab.listen_with_backlog_one()?;
                "listening".to_string()
            }
            Step::FillTheQueue => {
                lab.connect_clients_to_full_queue(5)?;
                "5 connect() calls issued (non-blocking)".to_string()
            }
            Step::ShortConnections if lab.time_wait_sockets_remain() => {
                "the 20 TIME_WAIT sockets of the first run are still there (60 s): not made again"
                    .to_string()
            }
            Step::ShortConnections => {
                lab.short_connections_closed_by_client(20)?;
                "20 connections opened and closed by the client".to_string()
            }
            Step::NeverClose => {
                lab.server_that_never_closes(3)?;
                "3 clients closed; the server keeps its sockets open".to_string()
            }
            Step::ClosedPort => {
                let error = lab.connect_to_closed_port();
                format!("connect() failed: {error}")
            }
        })
    }

    /// Takes the step's sockets away again (stepping back); returns what
    /// was done, in one line.
    fn undo(self, lab: &mut Lab) -> std::io::Result<String> {
        Ok(match self {
            Step::ListenOne => {
                lab.stop_listening()?;
                format!(
                    "undone: port {} closed and bound again, not listening",
                    lab.ports.full_queue
                )
            }
            Step::FillTheQueue => {
                let clients = lab.release_queued_clients()?;
                format!("undone: {clients} clients reset, the accept queue emptied")
            }
            Step::ShortConnections => {
                "the TIME_WAIT sockets stay: they are the kernel's until 60 s after the close"
                    .to_string()
            }
            Step::NeverClose => {
                let sockets = lab.close_the_leak()?;
                format!("undone: {sockets} sockets closed with an RST (SO_LINGER 0)")
            }
            Step::ClosedPort => "nothing to undo: the refused connect left no socket".to_string(),
        })
    }
}

/// Runs or undoes steps until the lab's sockets show the first
/// `steps_run` steps; returns what was done, in one line.
pub(crate) fn bring_lab_to(lab: &mut Lab, steps_run: usize) -> std::io::Result<String> {
    let mut done = Vec::new();
    let steps_run = steps_run.min(Step::ALL.len());
    while let Some(step) = Step::ALL
        .get(lab.steps_run)
        .filter(|_| lab.steps_run < steps_run)
    {
        done.push(step.perform(lab)?);
        lab.steps_run += 1;
    }
    while let Some(step) = lab
        .steps_run
        .checked_sub(1)
        .filter(|_| lab.steps_run > steps_run)
        .and_then(|last| Step::ALL.get(last))
    {
        done.push(step.undo(lab)?);
        lab.steps_run -= 1;
    }
    Ok(done.join("; "))
}

/// The opening words of the dashboard demo: the ports, and how to read the
/// screen.
pub(crate) fn introduction(ports: &LabPorts) -> String {
    format!(
        "{} experiments from the write-up, run for real on 127.0.0.1: port {} (listen(1), never accept()), \
         {} (short connections), {} (a server that never calls close()), {} (nobody listens). Each box counts the \
         sockets in that TCP state; a count that rises flashes, an arrow lights up when a connection takes it, and \
         the log below names the call or kernel event behind each change. Each step turns the diagram to its port. \
         p pauses the steps, n / b go to the next / previous one; arrows + ? explain a state; q quits.",
        Step::ALL.len(),
        ports.full_queue,
        ports.time_wait,
        ports.close_wait,
        ports.closed
    )
}

/// The closing words: what stays behind and why.
pub const EPILOGUE: &str = "demo done: every socket the demo opened is closed. The TIME_WAIT sockets belong to \
the kernel and expire on their own within 60 s; the clients stuck in SYN_SENT are gone with their sockets.";
