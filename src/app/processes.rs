//! The per-process view: for each process, its sockets by state, its
//! listeners with their accept queues, and the bytes waiting in its
//! queues. Sockets no process owns are grouped by why (TIME_WAIT, orphans,
//! not accept()ed yet).
//!
//! Owns: `ProcessRow`, `ProcessColumn`, `ProcessSort`, building and sorting
//! the rows. Must not: draw or read the clock.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::scroll::Scroll;
use crate::model::{NoOwnerReason, SocketRecord, StateCounts, TcpState};
use crate::watch::FullTick;

/// One listener of a process: its address and queue against backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnedListener {
    pub local: SocketAddr,
    pub accept_queue: u32,
    pub backlog: Option<u32>,
}

impl OwnedListener {
    pub fn is_full(&self) -> bool {
        self.backlog.is_some_and(|b| self.accept_queue > b)
    }
}

/// One process (or one reason for having none) and its sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRow {
    /// `None` for sockets no process owns.
    pub pid: Option<u32>,
    /// The command, or why there is no process (`kernel-owned (TIME_WAIT)`).
    pub name: String,
    pub states: StateCounts,
    pub listeners: Vec<OwnedListener>,
    /// Unread bytes over its sockets (accept queues not included).
    pub recv_queue: u64,
    /// Unacknowledged bytes over its sockets.
    pub send_queue: u64,
}

impl ProcessRow {
    pub fn sockets(&self) -> u64 {
        self.states.total()
    }

    /// Connections waiting in its listeners' accept queues.
    pub fn waiting_for_accept(&self) -> u64 {
        self.listeners
            .iter()
            .map(|l| u64::from(l.accept_queue))
            .sum()
    }
}

/// The columns of the process table that can sort it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessColumn {
    Pid,
    Process,
    Sockets,
    Listening,
    Established,
    CloseWait,
    AcceptQueue,
    RecvQ,
    SendQ,
}

impl ProcessColumn {
    pub const ALL: [ProcessColumn; 9] = [
        ProcessColumn::Pid,
        ProcessColumn::Process,
        ProcessColumn::Sockets,
        ProcessColumn::Listening,
        ProcessColumn::Established,
        ProcessColumn::CloseWait,
        ProcessColumn::AcceptQueue,
        ProcessColumn::RecvQ,
        ProcessColumn::SendQ,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ProcessColumn::Pid => "PID",
            ProcessColumn::Process => "PROCESS",
            ProcessColumn::Sockets => "SOCKETS",
            ProcessColumn::Listening => "LISTEN",
            ProcessColumn::Established => "ESTAB",
            ProcessColumn::CloseWait => "CLOSE_WAIT",
            ProcessColumn::AcceptQueue => "ACCEPT-Q",
            ProcessColumn::RecvQ => "RECV-Q",
            ProcessColumn::SendQ => "SEND-Q",
        }
    }

    /// Names read best A to Z; counts largest first.
    fn descending_by_default(self) -> bool {
        !matches!(self, ProcessColumn::Pid | ProcessColumn::Process)
    }

    fn key(self, row: &ProcessRow) -> u64 {
        match self {
            ProcessColumn::Pid => row.pid.map_or(u64::MAX, u64::from),
            ProcessColumn::Process => 0,
            ProcessColumn::Sockets => row.sockets(),
            ProcessColumn::Listening => row.listeners.len() as u64,
            ProcessColumn::Established => row.states.get(TcpState::Established),
            ProcessColumn::CloseWait => row.states.get(TcpState::CloseWait),
            ProcessColumn::AcceptQueue => row.waiting_for_accept(),
            ProcessColumn::RecvQ => row.recv_queue,
            ProcessColumn::SendQ => row.send_queue,
        }
    }
}

/// The process table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessSort {
    pub column: ProcessColumn,
    pub reversed: bool,
}

impl Default for ProcessSort {
    fn default() -> Self {
        ProcessSort {
            column: ProcessColumn::Sockets,
            reversed: false,
        }
    }
}

impl ProcessSort {
    pub fn step(self, forward: bool) -> ProcessSort {
        let all = ProcessColumn::ALL;
        let i = all.iter().position(|c| *c == self.column).unwrap_or(0);
        let n = all.len();
        ProcessSort {
            column: all[if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }],
            reversed: false,
        }
    }

    pub fn reverse(self) -> ProcessSort {
        ProcessSort {
            reversed: !self.reversed,
            ..self
        }
    }

    pub fn descending(self) -> bool {
        self.column.descending_by_default() != self.reversed
    }

    pub fn label(self) -> String {
        format!(
            "{} {}",
            self.column.title().to_ascii_lowercase(),
            if self.descending() { "▼" } else { "▲" }
        )
    }

    pub fn sort(self, rows: &mut [ProcessRow]) {
        let descending = self.descending();
        rows.sort_by(|a, b| {
            let primary = match self.column {
                ProcessColumn::Process => a.name.cmp(&b.name),
                column => column.key(a).cmp(&column.key(b)),
            };
            let primary = if descending {
                primary.reverse()
            } else {
                primary
            };
            primary
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.pid.cmp(&b.pid))
        });
    }
}

