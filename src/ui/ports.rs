//! The ports table: one row per service port, a column per TCP state that
//! has sockets, zero cells dimmed, trouble marked.
//!
//! Owns: `PortsPanel` (what the table shows, taken from the app), the
//! table's columns, cells and their attention levels. Must not: mutate the
//! app, sort or filter (the app did).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Widget};

use super::theme::{Attention, Theme};
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, Focus, Scroll};
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
/// `RST s/r`: RSTs sent / received on the port, from exact events.
const RST_WIDTH: u16 = 8;

/// The RST cell of a port: `sent/received` since the start, `·` for none.
fn rst_cell(rsts: (u64, u64), theme: &Theme) -> Cell<'static> {
    match rsts {
        (0, 0) => right("· ".to_string(), theme.attention(Attention::Quiet)),
        (sent, received) => right(
            format!("{sent}/{received} "),
            theme.attention(Attention::Warning),
        ),
    }
}

/// RSTs on ports that have no row (a closed port has no socket):
/// ` RST (exact) with no socket: :10002 sent 1 `.
fn rsts_without_a_row(app: &App, rows: &[PortStates]) -> Option<String> {
    let counts = app.exact_events().counts()?;
    let mut ports: Vec<u16> = counts
        .rst_sent_by_port
        .keys()
        .chain(counts.rst_received_by_port.keys())
        .copied()
        .filter(|port| !rows.iter().any(|r| r.port == *port))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return None;
    }
    let parts: Vec<String> = ports
        .iter()
        .map(|port| {
            let (sent, received) = app.exact_events().rsts_on(*port).unwrap_or((0, 0));
            match received {
                0 => format!(":{port} sent {sent}"),
                _ => format!(":{port} sent {sent}, received {received}"),
            }
        })
        .collect();
    Some(format!(
        " RST (exact) at ports with no socket: {} ",
        parts.join(" · ")
    ))
}

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

/// What the ports table shows, taken from the app: nothing else is read
/// while drawing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PortsPanel<'a> {
    /// After the live filter and the sort.
    pub rows: &'a [PortStates],
    pub selected: Option<usize>,
    pub focused: bool,
    /// The ports with a full listener (`FULL`, SYN counts critical).
    pub full_ports: Vec<u16>,
    /// Said when there is no row.
    pub empty_text: String,
    /// RSTs sent and received per row, when exact events are on.
    pub rsts: Option<Vec<(u64, u64)>>,
    /// RSTs at ports without a row, said under the table.
    pub rsts_elsewhere: Option<String>,
}

