//! A table of sockets, one row each, for the drill-down and the list of all
//! connections: state, addresses, queues, timer, owner and age. Columns are
//! as wide as the visible rows need, so a number is never cut: queues that
//! do not fit in full are shown in units (`4.0M`), never with digits lost.
//!
//! Owns: `SocketTable` and `SocketRow` (what the table shows, taken from
//! the app), the column set per width, the cell text and the column widths.
//! Must not: mutate the app, sort or read the clock.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table, Widget};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::{App, ConnectionRef, Scroll, SocketColumn, SocketSort};
use crate::model::{SocketRecord, TcpState, TimerKind};
use crate::watch::FullTick;

/// From this inner width on, RECV-Q and SEND-Q get a column each and the
/// process and age are shown.
pub(crate) const WIDE_INNER_WIDTH: u16 = 100;
/// Address columns never grow past this (an IPv6 address with port).
const MAX_ADDRESS_WIDTH: usize = 47;
/// Address columns shrink to this before anything else is cut.
const MIN_ADDRESS_WIDTH: usize = 15;
/// The last, flexible column (process, or the timer when narrow) keeps at
/// least this much.
const MIN_FLEX_WIDTH: usize = 10;

/// What the socket's timer is doing, counted down to `now_ms`.
pub fn timer_text(record: &SocketRecord, taken_at_ms: u64, now_ms: u64) -> String {
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

/// The owner text and whether a process is known.
pub(crate) fn owner_text(sample: &FullTick, record: &SocketRecord) -> (String, bool) {
    match sample.snapshot.owner_of(record) {
        Ok(process) => (format!("{} ({})", process.name, process.pid), true),
        Err(reason) => (reason.explain().to_string(), false),
    }
}

/// One socket as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SocketRow {
    pub selected: bool,
    pub state: TcpState,
    /// Warning in a handshake or CLOSE_WAIT, critical for a full listener.
    pub attention: Attention,
    pub local: String,
    pub remote: String,
    pub recv_queue: u32,
    pub send_queue: u32,
    pub timer: String,
    /// The owner, or why there is none, and whether a process is known.
    pub owner: (String, bool),
    pub age: String,
}

impl SocketRow {
    pub(crate) fn of(
        app: &App,
        sample: &FullTick,
        record: &SocketRecord,
        selected: bool,
    ) -> SocketRow {
        let age = app
            .seen()
            .age(&record.key(), app.now_ms().max(sample.snapshot.taken_at_ms))
            .map(format::age)
            .unwrap_or_else(|| "?".to_string());
        SocketRow {
            selected,
            state: record.state,
            attention: state_attention(record),
            local: record.local.to_string(),
            remote: format::peer(&record.remote),
            recv_queue: record.recv_queue,
            send_queue: record.send_queue,
            timer: timer_text(record, sample.snapshot.taken_at_ms, app.now_ms()),
            owner: owner_text(sample, record),
            age,
        }
    }

    /// `▶SYN_SENT!`: the selection, the state and whether it needs attention.
    fn state_text(&self) -> String {
        let marker = if self.selected { "▶" } else { " " };
        let attention = if self.attention >= Attention::Warning {
            "!"
        } else {
            ""
        };
        format!("{marker}{}{attention}", self.state.name())
    }
}

/// What the table shows, taken from the app: the rows on the page and the
/// sort marker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SocketTable {
    /// The rows on the page, top first.
    pub rows: Vec<SocketRow>,
    /// The column the rows are sorted by, marked in the header.
    pub sort: Option<SocketSort>,
}

impl SocketTable {
    /// The page of `page` rows that keeps the selection in view.
    pub(crate) fn page(
        app: &App,
        sample: &FullTick,
        rows: &[ConnectionRef],
        scroll: Scroll,
        page: usize,
        sort: Option<SocketSort>,
    ) -> SocketTable {
        let offset = scroll.offset_for(rows.len(), page);
        SocketTable {
            rows: rows
                .iter()
                .enumerate()
                .skip(offset)
                .take(page)
                .filter_map(|(index, row)| Some((index, row.record(sample)?)))
                .map(|(index, record)| SocketRow::of(app, sample, record, index == scroll.selected))
                .collect(),
            sort,
        }
    }
}

