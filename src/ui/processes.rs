//! The per-process view (`P`): one row per process with its sockets by
//! state, the connections waiting in its listeners' accept queues, the
//! bytes in its queues, and its listeners with queue / backlog.
//!
//! Owns: the process table's columns and cells. Must not: mutate the app,
//! sort (the app did) or read the clock.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, ProcessColumn, ProcessRow, ProcessesView};

/// Rows above the first process: the border and the column titles.
pub const FIRST_ROW: u16 = 2;

fn listeners_text(row: &ProcessRow) -> String {
    row.listeners
        .iter()
        .map(|l| match l.backlog {
            Some(backlog) if l.is_full() => {
                format!("{} {}/{backlog} FULL", l.local, l.accept_queue)
            }
            Some(backlog) => format!("{} {}/{backlog}", l.local, l.accept_queue),
            None => format!("{} {}/?", l.local, l.accept_queue),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn figure(column: ProcessColumn, row: &ProcessRow) -> String {
    use crate::model::TcpState;
    match column {
        ProcessColumn::Pid => row.pid.map_or("-".to_string(), |p| p.to_string()),
        ProcessColumn::Process => row.name.clone(),
        ProcessColumn::Sockets => row.sockets().to_string(),
        ProcessColumn::Listening => row.listeners.len().to_string(),
        ProcessColumn::Established => row.states.get(TcpState::Established).to_string(),
        ProcessColumn::CloseWait => row.states.get(TcpState::CloseWait).to_string(),
        ProcessColumn::AcceptQueue => row.waiting_for_accept().to_string(),
        ProcessColumn::RecvQ => row.recv_queue.to_string(),
        ProcessColumn::SendQ => row.send_queue.to_string(),
    }
}

/// The columns that fit: all of them on wide terminals; the essentials
/// (who, how many sockets, established, queued bytes) on narrow ones.
fn columns(inner_width: u16) -> &'static [ProcessColumn] {
    use ProcessColumn::*;
    if inner_width >= 110 {
        &ProcessColumn::ALL
    } else {
        &[Pid, Process, Sockets, Established, RecvQ, SendQ]
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, view: &ProcessesView, theme: &Theme) {
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " Processes ({}) · {} its sockets · {} back ",
                view.rows.len(),
                key_for(Screen::Processes, Command::Open),
                key_for(Screen::Processes, Command::Back),
            ),
            theme.title(),
        ))
        .border_style(theme.focused_border());
    if view.rows.is_empty() {
        let text = if app.shown().is_none() {
            "waiting for the first sample…"
        } else {
            "no sockets in this sample"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).block(block),
            area,
        );
        return;
    }
    let page = usize::from(area.height.saturating_sub(FIRST_ROW + 1)).max(1);
    let offset = view.scroll.offset_for(view.rows.len(), page);
    let visible: Vec<(usize, &ProcessRow)> = view
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .collect();
    let columns = columns(area.width.saturating_sub(2));
    let title = |column: ProcessColumn| -> String {
        if view.sort.column == column {
            format!(
                "{}{}",
                column.title(),
                if view.sort.descending() { "▼" } else { "▲" }
            )
        } else {
            column.title().to_string()
        }
    };
    let mut widths: Vec<usize> = columns
        .iter()
        .map(|c| {
            visible
                .iter()
                .map(|(_, r)| figure(*c, r).chars().count())
                .chain([title(*c).chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // The process name (after the selection mark) keeps at most 26
    // columns; the listeners take the rest.
    if let Some(i) = columns.iter().position(|c| *c == ProcessColumn::Process) {
        widths[i] = (widths[i] + 1).min(26);
    }
    let used: usize = widths.iter().sum::<usize>() + columns.len();
    let listeners_width = usize::from(area.width.saturating_sub(2)).saturating_sub(used);
    let right = |text: String| Cell::from(Line::from(text).alignment(Alignment::Right));
    let mut header: Vec<Cell> = columns
        .iter()
        .map(|c| match c {
            ProcessColumn::Process => Cell::from(title(*c)),
            _ => right(title(*c)),
        })
        .collect();
    header.push(Cell::from("LISTENERS (queue/backlog)"));
    let rows: Vec<Row> = visible
        .iter()
        .map(|(index, row)| {
            let selected = *index == view.scroll.selected;
            let mut cells: Vec<Cell> = columns
                .iter()
                .zip(&widths)
                .map(|(c, width)| match c {
                    ProcessColumn::Pid => right(figure(*c, row)),
                    ProcessColumn::Process => Cell::from(Span::styled(
                        format!(
                            "{}{}",
                            if selected { "▶" } else { " " },
                            format::fit(&row.name, width.saturating_sub(1))
                        ),
                        if row.pid.is_some() {
                            theme.good()
                        } else {
                            theme.dim()
                        },
                    )),
                    ProcessColumn::CloseWait
                        if row.states.get(crate::model::TcpState::CloseWait) > 0 =>
                    {
                        Cell::from(
                            Line::from(Span::styled(
                                figure(*c, row),
                                theme.attention(Attention::Warning),
                            ))
                            .alignment(Alignment::Right),
                        )
                    }
                    _ => right(figure(*c, row)),
                })
                .collect();
            let full = row.listeners.iter().any(|l| l.is_full());
            cells.push(Cell::from(Span::styled(
                format::fit(&listeners_text(row), listeners_width),
                if full {
                    theme.attention(Attention::Critical)
                } else {
                    ratatui::style::Style::new()
                },
            )));
            let row = Row::new(cells);
            if selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut constraints: Vec<Constraint> = widths
        .iter()
        .map(|w| Constraint::Length(u16::try_from(*w).unwrap_or(u16::MAX)))
        .collect();
    constraints.push(Constraint::Min(8));
    frame.render_widget(
        Table::new(rows, constraints)
            .header(Row::new(header).style(theme.title()))
            .column_spacing(1)
            .block(block),
        area,
    );
}
