//! The per-process view (`P`): one row per process with its sockets by
//! state, the connections waiting in its listeners' accept queues, the
//! bytes in its queues, and its listeners with queue / backlog.
//!
//! Owns: `ProcessesPanel` (what the table shows, taken from the app), the
//! process table's columns and cells. Must not: mutate the app, sort (the
//! app did) or read the clock.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Widget};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, ProcessColumn, ProcessRow, ProcessSort, ProcessesView, Scroll};

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

/// What the process table shows, taken from the app and its view.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessesPanel<'a> {
    /// Sorted by the app.
    pub rows: &'a [ProcessRow],
    pub scroll: Scroll,
    /// The column the rows are sorted by, marked in the header.
    pub sort: ProcessSort,
    /// No sample yet (rather than no socket).
    pub waiting: bool,
}

impl<'a> ProcessesPanel<'a> {
    pub(crate) fn of(app: &App, view: &'a ProcessesView) -> ProcessesPanel<'a> {
        ProcessesPanel {
            rows: &view.rows,
            scroll: view.scroll,
            sort: view.sort,
            waiting: app.shown().is_none(),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, view: &ProcessesView, theme: &Theme) {
    draw(
        &ProcessesPanel::of(app, view),
        area,
        frame.buffer_mut(),
        theme,
    );
}

pub(crate) fn draw(view: &ProcessesPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
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
        let text = if view.waiting {
            "waiting for the first sample…"
        } else {
            "no sockets in this sample"
        };
        Paragraph::new(Span::styled(text, theme.dim()))
            .block(block)
            .render(area, buf);
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
    Widget::render(
        Table::new(rows, constraints)
            .header(Row::new(header).style(theme.title()))
            .column_spacing(1)
            .block(block),
        area,
        buf,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::processes::OwnedListener;
    use crate::model::{StateCounts, TcpState};
    use crate::ui::test_buffer;

    fn drawn(panel: &ProcessesPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    fn process(pid: Option<u32>, name: &str, states: &[(TcpState, u64)]) -> ProcessRow {
        let mut counts = StateCounts::default();
        for (state, count) in states {
            counts.add(*state, *count);
        }
        ProcessRow {
            pid,
            name: name.to_string(),
            states: counts,
            listeners: Vec::new(),
            recv_queue: 0,
            send_queue: 0,
        }
    }

    fn listener(local: &str, accept_queue: u32, backlog: u32) -> OwnedListener {
        OwnedListener {
            local: local.parse().unwrap_or_else(|_| panic!("{local}")),
            accept_queue,
            backlog: Some(backlog),
        }
    }

    /// A server whose listen(1) queue is full, and the TIME_WAIT no
    /// process owns.
    fn two_processes() -> [ProcessRow; 2] {
        let mut server = process(
            Some(4242),
            "slow-server",
            &[
                (TcpState::Listen, 2),
                (TcpState::Established, 6),
                (TcpState::CloseWait, 2),
            ],
        );
        server.listeners = vec![
            listener("127.0.0.1:10002", 2, 1),
            listener("127.0.0.1:10000", 0, 128),
        ];
        server.recv_queue = 1200;
        let kernel = process(
            None,
            "kernel-owned (TIME_WAIT)",
            &[(TcpState::TimeWait, 3963)],
        );
        [kernel, server]
    }

    fn panel(rows: &[ProcessRow], selected: usize) -> ProcessesPanel<'_> {
        ProcessesPanel {
            rows,
            scroll: Scroll {
                selected,
                offset: 0,
            },
            sort: ProcessSort::default(),
            waiting: false,
        }
    }

    #[test]
    fn without_rows_the_panel_says_why() {
        let mut waiting = panel(&[], 0);
        waiting.waiting = true;
        assert_eq!(
            drawn(&waiting, 60, 3),
            Buffer::with_lines([
                "┌ Processes (0) · ⏎ its sockets · Esc back ────────────────┐",
                "│waiting for the first sample…                             │",
                "└──────────────────────────────────────────────────────────┘",
            ])
        );
        assert_eq!(
            drawn(&panel(&[], 0), 60, 3),
            Buffer::with_lines([
                "┌ Processes (0) · ⏎ its sockets · Esc back ────────────────┐",
                "│no sockets in this sample                                 │",
                "└──────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn a_narrow_table_keeps_the_essentials_and_cuts_the_listeners() {
        let rows = two_processes();
        assert_eq!(
            drawn(&panel(&rows, 1), 80, 5),
            Buffer::with_lines([
                "┌ Processes (2) · ⏎ its sockets · Esc back ────────────────────────────────────┐",
                "│ PID PROCESS                   SOCKETS▼ ESTAB RECV-Q SEND-Q LISTENERS (queue/b│",
                "│   -  kernel-owned (TIME_WAIT)     3963     0      0      0                   │",
                "│4242 ▶slow-server                    10     6   1200      0 127.0.0.1:10002 2…│",
                "└──────────────────────────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn a_wide_table_has_every_column_and_marks_close_wait_and_full() {
        let rows = two_processes();
        let panel = panel(&rows, 0);
        assert_eq!(
            drawn(&panel, 130, 5),
            Buffer::with_lines([
                "┌ Processes (2) · ⏎ its sockets · Esc back ──────────────────────────────────────────────────────────────────────────────────────┐",
                "│ PID PROCESS                   SOCKETS▼ LISTEN ESTAB CLOSE_WAIT ACCEPT-Q RECV-Q SEND-Q LISTENERS (queue/backlog)                │",
                "│   - ▶kernel-owned (TIME_WAIT)     3963      0     0          0        0      0      0                                          │",
                "│4242  slow-server                    10      2     6          2        2   1200      0 127.0.0.1:10002 2/1 FULL, 127.0.0.1:1000…│",
                "└────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘",
            ])
        );
        let buf = test_buffer::in_colour(draw, &panel, 130, 5);
        // In colour, the CLOSE_WAIT count warns and a full listener is
        // critical.
        assert_eq!(buf[(63, 3)].symbol(), "2");
        assert_eq!(buf[(63, 3)].fg, test_buffer::fg(Attention::Warning));
        assert_eq!(buf[(88, 3)].symbol(), "1");
        assert_eq!(buf[(88, 3)].fg, test_buffer::fg(Attention::Critical));
    }

    #[test]
    fn the_selection_stays_on_the_page() {
        let rows: Vec<ProcessRow> = (1..=6)
            .map(|pid| {
                process(
                    Some(pid),
                    &format!("worker-{pid}"),
                    &[(TcpState::Established, pid.into())],
                )
            })
            .collect();
        assert_eq!(
            drawn(&panel(&rows, 5), 60, 5),
            Buffer::with_lines([
                "┌ Processes (6) · ⏎ its sockets · Esc back ────────────────┐",
                "│PID PROCESS   SOCKETS▼ ESTAB RECV-Q SEND-Q LISTENERS (queu│",
                "│  5  worker-5        5     5      0      0                │",
                "│  6 ▶worker-6        6     6      0      0                │",
                "└──────────────────────────────────────────────────────────┘",
            ])
        );
    }
}