/// How many rows a table in `area` shows.
pub(crate) fn page_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

/// How the queue figures are written: in full, or in units when the full
/// figures leave no room.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QueueForm {
    Exact,
    Units,
}

fn queue(value: u32, form: QueueForm) -> String {
    match form {
        QueueForm::Exact => value.to_string(),
        QueueForm::Units => format::bytes_short(u64::from(value)),
    }
}

fn width_of<'a>(title: &str, cells: impl Iterator<Item = &'a str>) -> usize {
    cells
        .map(|c| c.chars().count())
        .chain(std::iter::once(title.chars().count()))
        .max()
        .unwrap_or(0)
}

/// The columns shown at a width, in order.
pub(crate) fn columns(inner_width: u16) -> &'static [SocketColumn] {
    use SocketColumn::*;
    if inner_width >= WIDE_INNER_WIDTH {
        &[State, Local, Remote, RecvQ, SendQ, Timer, Process, Age]
    } else {
        &[State, Local, Remote, RecvQ, Timer]
    }
}

fn title(column: SocketColumn, wide: bool) -> &'static str {
    match column {
        SocketColumn::State => "STATE",
        SocketColumn::Local => "LOCAL",
        SocketColumn::Remote => "REMOTE",
        SocketColumn::RecvQ if wide => "RECV-Q",
        SocketColumn::RecvQ => "RQ/SQ",
        SocketColumn::SendQ => "SEND-Q",
        SocketColumn::Timer => "TIMER",
        SocketColumn::Process => "PROCESS",
        SocketColumn::Age => "AGE",
    }
}

fn right_aligned(column: SocketColumn) -> bool {
    matches!(
        column,
        SocketColumn::RecvQ | SocketColumn::SendQ | SocketColumn::Age
    )
}

