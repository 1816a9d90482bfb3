//! The state diagram as a list, for terminals too small to draw it: each
//! state with its live count, the calls or events that lead in, and where
//! it goes next and why.
//!
//! Owns: the compact list's rows. Must not: mutate the app or read the
//! clock.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};

use super::diagram::scope_title;
use super::format;
use super::theme::Theme;
use crate::app::App;
use crate::explain::{diagram_name, edges_into, edges_out_of};
use crate::model::TcpState;

/// Rows the list needs: the states, the column titles and the border.
pub(crate) const HEIGHT: u16 = TcpState::ALL.len() as u16 + 3;

/// `recv SYN-ACK / recv ACK`.
pub(crate) fn ways_in(state: TcpState) -> String {
    let causes: Vec<&str> = edges_into(state).map(|e| e.cause).collect();
    causes.join(" / ")
}

/// `close() → FIN_WAIT1, recv FIN → CLOSE_WAIT`.
pub(crate) fn ways_out(state: TcpState) -> String {
    let exits: Vec<String> = edges_out_of(state)
        .map(|e| format!("{} → {}", e.cause, diagram_name(e.to)))
        .collect();
    exits.join(", ")
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let diagram = app.diagram();
    let page = usize::from(area.height.saturating_sub(3)).max(1);
    let selected = TcpState::ALL
        .iter()
        .position(|s| *s == diagram.selected)
        .unwrap_or(0);
    let offset = (selected + 1).saturating_sub(page);
    let rows: Vec<Row> = TcpState::ALL
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(_, state)| {
            let count = diagram.figures().counts.get(*state);
            let flash = diagram.flash(*state, app.now_ms());
            let is_selected = *state == diagram.selected;
            let marker = if is_selected { "▶" } else { " " };
            let (figure, style) = match (count, flash) {
                (_, Some(gained)) => (format!("{} +{gained}", format::count(count)), theme.flash()),
                (0, None) => ("·".to_string(), theme.dim()),
                (n, None) => (format::count(n), theme.strong(*state)),
            };
            let name_style = if count > 0 {
                theme.strong(*state)
            } else {
                ratatui::style::Style::new()
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(
                    format!("{marker}{}", diagram_name(*state)),
                    name_style,
                )),
                Cell::from(Line::from(Span::styled(figure, style)).alignment(Alignment::Right)),
                Cell::from(ways_in(*state)),
                Cell::from(Span::styled(ways_out(*state), theme.dim())),
            ]);
            if is_selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec![
        Cell::from("STATE"),
        Cell::from(Line::from("COUNT").alignment(Alignment::Right)),
        Cell::from("IN BY"),
        Cell::from("OUT BY → NEXT"),
    ])
    .style(theme.title());
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(24),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(
        Block::bordered()
            .title(Span::styled(
                format!(" TCP states · {} ", scope_title(app)),
                theme.title(),
            ))
            .border_style(theme.focused_border()),
    );
    frame.render_widget(table, area);
}
