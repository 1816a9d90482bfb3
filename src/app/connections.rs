//! The connection view: a list of connections — one port's (the
//! drill-down), every watched one, or one process's — sorted by a column,
//! scrolled, with the selection kept on its socket across samples.
//!
//! Owns: `ConnectionsView`, `ConnectionScope`, building and sorting its
//! rows. Must not: know about the dashboard's panels, draw, do I/O or read
//! the clock.

use crate::model::SocketKey;
use crate::model::seen::FirstSeen;
use crate::watch::FullTick;

use super::filter::FilterQuery;
use super::rows::{self, ConnectionRef};
use super::scroll::Scroll;
use super::socket_sort::SocketSort;

/// Rows of the screen the connection view spends on other things (header 2,
/// footer 1, table borders 2, column titles 1): the rest is one page.
pub(crate) const CONNECTIONS_CHROME_ROWS: u16 = 6;

/// Which connections a connection view lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionScope {
    /// The drill-down: the connections counted under one port.
    Port(u16),
    /// Every watched connection, across ports.
    All,
    /// The sockets of one process (from the process view).
    Process(u32),
}

/// A list of connections: one port's (the drill-down) or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionsView {
    pub scope: ConnectionScope,
    pub rows: Vec<ConnectionRef>,
    pub scroll: Scroll,
    pub sort: SocketSort,
    selected_key: Option<SocketKey>,
}

impl ConnectionsView {
    pub(crate) fn new(scope: ConnectionScope) -> ConnectionsView {
        ConnectionsView {
            scope,
            rows: Vec::new(),
            scroll: Scroll::default(),
            sort: SocketSort::default(),
            selected_key: None,
        }
    }

    /// The port of the drill-down, `None` for the list of all connections.
    pub fn port(&self) -> Option<u16> {
        match self.scope {
            ConnectionScope::Port(port) => Some(port),
            ConnectionScope::All | ConnectionScope::Process(_) => None,
        }
    }

    /// Lists the connections of `tick` in scope that pass `query`, sorted,
    /// with the selection kept on the same socket when it is still there.
    pub(crate) fn rebuild(
        &mut self,
        tick: &FullTick,
        query: &FilterQuery,
        seen: &FirstSeen,
        now_ms: u64,
        page: usize,
    ) {
        self.rows = match self.scope {
            ConnectionScope::Process(pid) => rows::process_connection_rows(tick, pid),
            _ => rows::connection_rows(tick, self.port(), query),
        };
        let now_ms = now_ms.max(tick.snapshot.taken_at_ms);
        let listeners = self
            .rows
            .iter()
            .take_while(|r| matches!(r, ConnectionRef::Listener(_)))
            .count();
        if let Some(sockets) = self.rows.get_mut(listeners..) {
            self.sort.sort(sockets, tick, seen, now_ms);
        }
        let found = self.selected_key.and_then(|key| {
            self.rows
                .iter()
                .position(|r| r.record(tick).is_some_and(|s| s.key() == key))
        });
        let index = found.unwrap_or(self.scroll.selected);
        self.select(index, Some(tick), page);
    }

    /// Selects row `index` (a click) and remembers its socket.
    pub(crate) fn select(&mut self, index: usize, tick: Option<&FullTick>, page: usize) {
        self.scroll.select(index, self.rows.len(), page);
        self.remember_selection(tick);
    }

    /// Moves the selection by `delta` rows.
    pub(crate) fn move_by(&mut self, delta: isize, tick: Option<&FullTick>, page: usize) {
        self.scroll.move_by(delta, self.rows.len(), page);
        self.remember_selection(tick);
    }

    /// Keeps the selection on the page after the page changed size.
    pub(crate) fn keep_visible(&mut self, page: usize) {
        self.scroll.keep_visible(self.rows.len(), page);
    }

    fn remember_selection(&mut self, tick: Option<&FullTick>) {
        self.selected_key = tick.and_then(|tick| {
            self.rows
                .get(self.scroll.selected)
                .and_then(|r| r.record(tick))
                .map(|s| s.key())
        });
    }
}