/// The process view's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessesView {
    pub rows: Vec<ProcessRow>,
    pub scroll: Scroll,
    pub sort: ProcessSort,
    /// The process selected, kept across samples.
    pub selected_pid: Option<Option<u32>>,
    selected_name: Option<String>,
}

impl ProcessesView {
    /// Rebuilds the rows from a tick, keeping the selection on the same
    /// process.
    pub fn refresh(&mut self, tick: &FullTick, page: usize) {
        self.rows = process_rows(tick);
        self.sort.sort(&mut self.rows);
        let found = self.rows.iter().position(|r| {
            Some(r.pid) == self.selected_pid && Some(&r.name) == self.selected_name.as_ref()
        });
        let index = found.unwrap_or(self.scroll.selected);
        self.scroll.select(index, self.rows.len(), page);
        self.remember_selection();
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        self.scroll.move_by(delta, self.rows.len(), page);
        self.remember_selection();
    }

    pub fn select(&mut self, index: usize, page: usize) {
        self.scroll.select(index, self.rows.len(), page);
        self.remember_selection();
    }

    fn remember_selection(&mut self) {
        let row = self.rows.get(self.scroll.selected);
        self.selected_pid = row.map(|r| r.pid);
        self.selected_name = row.map(|r| r.name.clone());
    }

    pub fn selected(&self) -> Option<&ProcessRow> {
        self.rows.get(self.scroll.selected)
    }
}

/// The row name for sockets no process owns, by why.
fn no_process_label(reason: NoOwnerReason) -> &'static str {
    match reason {
        NoOwnerReason::TimeWait => "kernel: TIME_WAIT",
        NoOwnerReason::Orphan => "kernel: orphans (close()d)",
        NoOwnerReason::HalfOpen => "kernel: SYN queue",
        NoOwnerReason::NotAccepted => "not accept()ed yet",
        NoOwnerReason::NotPermitted => "another user's (run as root)",
        NoOwnerReason::Unknown => "process unknown",
    }
}

/// One row per process, and per reason sockets have none.
pub fn process_rows(tick: &FullTick) -> Vec<ProcessRow> {
    let snapshot = &tick.snapshot;
    let mut rows: HashMap<(Option<u32>, String), ProcessRow> = HashMap::new();
    fn row_for<'a>(
        rows: &'a mut HashMap<(Option<u32>, String), ProcessRow>,
        snapshot: &crate::model::Snapshot,
        record: &SocketRecord,
    ) -> &'a mut ProcessRow {
        let (pid, name) = match snapshot.owner_of(record) {
            Ok(process) => (Some(process.pid), process.name.clone()),
            Err(reason) => (None, no_process_label(reason).to_string()),
        };
        rows.entry((pid, name.clone()))
            .or_insert_with(|| ProcessRow {
                pid,
                name,
                states: StateCounts::default(),
                listeners: Vec::new(),
                recv_queue: 0,
                send_queue: 0,
            })
    }
    for listener in &snapshot.listeners {
        let row = row_for(&mut rows, snapshot, listener);
        row.states.add(TcpState::Listen, 1);
        row.listeners.push(OwnedListener {
            local: listener.local,
            accept_queue: listener.recv_queue,
            backlog: listener.backlog(),
        });
    }
    for socket in &snapshot.sockets {
        let row = row_for(&mut rows, snapshot, socket);
        row.states.add(socket.state, 1);
        row.recv_queue += u64::from(socket.recv_queue);
        row.send_queue += u64::from(socket.send_queue);
    }
    rows.into_values()
        .map(|mut row| {
            row.listeners.sort_by_key(|l| (l.local.port(), l.local));
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::scenarios::busy_web_host;
    use crate::watch::Watch;

    fn tick() -> FullTick {
        Watch::new(crate::alert::Thresholds::default())
            .judge(crate::model::Sampled::from_snapshot(busy_web_host(0, 1)))
    }

    #[test]
    fn each_process_gets_its_sockets_listeners_and_queues() {
        let rows = process_rows(&tick());
        let gunicorn = rows
            .iter()
            .find(|r| r.pid == Some(3101))
            .expect("gunicorn 3101");
        assert_eq!(gunicorn.listeners.len(), 1);
        assert_eq!(gunicorn.states.get(TcpState::Established), 1);
        assert_eq!(gunicorn.recv_queue, 6_291_456);
        let orphans = rows
            .iter()
            .find(|r| r.name.starts_with("kernel: orphans"))
            .expect("orphans");
        assert_eq!(orphans.send_queue, 3_782_145);
        let mut sorted = rows.clone();
        ProcessSort {
            column: ProcessColumn::SendQ,
            reversed: false,
        }
        .sort(&mut sorted);
        assert_eq!(sorted[0].pid, Some(4410), "the uploader has 4 MB unsent");
        ProcessSort {
            column: ProcessColumn::SendQ,
            reversed: true,
        }
        .sort(&mut sorted);
        assert_eq!(sorted.last().map(|r| r.pid), Some(Some(4410)));
    }
}
