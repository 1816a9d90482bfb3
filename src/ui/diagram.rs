//! The classic TCP state diagram, drawn with live counts: a box per state
//! (active close on the left, passive close on the right), an arrow per
//! transition labelled with the call or kernel event that takes it. States
//! with sockets stand out, states that just gained sockets flash, arrows a
//! connection just took light up, and the selected state has a heavy border.
//!
//! Owns: `DiagramPanel` (what the diagram shows, taken from the app), the
//! diagram's geometry and drawing. Must not: mutate the app or read the
//! clock (the app's `now_ms` is the time).

use std::collections::HashSet;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Widget};

use super::canvas::Canvas;
use super::format;
use super::theme::{Attention, Theme};
use crate::app::diagram::FLASH_MS;
use crate::app::{App, DiagramScope};
use crate::explain::{ACCEPT_NOTE, DiagramEdge, EDGES, diagram_name};
use crate::model::transitions::{Change, Transition};
use crate::model::{StateCounts, TcpState};

/// The drawing's size, borders excluded.
pub(crate) const WIDTH: u16 = 98;
pub(crate) const HEIGHT: u16 = 18;
/// The block's size: the drawing and its border.
pub(crate) const BLOCK_HEIGHT: u16 = HEIGHT + 2;

const BOX_WIDTH: u16 = 15;

/// Where a state's box is: left column, top row, width.
fn box_at(state: TcpState) -> (u16, u16, u16) {
    match state {
        TcpState::SynSent => (0, 0, BOX_WIDTH),
        TcpState::Close => (27, 0, BOX_WIDTH),
        TcpState::Listen => (54, 0, BOX_WIDTH),
        TcpState::SynRecv => (83, 0, BOX_WIDTH),
        TcpState::Established => (0, 5, WIDTH),
        TcpState::FinWait1 => (0, 10, BOX_WIDTH),
        TcpState::Closing => (27, 10, BOX_WIDTH),
        TcpState::CloseWait => (83, 10, BOX_WIDTH),
        TcpState::FinWait2 => (0, 15, BOX_WIDTH),
        TcpState::TimeWait => (27, 15, BOX_WIDTH),
        TcpState::LastAck => (83, 15, BOX_WIDTH),
    }
}

/// How an arrow is drawn.
enum Arrow {
    /// On row `y`, from column `from` to `to` (inclusive), pointing left
    /// when `leftwards`; the labels go on the rows above and below.
    Across {
        y: u16,
        from: u16,
        to: u16,
        leftwards: bool,
    },
    /// Down column `x` over rows `y` and `y + 1`; the labels go beside it,
    /// on the left when `labels_left`.
    Down { x: u16, y: u16, labels_left: bool },
}

fn arrow_for(edge: &DiagramEdge) -> Option<Arrow> {
    use TcpState::*;
    let across = |y, from, to, leftwards| Arrow::Across {
        y,
        from,
        to,
        leftwards,
    };
    let down = |x, y, labels_left| Arrow::Down { x, y, labels_left };
    Some(match (edge.from, edge.to) {
        (Close, SynSent) => across(1, 15, 26, true),
        (Close, Listen) => across(1, 42, 53, false),
        (Listen, SynRecv) => across(1, 69, 82, false),
        (SynSent, Established) => down(7, 3, false),
        (SynRecv, Established) => down(90, 3, true),
        (Established, FinWait1) => down(7, 8, false),
        (Established, CloseWait) => down(90, 8, true),
        (FinWait1, FinWait2) => down(7, 13, false),
        (FinWait1, Closing) => across(11, 15, 26, false),
        (FinWait2, TimeWait) => across(16, 15, 26, false),
        (Closing, TimeWait) => down(34, 13, false),
        (CloseWait, LastAck) => down(90, 13, true),
        (TimeWait, Close) => across(16, 42, 57, false),
        (LastAck, Close) => across(16, 66, 82, true),
        _ => return None,
    })
}

/// What the diagram shows, taken from the app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiagramPanel {
    /// What the counts cover (`counts for port 10000 · a: all ports`).
    pub scope: String,
    pub counts: StateCounts,
    /// Connections in ESTABLISHED still waiting in an accept queue.
    pub not_accepted: u64,
    pub selected: TcpState,
    /// The states that just gained sockets, and how many.
    pub gained: Vec<(TcpState, u64)>,
    /// The arrows a connection took in the last `FLASH_MS`.
    pub lit: HashSet<(TcpState, TcpState)>,
    /// The accept queue under LISTEN, the next SYN retry under SYN_SENT.
    pub notes: Vec<(TcpState, String, Attention)>,
}

