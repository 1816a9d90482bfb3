//! The drill-down: one port's connections, one row per socket, with
//! queues, timers counting down, owner (or why none) and age. Draws only
//! the visible rows, so thousands scroll smoothly.
//!
//! Owns: the connection table's columns and cell text. Must not: mutate
//! the app or read the clock (the app's `now_ms` is the time).

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::{App, ConnectionsView};
use crate::model::{SocketRecord, TcpState, TimerKind};
use crate::watch::FullTick;

/// What the socket's timer is doing, counted down to `now_ms`.
pub(crate) fn timer_text(record: &SocketRecord, taken_at_ms: u64, now_ms: u64) -> String {
    if record.state == TcpState::Listen {
        let queue = record.recv_queue;
        return match record.backlog() {
            Some(backlog) if queue > backlog => format!("queue {queue}/{backlog} FULL"),
            Some(backlog) => format!("queue {queue}/{backlog}"),
            None => format!("queue {queue}/?"),
        };
    }
    let since_sample = now_ms.saturating_sub(taken_at_ms);
    let left =
        format::seconds_left(u64::from(record.timer_expires_ms).saturating_sub(since_sample));
    match record.timer {
        TimerKind::None => String::new(),
        TimerKind::TimeWait => format!("{left} left of 60s"),
        TimerKind::Retransmit if record.state == TcpState::SynSent => {
            format!("SYN retry #{} in {left}", u32::from(record.retransmits) + 1)
        }
        TimerKind::Retransmit => format!("retransmit in {left} ({} so far)", record.retransmits),
        TimerKind::KeepAlive => format!("keepalive in {left}"),
        TimerKind::Probe => format!("window probe in {left}"),
    }
}

fn state_attention(record: &SocketRecord) -> Attention {
    match record.state {
        TcpState::SynSent | TcpState::SynRecv | TcpState::CloseWait => Attention::Warning,
        TcpState::Listen if record.backlog().is_some_and(|b| record.recv_queue > b) => {
            Attention::Critical
        }
        _ => Attention::Normal,
    }
}

fn right(text: String) -> Cell<'static> {
    Cell::from(Line::from(text).alignment(Alignment::Right))
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, view: &ConnectionsView, theme: &Theme) {
    let filter = app
        .filter()
        .describe()
        .map(|f| format!(" · filter {f}"))
        .unwrap_or_default();
    let position = if view.rows.is_empty() {
        String::new()
    } else {
        format!(" · {}/{}", view.scroll.selected + 1, view.rows.len())
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " Connections on :{} ({}){position}{filter} · Esc back ",
                view.port,
                view.rows.len()
            ),
            theme.title(),
        ))
        .border_style(theme.focused_border());
    let Some(sample) = app.shown() else {
        frame.render_widget(block, area);
        return;
    };
    if view.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("no connections on :{} in this sample", view.port),
                theme.dim(),
            ))
            .block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 110;
    let page = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = view.scroll.offset_for(view.rows.len(), page);
    let address_width: usize = 21;
    let rows: Vec<Row> = view
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .filter_map(|(index, row)| Some((index, row.record(sample)?)))
        .map(|(index, record)| {
            connection_row(
                app,
                sample,
                record,
                index == view.scroll.selected,
                wide,
                address_width,
                theme,
            )
        })
        .collect();
    let (header, widths) = if wide {
        (
            vec![
                "STATE", "LOCAL", "REMOTE", "RECV-Q", "SEND-Q", "TIMER", "PROCESS", "AGE",
            ],
            vec![
                Constraint::Length(12),
                Constraint::Length(address_width as u16),
                Constraint::Length(address_width as u16),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(22),
                Constraint::Min(12),
                Constraint::Length(6),
            ],
        )
    } else {
        (
            vec!["STATE", "LOCAL", "REMOTE", "RQ/SQ", "TIMER"],
            vec![
                Constraint::Length(12),
                Constraint::Length(address_width as u16),
                Constraint::Length(address_width as u16),
                Constraint::Length(8),
                Constraint::Min(10),
            ],
        )
    };
    let header = Row::new(header.into_iter().map(|h| {
        if h.ends_with("-Q") || h == "RQ/SQ" || h == "AGE" {
            right(h.to_string())
        } else {
            Cell::from(h)
        }
    }))
    .style(theme.title());
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

fn connection_row(
    app: &App,
    sample: &FullTick,
    record: &SocketRecord,
    selected: bool,
    wide: bool,
    address_width: usize,
    theme: &Theme,
) -> Row<'static> {
    let level = state_attention(record);
    let marker = if selected { "▶" } else { " " };
    let mut cells = vec![
        Cell::from(Span::styled(
            format!("{marker}{}{}", record.state.name(), theme.marker(level)),
            theme.attention(level).patch(theme.state(record.state)),
        )),
        Cell::from(format::fit_keep_end(
            &record.local.to_string(),
            address_width,
        )),
        Cell::from(format::fit_keep_end(
            &record.remote.to_string(),
            address_width,
        )),
    ];
    if wide {
        cells.push(right(record.recv_queue.to_string()));
        cells.push(right(record.send_queue.to_string()));
    } else {
        cells.push(right(format!(
            "{}/{}",
            record.recv_queue, record.send_queue
        )));
    }
    let timer = timer_text(record, sample.snapshot.taken_at_ms, app.now_ms());
    cells.push(Cell::from(Span::styled(
        timer,
        if level == Attention::Critical {
            theme.attention(level)
        } else {
            ratatui::style::Style::new()
        },
    )));
    if wide {
        let owner = match sample.snapshot.owner_of(record) {
            Ok(process) => {
                Span::styled(format!("{} ({})", process.name, process.pid), theme.good())
            }
            Err(reason) => Span::styled(reason.explain(), theme.dim()),
        };
        cells.push(Cell::from(owner));
        let age = app
            .seen()
            .age(&record.key(), app.now_ms().max(sample.snapshot.taken_at_ms))
            .map(format::age)
            .unwrap_or_else(|| "?".to_string());
        cells.push(right(age));
    }
    let row = Row::new(cells);
    if selected {
        row.style(theme.selected())
    } else {
        row
    }
}
