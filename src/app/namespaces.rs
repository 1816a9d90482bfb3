//! The Namespaces panel's state (`--all-namespaces` dashboard): the latest
//! row of every namespace, worst first, the selection (kept by namespace
//! across re-sorts), what appeared or vanished lately, and tcpwatch's own
//! cost.
//!
//! Owns: `NamespacesList` and what its keys (in the key table) do. Must not: do I/O, read the clock or
//! draw.

use crossterm::event::KeyEvent;

use super::SelfCost;
use super::keymap::{Command, Screen};
use crate::collect::namespaces::discovery::NamespaceId;
use crate::collect::namespaces::fleet::NamespaceStatus;
use crate::fleet::rows::NamespaceRow;

/// Recent appearances and disappearances kept for the panel.
const RECENT_CHANGES: usize = 4;

/// What a key asks of the all-namespaces dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListAction {
    None,
    /// Open this namespace's usual dashboard.
    Open(NamespaceId),
    Quit,
}

#[derive(Debug, Clone)]
pub struct NamespacesList {
    pub host: String,
    pub color: bool,
    /// What is sampled how often, and the CPU budget, for the header.
    pub cadence: String,
    rows: Vec<NamespaceRow>,
    selected: Option<NamespaceId>,
    at_ms: Option<u64>,
    notes: Vec<String>,
    recent: Vec<(u64, String)>,
    self_cost: Option<SelfCost>,
    viewport_rows: usize,
}

impl NamespacesList {
    pub fn new(host: String, color: bool, cadence: String) -> NamespacesList {
        NamespacesList {
            host,
            color,
            cadence,
            rows: Vec::new(),
            selected: None,
            at_ms: None,
            notes: Vec::new(),
            recent: Vec::new(),
            self_cost: None,
            viewport_rows: 20,
        }
    }

    /// A new set of rows (already worst first).
    pub fn set_rows(&mut self, at_ms: u64, rows: Vec<NamespaceRow>) {
        self.at_ms = Some(at_ms);
        self.rows = rows;
        if self.selected_index().is_none() {
            self.selected = self.rows.first().map(NamespaceRow::id);
        }
    }

    /// Discovery's news: kept as a short log for the panel.
    pub fn namespaces_changed(
        &mut self,
        at_ms: u64,
        appeared: &[NamespaceStatus],
        vanished: &[NamespaceStatus],
        notes: Vec<String>,
        first: bool,
    ) {
        self.notes = notes;
        let news = vanished
            .iter()
            .map(|s| format!("vanished: {}", s.found.label()))
            .chain(
                appeared
                    .iter()
                    .filter(|_| !first)
                    .map(|s| format!("appeared: {}", s.found.label())),
            );
        for line in news {
            self.recent.push((at_ms, line));
        }
        let excess = self.recent.len().saturating_sub(RECENT_CHANGES);
        self.recent.drain(..excess);
        let gone: Vec<NamespaceId> = vanished.iter().map(|s| s.found.id).collect();
        self.rows.retain(|row| !gone.contains(&row.id()));
        if self.selected_index().is_none() {
            self.selected = self.rows.first().map(NamespaceRow::id);
        }
    }

    pub fn set_self_cost(&mut self, cost: SelfCost) {
        self.self_cost = Some(cost);
    }

    pub fn set_viewport_rows(&mut self, rows: usize) {
        self.viewport_rows = rows.max(1);
    }

    pub fn rows(&self) -> &[NamespaceRow] {
        &self.rows
    }

    pub fn at_ms(&self) -> Option<u64> {
        self.at_ms
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn recent(&self) -> &[(u64, String)] {
        &self.recent
    }

    pub fn self_cost(&self) -> Option<SelfCost> {
        self.self_cost
    }

    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.rows.iter().position(|row| row.id() == id)
    }

    pub fn selected_row(&self) -> Option<&NamespaceRow> {
        self.selected_index().map(|i| &self.rows[i])
    }

    fn select_index(&mut self, index: usize) {
        if let Some(row) = self.rows.get(index.min(self.rows.len().saturating_sub(1))) {
            self.selected = Some(row.id());
        }
    }

    fn step(&mut self, delta: isize) {
        let current = self.selected_index().unwrap_or(0);
        self.select_index(current.saturating_add_signed(delta));
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> ListAction {
        let page = isize::try_from(self.viewport_rows).unwrap_or(10);
        match super::keymap::command_for(&key, Screen::Namespaces) {
            Some(Command::Quit) => return ListAction::Quit,
            Some(Command::Up) => self.step(-1),
            Some(Command::Down) => self.step(1),
            Some(Command::PageUp) => self.step(-page),
            Some(Command::PageDown) => self.step(page),
            Some(Command::Home) => self.select_index(0),
            Some(Command::End) => self.select_index(usize::MAX),
            Some(Command::Open) => {
                if let Some(row) = self.selected_row().filter(|r| r.status.access.is_ok()) {
                    return ListAction::Open(row.id());
                }
            }
            _ => {}
        }
        ListAction::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::namespaces::cgroup::CgroupOrigin;
    use crate::collect::namespaces::discovery::FoundNamespace;
    use crate::collect::namespaces::reader::Access;
    use crossterm::event::{KeyCode, KeyModifiers};

    pub(crate) fn status(id: u64, name: &str) -> NamespaceStatus {
        NamespaceStatus {
            found: FoundNamespace {
                id: NamespaceId(id),
                is_host: false,
                name: Some(name.to_string()),
                pid: None,
                command: None,
                origin: CgroupOrigin::default(),
            },
            access: Ok(Access::Entered),
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_selection_follows_its_namespace_and_enter_opens_it() {
        let mut list = NamespacesList::new("h".into(), false, String::new());
        let rows = |ids: &[u64]| {
            ids.iter()
                .map(|i| NamespaceRow::new(status(*i, "n")))
                .collect()
        };
        list.set_rows(1, rows(&[1, 2, 3]));
        assert_eq!(list.selected_index(), Some(0));
        list.handle_key(key(KeyCode::Down));
        list.set_rows(2, rows(&[3, 2, 1]));
        assert_eq!(list.selected_index(), Some(1), "still namespace 2");
        assert_eq!(
            list.handle_key(key(KeyCode::Enter)),
            ListAction::Open(NamespaceId(2))
        );
        list.namespaces_changed(3, &[], &[status(2, "n")], Vec::new(), false);
        assert_eq!(list.rows().len(), 2);
        assert_eq!(
            list.selected_index(),
            Some(0),
            "a vanished selection moves to the top"
        );
        assert_eq!(list.recent().len(), 1);
        assert_eq!(list.handle_key(key(KeyCode::Char('q'))), ListAction::Quit);
    }

    #[test]
    fn an_unreadable_namespace_does_not_open() {
        let mut list = NamespacesList::new("h".into(), false, String::new());
        let mut blocked = status(7, "x");
        blocked.access = Err("needs root".into());
        list.set_rows(1, vec![NamespaceRow::new(blocked)]);
        assert_eq!(list.handle_key(key(KeyCode::Enter)), ListAction::None);
    }
}