impl DiagramPanel {
    pub(crate) fn of(app: &App) -> DiagramPanel {
        let diagram = app.diagram();
        let figures = diagram.figures();
        DiagramPanel {
            scope: scope_title(app),
            counts: figures.counts,
            not_accepted: figures.not_accepted,
            selected: diagram.selected,
            gained: TcpState::ALL
                .into_iter()
                .filter_map(|state| Some((state, diagram.flash(state, app.now_ms())?)))
                .collect(),
            lit: taken_edges(app),
            notes: TcpState::ALL
                .into_iter()
                .filter_map(|state| {
                    let (note, level) = bottom_note(app, state)?;
                    Some((state, note, level))
                })
                .collect(),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&DiagramPanel::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &DiagramPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = Block::bordered()
        .title(Span::styled(
            format!(" TCP state diagram · {} ", panel.scope),
            theme.title(),
        ))
        .border_style(theme.focused_border());
    let inner = block.inner(area);
    block.render(area, buf);
    let origin = (inner.x + inner.width.saturating_sub(WIDTH) / 2, inner.y);
    let mut canvas = Canvas::new(buf, inner, origin);
    for edge in &EDGES {
        if let Some(arrow) = arrow_for(edge) {
            let lit = panel.lit.contains(&(edge.from, edge.to));
            draw_arrow(&mut canvas, &arrow, edge, lit, theme);
        }
    }
    canvas.put(59, 16, "CLOSED", theme.attention(Attention::Normal));
    canvas.put(
        20,
        8,
        "◀ active close: this side calls close() first",
        theme.dim(),
    );
    canvas.put_ending_at(
        78,
        9,
        "passive close: the peer's FIN comes first ▶",
        theme.dim(),
    );
    for state in TcpState::ALL {
        draw_state(&mut canvas, panel, state, theme);
    }
}

/// `counts for port 10000 · a: all ports` or `counts for all watched ports (3)`.
pub(crate) fn scope_title(app: &App) -> String {
    match app.diagram().scope {
        DiagramScope::AllWatched => {
            format!("counts for all watched ports ({})", app.port_rows().len())
        }
        DiagramScope::Port(port) => format!("counts for port {port} · a: all ports"),
    }
}

/// Whether a port is covered by the diagram's scope.
pub(crate) fn in_scope(app: &App, port: u16) -> bool {
    match app.diagram().scope {
        DiagramScope::AllWatched => app.port_rows().iter().any(|r| r.port == port),
        DiagramScope::Port(p) => p == port,
    }
}

/// Whether a logged change concerns the ports in scope. With all ports and
/// no live filter, every change counts, including those of ports that have
/// no socket left.
pub(crate) fn transition_in_scope(app: &App, transition: &Transition) -> bool {
    if app.diagram().scope == DiagramScope::AllWatched && !app.filter().is_active() {
        return true;
    }
    in_scope(app, transition.local.port()) || in_scope(app, transition.remote.port())
}

/// The arrows connections in scope took during the last `FLASH_MS`.
fn taken_edges(app: &App) -> HashSet<(TcpState, TcpState)> {
    let now = app.now_ms();
    let mut taken = HashSet::new();
    for transition in app.transitions().newest_first() {
        if transition.at_ms.saturating_add(FLASH_MS) <= now {
            break;
        }
        if transition.at_ms > app.history_until_ms() || !transition_in_scope(app, transition) {
            continue;
        }
        let path: Vec<TcpState> = match &transition.change {
            Change::Moved { from, to, skipped } => std::iter::once(*from)
                .chain(skipped.iter().copied())
                .chain(std::iter::once(*to))
                .collect(),
            Change::Appeared(state @ (TcpState::Listen | TcpState::SynSent)) => {
                vec![TcpState::Close, *state]
            }
            Change::Gone(state) => vec![*state, TcpState::Close],
            _ => Vec::new(),
        };
        for pair in path.windows(2) {
            taken.insert((pair[0], pair[1]));
        }
    }
    taken
}

fn draw_arrow(canvas: &mut Canvas, arrow: &Arrow, edge: &DiagramEdge, lit: bool, theme: &Theme) {
    let line_style = if lit { theme.lit() } else { theme.arrow() };
    let label_style = if lit { theme.lit() } else { Style::new() };
    match *arrow {
        Arrow::Across {
            y,
            from,
            to,
            leftwards,
        } => {
            let width = to - from + 1;
            let shaft = "─".repeat(usize::from(width - 1));
            let line = if leftwards {
                format!("◀{shaft}")
            } else {
                format!("{shaft}▶")
            };
            canvas.put(from, y, &line, line_style);
            canvas.put_centered(from, y - 1, width, edge.cause, label_style);
            canvas.put_centered(from, y + 1, width, edge.then, theme.dim());
        }
        Arrow::Down { x, y, labels_left } => {
            canvas.put(x, y, "│", line_style);
            canvas.put(x, y + 1, "▼", line_style);
            if labels_left {
                canvas.put_ending_at(x - 2, y, edge.cause, label_style);
                canvas.put_ending_at(x - 2, y + 1, edge.then, theme.dim());
            } else {
                canvas.put(x + 2, y, edge.cause, label_style);
                canvas.put(x + 2, y + 1, edge.then, theme.dim());
            }
        }
    }
}

fn draw_state(canvas: &mut Canvas, panel: &DiagramPanel, state: TcpState, theme: &Theme) {
    let (x, y, width) = box_at(state);
    let count = panel.counts.get(state);
    let selected = panel.selected == state;
    let flash = panel
        .gained
        .iter()
        .find(|(s, _)| *s == state)
        .map(|(_, gained)| *gained);
    let occupied = count > 0;
    let border = if selected {
        theme.focused_border()
    } else if occupied {
        theme.state(state)
    } else {
        theme.border()
    };
    let [tl, tr, bl, br, h, v] = if selected {
        ["┏", "┓", "┗", "┛", "━", "┃"]
    } else {
        ["┌", "┐", "└", "┘", "─", "│"]
    };
    let inner = width - 2;
    let rule = h.repeat(usize::from(inner));
    canvas.put(x, y, &format!("{tl}{rule}{tr}"), border);
    canvas.put(x, y + 1, v, border);
    canvas.put(x + width - 1, y + 1, v, border);
    canvas.put(x, y + 2, &format!("{bl}{rule}{br}"), border);

    let name = format!(" {} ", diagram_name(state));
    let name_style = if selected {
        theme.selected().add_modifier(Modifier::BOLD)
    } else if occupied {
        theme.strong(state)
    } else {
        theme.dim()
    };
    canvas.put_centered(x + 1, y, inner, &name, name_style);

    let middle = middle_text(state, count, flash);
    let middle_style = if flash.is_some() {
        theme.flash()
    } else if occupied {
        theme.strong(state)
    } else {
        theme.dim()
    };
    if state == TcpState::Established {
        let count_text = format!(" {middle} ");
        canvas.put(x + 2, y + 1, &count_text, middle_style);
        let note = match panel.not_accepted {
            0 => ACCEPT_NOTE.to_string(),
            n => format!(
                "{n} wait in the accept queue (no process yet); accept() takes them out, the state stays"
            ),
        };
        let used = u16::try_from(count_text.chars().count()).unwrap_or(inner);
        let room = usize::from(inner.saturating_sub(used + 3));
        canvas.put(
            x + 3 + used,
            y + 1,
            &format!("· {}", format::fit(&note, room.saturating_sub(2))),
            theme.dim(),
        );
    } else {
        canvas.put_centered(x + 1, y + 1, inner, &middle, middle_style);
    }
    if let Some((_, note, level)) = panel.notes.iter().find(|(s, _, _)| *s == state) {
        let text = format!(" {} ", format::fit(note, usize::from(inner - 2)));
        canvas.put_centered(x + 1, y + 2, inner, &text, theme.attention(*level));
    }
}

fn middle_text(state: TcpState, count: u64, flash: Option<u64>) -> String {
    let figure = if count == 0 {
        if state == TcpState::Close {
            "no socket".to_string()
        } else {
            "·".to_string()
        }
    } else {
        format::count(count)
    };
    match flash {
        Some(gained) => format!("{figure} +{gained}"),
        None => figure,
    }
}

/// A short line in a box's bottom border: the accept queue under LISTEN,
/// the next SYN retry under SYN_SENT.
fn bottom_note(app: &App, state: TcpState) -> Option<(String, Attention)> {
    match state {
        TcpState::Listen => {
            let listeners: Vec<_> = app
                .listener_sockets()
                .filter(|l| in_scope(app, l.summary.port()))
                .collect();
            match listeners.as_slice() {
                [] => None,
                [one] => {
                    let summary = &one.summary;
                    let full = summary.is_full() == Some(true);
                    let backlog = summary
                        .backlog
                        .map_or_else(|| "?".to_string(), |b| b.to_string());
                    let text = format!(
                        "q {}/{backlog}{}",
                        summary.accept_queue,
                        if full { " FULL" } else { "" }
                    );
                    Some((
                        text,
                        if full {
                            Attention::Critical
                        } else {
                            Attention::Quiet
                        },
                    ))
                }
                many => {
                    let full = many
                        .iter()
                        .filter(|l| l.summary.is_full() == Some(true))
                        .count();
                    (full > 0).then(|| (format!("{full} FULL"), Attention::Critical))
                }
            }
        }
        TcpState::SynSent => {
            let retry = app.diagram().figures().next_syn_retry?;
            let left = format::seconds_left(retry.left_ms(app.now_ms()));
            Some((
                format!("↻#{} in {left}", u32::from(retry.retransmits) + 1),
                Attention::Warning,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "diagram_tests.rs"]
mod tests;
