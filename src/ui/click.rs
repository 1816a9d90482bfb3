//! Where a mouse click landed: the same layout the screen was drawn with,
//! asked which row or panel is under a cell.
//!
//! Owns: `click_target`. Must not: mutate the app; the app acts on the
//! `ClickTarget` it is sent.

use ratatui::layout::{Position, Rect};

use super::{alerts, layout, processes};
use crate::app::{App, ClickTarget, Focus, Scroll, View};

/// What is under the cell (`column`, `row`) of a screen of `area`; `None`
/// for the header, the footer, an overlay, or empty space.
pub fn click_target(app: &App, area: Rect, column: u16, row: u16) -> Option<ClickTarget> {
    if layout::too_small(area) || app.help_visible() || app.alert_detail().is_some() {
        return None;
    }
    let at = Position::new(column, row);
    let body = layout::frame(area).body;
    if !body.contains(at) {
        return None;
    }
    // The index of a table row under the click: `first` rows of chrome
    // (border, titles), then rows from `offset`.
    let table_row = |rect: Rect, first: u16, offset: usize, len: usize| -> Option<usize> {
        let line = row.checked_sub(rect.y + first)?;
        if line >= rect.height.saturating_sub(first + 1) {
            return None;
        }
        let index = offset + usize::from(line);
        (index < len).then_some(index)
    };
    match app.view() {
        View::Dashboard => {
            let panels = layout::dashboard(area, body, app);
            if panels.ports.contains(at) {
                let len = app.port_rows().len();
                let page = usize::from(panels.ports.height.saturating_sub(3)).max(1);
                let offset = Scroll {
                    selected: app.selected_row_index().unwrap_or(0),
                    offset: 0,
                }
                .offset_for(len, page);
                return Some(
                    table_row(panels.ports, 2, offset, len)
                        .map_or(ClickTarget::Panel(Focus::Ports), ClickTarget::PortRow),
                );
            }
            if panels.listeners.contains(at) {
                return Some(ClickTarget::Panel(Focus::Listeners));
            }
            if let Some(rect) = panels.alerts.filter(|r| r.contains(at)) {
                let line = row.checked_sub(rect.y + 1).map(usize::from);
                return Some(
                    line.and_then(|line| alerts::item_at(app, rect, line))
                        .map_or(ClickTarget::Panel(Focus::Alerts), ClickTarget::AlertItem),
                );
            }
            if panels.time_wait.is_some_and(|r| r.contains(at)) {
                return Some(ClickTarget::Panel(Focus::TimeWait));
            }
            None
        }
        View::Connections(view) => {
            let page = usize::from(body.height.saturating_sub(3)).max(1);
            let offset = view.scroll.offset_for(view.rows.len(), page);
            table_row(body, 2, offset, view.rows.len()).map(ClickTarget::ConnectionRow)
        }
        View::Processes(view) => {
            let page = usize::from(body.height.saturating_sub(processes::FIRST_ROW + 1)).max(1);
            let offset = view.scroll.offset_for(view.rows.len(), page);
            table_row(body, processes::FIRST_ROW, offset, view.rows.len())
                .map(ClickTarget::ProcessRow)
        }
        View::Diagram => None,
    }
}