impl<'a> PortsPanel<'a> {
    pub(crate) fn of(app: &'a App) -> PortsPanel<'a> {
        let rows = app.port_rows();
        PortsPanel {
            rows,
            selected: app.selected_row_index(),
            focused: app.focus() == Focus::Ports,
            full_ports: rows
                .iter()
                .map(|r| r.port)
                .filter(|port| app.port_has_full_listener(*port))
                .collect(),
            empty_text: if app.shown().is_none() {
                "waiting for the first sample…".to_string()
            } else if app.filter().is_active() {
                format!(
                    "no port matches the filter ({} clears it)",
                    key_for(Screen::Dashboard, Command::Back)
                )
            } else {
                "no TCP sockets match what is watched".to_string()
            },
            rsts: app.exact_events().is_on().then(|| {
                rows.iter()
                    .map(|r| app.exact_events().rsts_on(r.port).unwrap_or((0, 0)))
                    .collect()
            }),
            rsts_elsewhere: rsts_without_a_row(app, rows),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&PortsPanel::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &PortsPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let rows = panel.rows;
    let focused = panel.focused;
    let rst_column = panel.rsts.is_some();
    let fixed =
        PORT_WIDTH + TOTAL_WIDTH + NOTE_WIDTH + 3 + 2 + if rst_column { RST_WIDTH + 1 } else { 0 };
    let (columns, hidden) = columns(rows, area.width.saturating_sub(fixed));
    let mut title = format!(" Ports ({}) ", rows.len());
    if hidden > 0 {
        title.push_str(&format!("· {hidden} states hidden, widen "));
    }
    let mut block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_type(theme.panel_border(focused).0)
        .border_style(theme.panel_border(focused).1);
    if let Some(rsts) = &panel.rsts_elsewhere {
        block = block.title_bottom(Span::styled(
            rsts.clone(),
            theme.attention(Attention::Warning),
        ));
    }
    if rows.is_empty() {
        Paragraph::new(Span::styled(panel.empty_text.as_str(), theme.dim()))
            .block(block)
            .render(area, buf);
        return;
    }

    let page = usize::from(area.height.saturating_sub(3)).max(1);
    let selected = panel.selected;
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
    if rst_column {
        header.push(right("RST s/r".to_string(), theme.title()));
    }
    header.push(Cell::from(" NOTE"));

    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(index, row)| {
            let full = panel.full_ports.contains(&row.port);
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
            if let Some(rsts) = &panel.rsts {
                cells.push(rst_cell(rsts.get(index).copied().unwrap_or((0, 0)), theme));
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
    if rst_column {
        widths.push(Constraint::Length(RST_WIDTH));
    }
    widths.push(Constraint::Length(NOTE_WIDTH));
    let table = Table::new(body, widths)
        .header(Row::new(header).style(theme.title()))
        .column_spacing(1)
        .block(block);
    Widget::render(table, area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StateCounts;
    use crate::ui::test_buffer;

    fn port(port: u16, counts: &[(TcpState, u64)]) -> PortStates {
        let mut states = StateCounts::default();
        for (state, count) in counts {
            states.add(*state, *count);
        }
        PortStates {
            port,
            counts: states,
        }
    }

    /// The panel drawn without colour, styles left out: the text only.
    fn drawn(panel: &PortsPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    fn two_ports() -> [PortStates; 2] {
        [
            port(
                10002,
                &[
                    (TcpState::Listen, 1),
                    (TcpState::SynSent, 50),
                    (TcpState::CloseWait, 2),
                ],
            ),
            port(
                10000,
                &[
                    (TcpState::Listen, 1),
                    (TcpState::Established, 6),
                    (TcpState::TimeWait, 3963),
                ],
            ),
        ]
    }

    #[test]
    fn a_full_listener_marks_its_port_and_the_selection_has_the_arrow() {
        let rows = two_ports();
        let panel = PortsPanel {
            rows: &rows,
            selected: Some(1),
            focused: true,
            full_ports: vec![10002],
            empty_text: String::new(),
            rsts: None,
            rsts_elsewhere: None,
        };
        assert_eq!(
            drawn(&panel, 70, 6),
            Buffer::with_lines([
                "┏ Ports (2) ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
                "┃ PORT     TOTAL  LISTEN  SYN_S  ESTAB  CLS_W  TIME_W  NOTE          ┃",
                "┃ 10002       53      1     50!     ·      2!      ·   FULL          ┃",
                "┃▶10000     3970      1      ·      6      ·    3963                 ┃",
                "┃                                                                    ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
        // In colour, FULL and the SYN count it explains are critical.
        let buf = test_buffer::in_colour(draw, &panel, 70, 6);
        let critical = test_buffer::fg(Attention::Critical);
        assert_eq!(buf[(55, 2)].symbol(), "F");
        assert_eq!(buf[(55, 2)].fg, critical);
        assert_eq!(buf[(28, 2)].fg, critical, "50!");
    }

    #[test]
    fn a_narrow_table_keeps_the_troubled_states_and_says_what_it_hid() {
        let rows = two_ports();
        let panel = PortsPanel {
            rows: &rows,
            selected: Some(1),
            focused: true,
            full_ports: vec![10002],
            empty_text: String::new(),
            rsts: None,
            rsts_elsewhere: None,
        };
        assert_eq!(
            drawn(&panel, 40, 5),
            Buffer::with_lines([
                "┏ Ports (2) · 3 states hidden, widen ━━┓",
                "┃ PORT     TOTAL  SYN_S  CLS_W  NOTE   ┃",
                "┃ 10002       53    50!     2!  FULL   ┃",
                "┃▶10000     3970     ·      ·          ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
    }

    #[test]
    fn exact_events_add_the_rst_column_and_the_ports_without_a_row() {
        let rows = two_ports();
        let panel = PortsPanel {
            rows: &rows,
            selected: None,
            focused: false,
            full_ports: Vec::new(),
            empty_text: String::new(),
            rsts: Some(vec![(3, 1), (0, 0)]),
            rsts_elsewhere: Some(" RST :9 sent 1 ".to_string()),
        };
        assert_eq!(
            drawn(&panel, 80, 5),
            Buffer::with_lines([
                "┌ Ports (2) ───────────────────────────────────────────────────────────────────┐",
                "│ PORT     TOTAL  LISTEN  SYN_S  ESTAB  CLS_W  TIME_W  RST s/r  NOTE           │",
                "│ 10002       53      1     50!     ·      2!      ·      3/1                  │",
                "│ 10000     3970      1      ·      6      ·    3963        ·                  │",
                "└ RST :9 sent 1 ───────────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn without_rows_the_panel_says_why() {
        let panel = PortsPanel {
            rows: &[],
            selected: None,
            focused: false,
            full_ports: Vec::new(),
            empty_text: "waiting for the first sample…".to_string(),
            rsts: None,
            rsts_elsewhere: None,
        };
        assert_eq!(
            drawn(&panel, 40, 3),
            Buffer::with_lines([
                "┌ Ports (0) ───────────────────────────┐",
                "│waiting for the first sample…         │",
                "└──────────────────────────────────────┘",
            ])
        );
    }
}
