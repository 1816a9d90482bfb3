//! Where each panel goes for a given terminal size: everything on wide
//! terminals, the essentials at 80×24, a notice below the minimum.
//!
//! Owns: the size classes and the panel rectangles. Must not: draw.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::diagram::diagram_fits;
use crate::app::{App, CONNECTIONS_CHROME_ROWS, Focus};

pub(crate) const MIN_WIDTH: u16 = 60;
pub(crate) const MIN_HEIGHT: u16 = 16;
/// From this size on, the TIME_WAIT chart and the alerts sit side by side
/// and all columns are shown.
pub(crate) const WIDE_WIDTH: u16 = 110;
pub(crate) const WIDE_HEIGHT: u16 = 32;

const HEADER_ROWS: u16 = 2;
const FOOTER_ROWS: u16 = 1;

pub(crate) fn is_wide(area: Rect) -> bool {
    area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT
}

pub(crate) fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The frame: header, body, footer.
pub struct Frame3 {
    pub header: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn frame(area: Rect) -> Frame3 {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(HEADER_ROWS),
        Constraint::Min(1),
        Constraint::Length(FOOTER_ROWS),
    ])
    .areas(area);
    debug_assert_eq!(HEADER_ROWS + FOOTER_ROWS + 3, CONNECTIONS_CHROME_ROWS);
    Frame3 {
        header,
        body,
        footer,
    }
}

/// The dashboard's panels; `None` for a panel this size leaves out.
pub struct Dashboard {
    pub ports: Rect,
    pub listeners: Rect,
    pub time_wait: Option<Rect>,
    pub alerts: Option<Rect>,
}

/// Rows a panel strip takes: borders and one line.
pub const STRIP_ROWS: u16 = 3;
/// The bottom panels get at least this many rows before the tables grow.
const MIN_BOTTOM_ROWS_WIDE: u16 = 12;
/// Listener rows shown at most before the panel scrolls.
const MAX_LISTENER_ROWS_WIDE: u16 = 12;
const MAX_LISTENER_ROWS_COMPACT: u16 = 5;

/// Panels sized to their content: the ports table and the listeners take
/// the rows they have (and scroll past a cap), the rest goes to the alerts
/// and the TIME_WAIT chart. On compact terminals both bottom panels stay:
/// the focused one large, the other as a one-line strip.
pub fn dashboard(full: Rect, body: Rect, app: &App) -> Dashboard {
    let rows = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).max(1);
    let ports_need = rows(app.port_rows().len()).saturating_add(3);
    let listeners_need = rows(app.listener_rows().len()).saturating_add(2);
    if is_wide(full) {
        let listeners_rows = listeners_need.min(MAX_LISTENER_ROWS_WIDE + 2);
        let ports_rows = ports_need
            .min(
                body.height
                    .saturating_sub(listeners_rows + MIN_BOTTOM_ROWS_WIDE),
            )
            .max(5);
        let [ports, listeners, bottom] = Layout::vertical([
            Constraint::Length(ports_rows),
            Constraint::Length(listeners_rows),
            Constraint::Min(STRIP_ROWS),
        ])
        .areas(body);
        // The alerts' text needs the width more than the chart does.
        let [time_wait, alerts] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(bottom);
        return Dashboard {
            ports,
            listeners,
            time_wait: Some(time_wait),
            alerts: Some(alerts),
        };
    }
    let strip_and_main = STRIP_ROWS + 4;
    let listeners_rows = listeners_need.min(MAX_LISTENER_ROWS_COMPACT + 2);
    let ports_rows = ports_need
        .min(body.height.saturating_sub(listeners_rows + strip_and_main))
        .max(4);
    let [ports, listeners, bottom] = Layout::vertical([
        Constraint::Length(ports_rows),
        Constraint::Length(listeners_rows),
        Constraint::Min(STRIP_ROWS),
    ])
    .areas(body);
    if bottom.height < STRIP_ROWS * 2 {
        let (time_wait, alerts) = if app.focus() == Focus::TimeWait {
            (Some(bottom), None)
        } else {
            (None, Some(bottom))
        };
        return Dashboard {
            ports,
            listeners,
            time_wait,
            alerts,
        };
    }
    let (time_wait, alerts) = if app.focus() == Focus::TimeWait {
        let [chart, strip] =
            Layout::vertical([Constraint::Min(STRIP_ROWS), Constraint::Length(STRIP_ROWS)])
                .areas(bottom);
        (chart, strip)
    } else {
        let [strip, alerts] =
            Layout::vertical([Constraint::Length(STRIP_ROWS), Constraint::Min(STRIP_ROWS)])
                .areas(bottom);
        (strip, alerts)
    };
    Dashboard {
        ports,
        listeners,
        time_wait: Some(time_wait),
        alerts: Some(alerts),
    }
}

/// The state-diagram view: the demo's narration (when a demo runs), the
/// drawn diagram or its compact list, and the transition log.
pub(crate) struct DiagramView {
    pub narration: Option<Rect>,
    pub states: Rect,
    /// True for the drawn diagram, false for the compact list.
    pub drawn: bool,
    pub log: Option<Rect>,
}

/// Rows the log needs to be worth showing (border and the newest line).
const MIN_LOG_ROWS: u16 = 3;

pub(crate) fn diagram_view(full: Rect, body: Rect, app: &App) -> DiagramView {
    let drawn = diagram_fits(full.width, full.height);
    let narration_rows = app
        .narration()
        .map_or(0, |n| super::narration::height(n, body.width))
        .min(body.height.saturating_sub(3));
    let rest = body.height - narration_rows;
    let states_rows = if drawn {
        super::diagram::BLOCK_HEIGHT.min(rest)
    } else {
        // The list may shrink (it scrolls) to leave the log a few rows.
        let list = super::state_list::HEIGHT;
        if rest >= list + MIN_LOG_ROWS {
            list
        } else {
            rest.saturating_sub(MIN_LOG_ROWS).max(6).min(rest)
        }
    };
    let log_rows = rest - states_rows;
    let [narration, states, log] = Layout::vertical([
        Constraint::Length(narration_rows),
        Constraint::Length(states_rows),
        Constraint::Length(log_rows),
    ])
    .areas(body);
    DiagramView {
        narration: (narration_rows > 0).then_some(narration),
        states,
        drawn,
        log: (log_rows >= MIN_LOG_ROWS).then_some(log),
    }
}

/// A centred rectangle for an overlay.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}
