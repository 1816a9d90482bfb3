//! Moving around the dashboard: the rows its panels list (ports after the
//! live filter and sort, listeners), which port is selected (kept by port
//! across re-sorts), which panel has focus, how far the listeners and the
//! alerts are scrolled, the alert opened in full, and pause.
//!
//! Owns: `Navigation`, `Focus`. Must not: keep samples (the feed does),
//! know about the other views, draw, do I/O or read the clock.

use std::collections::HashSet;

use crate::model::{PortStates, SocketRecord};
use crate::watch::FullTick;

use super::alerts::{AlertBoard, AlertView};
use super::filter::LiveFilter;
use super::rows::{self, ListenerRow};
use super::scroll::{Scroll, offset_by};
use super::sort::SortMode;

/// The panel that arrow keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Ports,
    Listeners,
    TimeWait,
    Alerts,
}

impl Focus {
    const ORDER: [Focus; 4] = [
        Focus::Ports,
        Focus::Listeners,
        Focus::TimeWait,
        Focus::Alerts,
    ];

    pub(crate) fn step(self, forward: bool) -> Focus {
        let i = Focus::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Focus::ORDER.len();
        Focus::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// The dashboard's selection, focus, scroll, filter and pause.
#[derive(Debug, Clone, Default)]
pub(crate) struct Navigation {
    pub(super) port_rows: Vec<PortStates>,
    pub(super) listener_rows: Vec<ListenerRow>,
    pub(super) sort: SortMode,
    pub(super) filter: LiveFilter,
    pub(super) selected_port: Option<u16>,
    selected_index: usize,
    pub(super) focus: Focus,
    pub(super) listeners_offset: usize,
    /// The selected item of the alerts panel: active alerts, then the log.
    alert_selected: usize,
    /// The alert whose full text is open (Enter on the alerts panel).
    pub(super) alert_detail: Option<AlertView>,
    pub(super) paused: bool,
}

impl Navigation {
    /// Rebuilds the port rows from `tick` (filter, sort), keeps the
    /// selection, then the listener rows.
    pub(crate) fn rebuild_rows(&mut self, tick: &FullTick, live: Option<(u64, &[SocketRecord])>) {
        self.port_rows = rows::port_rows(tick, self.filter.query(), self.sort);
        self.reconcile_port_selection();
        self.rebuild_listener_rows(tick, live);
    }

    /// The listener rows, limited to the listed ports while filtering.
    pub(crate) fn rebuild_listener_rows(
        &mut self,
        tick: &FullTick,
        live: Option<(u64, &[SocketRecord])>,
    ) {
        let ports: Option<HashSet<u16>> = self
            .filter
            .is_active()
            .then(|| self.port_rows.iter().map(|r| r.port).collect());
        self.listener_rows = rows::listener_rows(tick, live, ports.as_ref());
        self.listeners_offset = self
            .listeners_offset
            .min(self.listener_rows.len().saturating_sub(1));
    }

    /// Keeps the selected port if it is still listed; otherwise selects the
    /// row now at the same position.
    pub(crate) fn reconcile_port_selection(&mut self) {
        if let Some(index) = self.selected_row_index() {
            self.selected_index = index;
            return;
        }
        if self.port_rows.is_empty() {
            return;
        }
        self.selected_index = self.selected_index.min(self.port_rows.len() - 1);
        self.selected_port = Some(self.port_rows[self.selected_index].port);
    }

    /// Selects `port`'s row (the demo's step); a port without a row yet
    /// stays wanted until the next sample, which keeps it if the row
    /// appeared.
    pub(crate) fn select_port(&mut self, port: u16) {
        self.selected_port = Some(port);
        if let Some(index) = self.selected_row_index() {
            self.selected_index = index;
        }
    }

    pub(crate) fn selected_row_index(&self) -> Option<usize> {
        let port = self.selected_port?;
        self.port_rows.iter().position(|r| r.port == port)
    }

    /// The listener rows that are sockets (not SO_REUSEPORT group headings).
    pub(crate) fn listener_sockets(&self) -> impl Iterator<Item = &ListenerRow> {
        self.listener_rows.iter().filter(|l| l.is_socket())
    }

    pub(crate) fn port_has_full_listener(&self, port: u16) -> bool {
        self.listener_sockets()
            .any(|l| l.summary.port() == port && l.summary.is_full() == Some(true))
    }

    /// The selected item of the alerts panel, within the board's items.
    pub(crate) fn alert_selected(&self, alerts: &AlertBoard) -> usize {
        self.alert_selected
            .min(alerts.item_count().saturating_sub(1))
    }

    pub(crate) fn select_alert(&mut self, index: usize, alerts: &AlertBoard) {
        self.alert_selected = index.min(alerts.item_count().saturating_sub(1));
    }

    /// Opens the selected alert in full.
    pub(crate) fn open_alert(&mut self, alerts: &AlertBoard) {
        self.alert_detail = alerts.item(self.alert_selected(alerts)).cloned();
    }

    /// A click on a row of the ports table.
    pub(crate) fn select_port_row(&mut self, index: usize) {
        self.focus = Focus::Ports;
        if let Some(row) = self.port_rows.get(index) {
            self.selected_index = index;
            self.selected_port = Some(row.port);
        }
    }

    /// Moves within the focused panel by `delta` rows.
    pub(crate) fn move_by(&mut self, delta: isize, alerts: &AlertBoard) {
        match self.focus {
            Focus::Ports | Focus::TimeWait => {
                if self.port_rows.is_empty() {
                    return;
                }
                let mut scroll = Scroll {
                    selected: self.selected_row_index().unwrap_or(0),
                    offset: 0,
                };
                scroll.move_by(delta, self.port_rows.len(), 1);
                self.selected_index = scroll.selected;
                self.selected_port = self.port_rows.get(scroll.selected).map(|r| r.port);
            }
            Focus::Listeners => {
                self.listeners_offset =
                    offset_by(self.listeners_offset, delta, self.listener_rows.len());
            }
            Focus::Alerts => {
                self.alert_selected =
                    offset_by(self.alert_selected(alerts), delta, alerts.item_count());
            }
        }
    }
}
