//! The ports table: one row per service port, a column per TCP state that
//! has sockets, zero cells dimmed, trouble marked.
//!
//! Owns: the ports table's columns, cells and their attention levels. Must
//! not: mutate the app, sort or filter (the app did).

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::theme::{Attention, Theme};
use crate::app::{App, Focus, Scroll};
use crate::model::{PortStates, TcpState};

/// Which states keep their column first when the width runs out.
const PRIORITY: [TcpState; 11] = [
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::CloseWait,
    TcpState::Established,
    TcpState::TimeWait,
    TcpState::Listen,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::LastAck,
    TcpState::Closing,
    TcpState::Close,
];

const PORT_WIDTH: u16 = 7;
const TOTAL_WIDTH: u16 = 7;
const NOTE_WIDTH: u16 = 6;

fn short_title(state: TcpState) -> &'static str {
    match state {
        TcpState::Listen => "LISTEN",
        TcpState::SynSent => "SYN_S",
        TcpState::SynRecv => "SYN_R",
        TcpState::Established => "ESTAB",
        TcpState::FinWait1 => "FIN_W1",
        TcpState::FinWait2 => "FIN_W2",
        TcpState::CloseWait => "CLS_W",
        TcpState::LastAck => "L_ACK",
        TcpState::Closing => "CLSNG",
        TcpState::TimeWait => "TIME_W",
        TcpState::Close => "CLOSE",
    }
}

/// How much a count needs attention.
pub(crate) fn cell_attention(state: TcpState, count: u64, queue_full: bool) -> Attention {
    match (state, count) {
        (_, 0) => Attention::Quiet,
        (TcpState::SynSent | TcpState::SynRecv, _) if queue_full => Attention::Critical,
        (TcpState::SynSent | TcpState::SynRecv | TcpState::CloseWait, _) => Attention::Warning,
        _ => Attention::Normal,
    }
}

struct Column {
    state: TcpState,
    title: &'static str,
    width: u16,
}

/// The state columns that fit: states with sockets in any listed row, full
/// names when they fit, short ones otherwise, then by priority.
fn columns(rows: &[PortStates], available: u16) -> (Vec<Column>, usize) {
    let present: Vec<TcpState> = TcpState::ALL
        .into_iter()
        .filter(|s| rows.iter().any(|r| r.counts.get(*s) > 0))
        .collect();
    let digits = |state: TcpState| {
        rows.iter()
            .map(|r| r.counts.get(state).to_string().len() + 1)
            .max()
            .unwrap_or(1)
    };
    let build = |short: bool| -> Vec<Column> {
        present
            .iter()
            .map(|s| {
                let title = if short { short_title(*s) } else { s.name() };
                let width = title.len().max(digits(*s));
                Column {
                    state: *s,
                    title,
                    width: u16::try_from(width).unwrap_or(u16::MAX),
                }
            })
            .collect()
    };
    let total = |cols: &[Column]| cols.iter().map(|c| c.width + 1).sum::<u16>();
    let full = build(false);
    if total(&full) <= available {
        return (full, 0);
    }
    let mut short = build(true);
    let mut hidden = 0;
    while total(&short) > available {
        let drop = PRIORITY
            .iter()
            .rev()
            .find_map(|p| short.iter().position(|c| c.state == *p));
        match drop {
            Some(index) => {
                short.remove(index);
                hidden += 1;
            }
            None => break,
        }
    }
    (short, hidden)
}

fn right(text: String, style: ratatui::style::Style) -> Cell<'static> {
    Cell::from(Line::from(Span::styled(text, style)).alignment(Alignment::Right))
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = app.port_rows();
    let focused = app.focus() == Focus::Ports;
    let fixed = PORT_WIDTH + TOTAL_WIDTH + NOTE_WIDTH + 3 + 2;
    let (columns, hidden) = columns(rows, area.width.saturating_sub(fixed));
    let mut title = format!(" Ports ({}) ", rows.len());
    if hidden > 0 {
        title.push_str(&format!("· {hidden} states hidden, widen "));
    }
    let block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_type(theme.panel_border(focused).0)
        .border_style(theme.panel_border(focused).1);
    if rows.is_empty() {
        let text = if app.shown().is_none() {
            "waiting for the first sample…"
        } else if app.filter().is_active() {
            "no port matches the filter (Esc clears it)"
        } else {
            "no TCP sockets match what is watched"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).block(block),
            area,
        );
        return;
    }

    let page = usize::from(area.height.saturating_sub(3)).max(1);
    let selected = app.selected_row_index();
    let offset = Scroll {
        selected: selected.unwrap_or(0),
        offset: 0,
    }
    .offset_for(rows.len(), page);

    let mut header = vec![
        Cell::from(Line::from(" PORT").alignment(Alignment::Left)),
        right("TOTAL".to_string(), theme.title()),
    ];
    header.extend(
        columns
            .iter()
            .map(|c| right(c.title.to_string(), theme.state(c.state))),
    );
    header.push(Cell::from(" NOTE"));

    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(index, row)| {
            let full = app.port_has_full_listener(row.port);
            let is_selected = Some(index) == selected;
            let marker = if is_selected { "▶" } else { " " };
            let mut cells = vec![
                Cell::from(format!("{marker}{}", row.port)),
                right(row.counts.total().to_string(), ratatui::style::Style::new()),
            ];
            for column in &columns {
                let count = row.counts.get(column.state);
                let level = cell_attention(column.state, count, full);
                let (text, style) = match level {
                    Attention::Quiet => ("·".to_string(), theme.attention(level)),
                    Attention::Normal => (count.to_string(), theme.state(column.state)),
                    _ => (
                        format!("{count}{}", theme.marker(level)),
                        theme.attention(level),
                    ),
                };
                let text = if text.ends_with('!') {
                    text
                } else {
                    format!("{text} ")
                };
                cells.push(right(text, style));
            }
            cells.push(if full {
                Cell::from(Span::styled(" FULL", theme.attention(Attention::Critical)))
            } else {
                Cell::from("")
            });
            let row = Row::new(cells);
            if is_selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();

    let mut widths = vec![
        Constraint::Length(PORT_WIDTH),
        Constraint::Length(TOTAL_WIDTH),
    ];
    widths.extend(columns.iter().map(|c| Constraint::Length(c.width + 1)));
    widths.push(Constraint::Length(NOTE_WIDTH));
    let table = Table::new(body, widths)
        .header(Row::new(header).style(theme.title()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
