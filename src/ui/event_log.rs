//! The transition log when exact kernel events are on: every state change,
//! RST, drop and retransmit the tracepoints saw, newest first, with its time
//! to the microsecond and `●` (seen); the overflows that no event covers,
//! attributed as polling does, with `○` (inferred). Lost records are told in
//! the title.
//!
//! Owns: the exact log's lines. Must not: mutate the app or read the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::diagram::in_scope;
use super::theme::{Attention, Theme};
use super::transition_log::tuple;
use crate::app::{App, DiagramScope, ExactEntry};
use crate::format::timestamp::{format_hms, format_hms_micros};
use crate::model::TcpState;
use crate::model::event::EventKind;
use crate::model::event_ledger::EventLine;
use crate::output::event_text::{INFERRED, SEEN};

fn everything_in_scope(app: &App) -> bool {
    app.diagram().scope == DiagramScope::AllWatched && !app.filter().is_active()
}

fn entry_in_scope(app: &App, entry: &ExactEntry) -> bool {
    if everything_in_scope(app) {
        return true;
    }
    match entry {
        ExactEntry::Seen(line) => {
            line.port.is_some_and(|port| in_scope(app, port))
                || [line.event.local, line.event.remote]
                    .iter()
                    .flatten()
                    .any(|addr| in_scope(app, addr.port()))
        }
        ExactEntry::Inferred { overflows, .. } => {
            overflows.full_listeners.is_empty()
                || overflows
                    .full_listeners
                    .iter()
                    .any(|listener| in_scope(app, listener.port()))
        }
    }
}

/// A state change from its parts, so states get their colours and a
/// shared address shortens: `127.0.0.1:40000 → :10000  SYN_SENT → ESTABLISHED  recv SYN-ACK, send ACK`.
fn state_change_spans(
    line: &EventLine,
    (from, to): (TcpState, TcpState),
    short: bool,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let (Some(local), Some(remote)) = (line.event.local, line.event.remote) else {
        return vec![Span::raw(line.text.clone())];
    };
    // CLOSED, as the diagram names the state of no socket.
    let name = |state: TcpState| match state {
        TcpState::Close => "CLOSED",
        other => other.name(),
    };
    let from = if from == TcpState::Listen && to == TcpState::SynRecv {
        Span::raw("new")
    } else {
        Span::styled(name(from), theme.strong(from))
    };
    vec![
        Span::raw(tuple(local, remote, short)),
        Span::raw("  "),
        from,
        Span::raw(" → "),
        Span::styled(name(to), theme.strong(to)),
        Span::raw("  "),
        Span::styled(line.cause, theme.dim()),
    ]
}

fn entry_line(entry: &ExactEntry, short: bool, theme: &Theme) -> Line<'static> {
    match entry {
        ExactEntry::Seen(line) => {
            let mut spans = vec![
                Span::styled(SEEN, theme.good()),
                Span::raw(" "),
                Span::styled(format_hms_micros(line.event.at_us), theme.dim()),
                Span::raw("  "),
            ];
            match (line.states, line.event.kind) {
                (Some(states), _) => spans.extend(state_change_spans(line, states, short, theme)),
                (None, EventKind::RstSent { .. } | EventKind::RstReceived) => spans.push(
                    Span::styled(line.text.clone(), theme.attention(Attention::Warning)),
                ),
                (None, EventKind::Drop { .. }) => {
                    spans.push(Span::styled(line.text.clone(), theme.lit()));
                }
                (None, _) => spans.push(Span::raw(line.text.clone())),
            }
            Line::from(spans)
        }
        ExactEntry::Inferred { at_ms, overflows } => Line::from(vec![
            Span::styled(INFERRED, theme.lit()),
            Span::raw(" "),
            // A sample's time: no microseconds to give.
            Span::styled(format!("{:<15}", format_hms(*at_ms)), theme.dim()),
            Span::raw("  "),
            Span::styled(overflows.text(), theme.lit()),
        ]),
    }
}

/// The newest exact changes into or out of `state` in scope (at most
/// `limit`), as `21:40:00.220311 127.0.0.1:45000 → :9000 FIN_WAIT2 → TIME_WAIT`,
/// for the explanation overlay. Empty when events are off.
pub(crate) fn exact_changes_of(app: &App, state: TcpState, limit: usize) -> Vec<String> {
    let name = |state: TcpState| match state {
        TcpState::Close => "CLOSED",
        other => other.name(),
    };
    app.exact_events()
        .newest_first()
        .filter(|entry| entry_in_scope(app, entry))
        .filter_map(|entry| match entry {
            ExactEntry::Seen(line) => {
                let (from, to) = line.states?;
                let (local, remote) = (line.event.local?, line.event.remote?);
                (from == state || to == state).then(|| {
                    format!(
                        "{} {} {} → {}",
                        format_hms_micros(line.event.at_us),
                        tuple(local, remote, true),
                        name(from),
                        name(to)
                    )
                })
            }
            ExactEntry::Inferred { .. } => None,
        })
        .take(limit)
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let exact = app.exact_events();
    let until_us = app
        .history_until_ms()
        .saturating_mul(1000)
        .saturating_add(999_999);
    let entries: Vec<&ExactEntry> = exact
        .newest_first()
        .filter(|e| e.at_us() <= until_us && entry_in_scope(app, e))
        .collect();
    let offset = app
        .diagram()
        .log_offset
        .min(entries.len().saturating_sub(1));
    let position = if offset > 0 {
        format!(" · from {}", offset + 1)
    } else {
        String::new()
    };
    let lost = exact.lost();
    let mut title = vec![Span::styled(
        format!(" Transitions ({}) ", entries.len()),
        theme.title(),
    )];
    if lost > 0 {
        title.push(Span::styled(
            format!("· {lost} events lost: the log is incomplete "),
            theme.attention(Attention::Critical),
        ));
    }
    title.push(Span::styled(
        format!(
            "· {SEEN} seen by the kernel, {INFERRED} inferred · newest first{position} · c clears "
        ),
        theme.title(),
    ));
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.border());
    let short = area.width < 140;
    let lines: Vec<Line> = if entries.is_empty() {
        vec![Line::from(Span::styled(
            "no event yet: every state change, RST and drop of the ports in scope shows here the moment the kernel reports it",
            theme.dim(),
        ))]
    } else {
        entries
            .iter()
            .skip(offset)
            .take(usize::from(area.height.saturating_sub(2)))
            .map(|e| entry_line(e, short, theme))
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block).style(Style::new()), area);
}