pub(crate) fn draw(table: &SocketTable, block: Block, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let inner_width = area.width.saturating_sub(2);
    let wide = inner_width >= WIDE_INNER_WIDTH;
    let columns = columns(inner_width);
    let texts = &table.rows;
    let states: Vec<String> = texts.iter().map(SocketRow::state_text).collect();
    let header_text = |column: SocketColumn| -> String {
        let name = title(column, wide);
        match table.sort {
            Some(sort) if sort.column == column => {
                format!("{name}{}", if sort.descending() { "▼" } else { "▲" })
            }
            _ => name.to_string(),
        }
    };

    let available = usize::from(inner_width);
    let spacing = columns.len().saturating_sub(1);
    let flex = if wide {
        SocketColumn::Process
    } else {
        SocketColumn::Timer
    };
    let natural = |column: SocketColumn, form: QueueForm| -> usize {
        let name = header_text(column);
        match column {
            SocketColumn::State => width_of(&name, states.iter().map(String::as_str)),
            SocketColumn::Local => {
                width_of(&name, texts.iter().map(|t| t.local.as_str())).min(MAX_ADDRESS_WIDTH)
            }
            SocketColumn::Remote => {
                width_of(&name, texts.iter().map(|t| t.remote.as_str())).min(MAX_ADDRESS_WIDTH)
            }
            SocketColumn::RecvQ if wide => width_of(
                &name,
                texts
                    .iter()
                    .map(|t| queue(t.recv_queue, form))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
            SocketColumn::RecvQ => width_of(
                &name,
                texts
                    .iter()
                    .map(|t| {
                        format!(
                            "{}/{}",
                            queue(t.recv_queue, form),
                            queue(t.send_queue, form)
                        )
                    })
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
            SocketColumn::SendQ => width_of(
                &name,
                texts
                    .iter()
                    .map(|t| queue(t.send_queue, form))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
            SocketColumn::Timer => width_of(&name, texts.iter().map(|t| t.timer.as_str())),
            SocketColumn::Process => width_of(&name, texts.iter().map(|t| t.owner.0.as_str())),
            SocketColumn::Age => width_of(&name, texts.iter().map(|t| t.age.as_str())),
        }
    };
    let layout =
        |form: QueueForm| -> Vec<usize> { columns.iter().map(|c| natural(*c, form)).collect() };
    let fixed = |widths: &[usize]| -> usize {
        columns
            .iter()
            .zip(widths)
            .filter(|(c, _)| **c != flex)
            .map(|(_, w)| *w)
            .sum::<usize>()
            + spacing
    };
    let mut form = QueueForm::Exact;
    let mut widths = layout(form);
    if fixed(&widths) + MIN_FLEX_WIDTH > available {
        form = QueueForm::Units;
        widths = layout(form);
    }
    // Addresses give way next, keeping their port (the end).
    for column in [SocketColumn::Remote, SocketColumn::Local] {
        let over = (fixed(&widths) + MIN_FLEX_WIDTH).saturating_sub(available);
        if let Some(i) = columns.iter().position(|c| *c == column) {
            let shrink = over.min(widths[i].saturating_sub(MIN_ADDRESS_WIDTH));
            widths[i] -= shrink;
        }
    }
    if let Some(i) = columns.iter().position(|c| *c == flex) {
        widths[i] = available.saturating_sub(fixed(&widths));
    }
    // In the wide layout the timer may shrink too, before the process.
    let width_for = |column: SocketColumn| -> usize {
        columns
            .iter()
            .position(|c| *c == column)
            .map_or(0, |i| widths[i])
    };

    let header = Row::new(columns.iter().map(|column| {
        let text = header_text(*column);
        if right_aligned(*column) {
            Cell::from(Line::from(text).alignment(Alignment::Right))
        } else {
            Cell::from(text)
        }
    }))
    .style(theme.title());

    let rows: Vec<Row> = texts
        .iter()
        .map(|text| {
            let cells = columns
                .iter()
                .map(|column| cell(*column, text, width_for(*column), wide, form, theme));
            let row = Row::new(cells.collect::<Vec<_>>());
            if text.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let constraints: Vec<Constraint> = widths
        .iter()
        .map(|w| Constraint::Length(u16::try_from(*w).unwrap_or(u16::MAX)))
        .collect();
    Widget::render(
        Table::new(rows, constraints)
            .header(header)
            .column_spacing(1)
            .block(block),
        area,
        buf,
    );
}

fn cell(
    column: SocketColumn,
    text: &SocketRow,
    width: usize,
    wide: bool,
    form: QueueForm,
    theme: &Theme,
) -> Cell<'static> {
    let right = |s: String| Cell::from(Line::from(s).alignment(Alignment::Right));
    match column {
        SocketColumn::State => Cell::from(Span::styled(
            text.state_text(),
            theme
                .attention(text.attention)
                .patch(theme.state(text.state)),
        )),
        SocketColumn::Local => Cell::from(format::fit_keep_end(&text.local, width)),
        SocketColumn::Remote => Cell::from(format::fit_keep_end(&text.remote, width)),
        SocketColumn::RecvQ if wide => right(queue(text.recv_queue, form)),
        SocketColumn::RecvQ => right(format!(
            "{}/{}",
            queue(text.recv_queue, form),
            queue(text.send_queue, form)
        )),
        SocketColumn::SendQ => right(queue(text.send_queue, form)),
        SocketColumn::Timer => Cell::from(Span::styled(
            format::fit(&text.timer, width),
            if text.attention == Attention::Critical {
                theme.attention(text.attention)
            } else {
                Style::new()
            },
        )),
        SocketColumn::Process => {
            let (owner, known) = &text.owner;
            Cell::from(Span::styled(
                format::fit(owner, width),
                if *known { theme.good() } else { theme.dim() },
            ))
        }
        SocketColumn::Age => right(text.age.clone()),
    }
}
