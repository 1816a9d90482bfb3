//! The transition log: the newest state changes of the connections in the
//! diagram's scope, each with its time, 4-tuple, `FROM → TO (+1.0 s)`, the
//! states it passed between samples, and the call or event behind it. SYN
//! retransmits show when the next retry is due. Changes of many connections
//! at once (same time, same change, same peer) are shown once with `×N`.
//!
//! Owns: the log panel's lines. Must not: mutate the app or read the clock.

use std::net::SocketAddr;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::diagram::transition_in_scope;
use super::format;
use super::theme::Theme;
use crate::app::App;
use crate::format::timestamp::format_hms;
use crate::model::TcpState;
use crate::model::transitions::{Change, Transition};
use crate::watch::MAX_FOLLOWED;

/// Changes of several connections shown as one line.
struct Group<'a> {
    first: &'a Transition,
    count: usize,
}

fn same_group(a: &Transition, b: &Transition) -> bool {
    a.at_ms == b.at_ms
        && a.change == b.change
        && a.cause == b.cause
        && (a.local == b.local || (a.remote == b.remote && a.remote.port() != 0))
}

fn groups(app: &App) -> Vec<Group<'_>> {
    let until = app.history_until_ms();
    let mut groups: Vec<Group> = Vec::new();
    // Groups of the same sample are merged; `batch` is where that sample's
    // groups start.
    let mut batch = 0;
    for transition in app
        .transitions()
        .newest_first()
        .filter(|t| t.at_ms <= until && transition_in_scope(app, t))
    {
        if groups
            .last()
            .is_some_and(|g| g.first.at_ms != transition.at_ms)
        {
            batch = groups.len();
        }
        match groups[batch..]
            .iter_mut()
            .find(|g| same_group(g.first, transition))
        {
            Some(group) => group.count += 1,
            None => groups.push(Group {
                first: transition,
                count: 1,
            }),
        }
    }
    groups
}

/// `127.0.0.1:40003 → 127.0.0.1:10000`, or `127.0.0.1:40003 → :10000` when
/// both ends share the address and space is short.
pub(crate) fn tuple(local: SocketAddr, remote: SocketAddr, short: bool) -> String {
    if remote.port() == 0 {
        format!("{local} (listening)")
    } else if short && local.ip() == remote.ip() {
        format!("{local} → :{}", remote.port())
    } else {
        format!("{local} → {remote}")
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The change, as spans: `SYN_SENT → ESTABLISHED (+1.0 s)`.
fn change_spans(transition: &Transition, theme: &Theme) -> Vec<Span<'static>> {
    let name = |state: TcpState| Span::styled(state.name(), theme.strong(state));
    let after = transition
        .after_ms
        .map(|ms| Span::raw(format!(" (+{})", seconds(ms))))
        .unwrap_or_else(|| Span::raw(""));
    match &transition.change {
        Change::Moved { from, to, skipped } => {
            let mut spans = vec![name(*from), Span::raw(" → "), name(*to), after];
            if !skipped.is_empty() {
                let via: Vec<&str> = skipped.iter().map(|s| s.name()).collect();
                spans.push(Span::styled(
                    format!(" via {}", via.join(", ")),
                    theme.lit(),
                ));
            }
            spans
        }
        Change::Appeared(state @ (TcpState::Listen | TcpState::SynSent)) => {
            vec![Span::raw("CLOSED → "), name(*state)]
        }
        Change::Appeared(state) => vec![Span::raw("new in "), name(*state)],
        Change::Gone(state) => vec![name(*state), Span::raw(" → CLOSED"), after],
        Change::SynRetransmit {
            count,
            next_retry_ms,
        } => vec![
            name(TcpState::SynSent),
            Span::styled(format!(" ↻ SYN #{count}"), theme.lit()),
            Span::raw(format!(
                ", next in {} ({})",
                seconds(u64::from(*next_retry_ms)),
                format_hms(transition.at_ms + u64::from(*next_retry_ms))
            )),
        ],
    }
}

fn group_line(group: &Group, short: bool, theme: &Theme) -> Line<'static> {
    let t = group.first;
    let mut spans = vec![
        Span::styled(format_hms(t.at_ms), theme.dim()),
        Span::raw("  "),
        Span::raw(tuple(t.local, t.remote, short)),
    ];
    if group.count > 1 {
        spans.push(Span::styled(format!(" ×{}", group.count), theme.lit()));
    }
    spans.push(Span::raw("  "));
    spans.extend(change_spans(t, theme));
    spans.push(Span::raw("  "));
    spans.push(Span::styled(t.cause, theme.dim()));
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.exact_events().is_on() {
        return super::event_log::render(frame, area, app, theme);
    }
    let groups = groups(app);
    let offset = app.diagram().log_offset.min(groups.len().saturating_sub(1));
    let followed = if let Some(count) = app.transitions().too_many() {
        format!(
            " · paused: {} sockets, filter with --port to follow them",
            format::count(count as u64)
        )
    } else if app.transitions().truncated() {
        format!(
            " · following the first {}",
            format::count(MAX_FOLLOWED as u64)
        )
    } else {
        String::new()
    };
    let position = if offset > 0 {
        format!(" · from {}", offset + 1)
    } else {
        String::new()
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " Transitions ({}) · newest first{position}{followed} · c clears ",
                groups.len()
            ),
            theme.title(),
        ))
        .border_style(theme.border());
    let short = area.width < 140;
    let off_note = app.exact_events().off_note().map(|note| {
        Line::from(Span::styled(
            format!(
                "{} · these changes are inferred from samples",
                note.trim_start_matches("tcpwatch: ")
            ),
            theme.dim(),
        ))
    });
    let mut lines: Vec<Line> = if groups.is_empty() {
        vec![Line::from(Span::styled(
            "no state change yet: each change of a connection in scope shows here, with the call or event behind it",
            theme.dim(),
        ))]
    } else {
        groups
            .iter()
            .skip(offset)
            .take(usize::from(area.height.saturating_sub(2)))
            .map(|g| group_line(g, short, theme))
            .collect()
    };
    if let Some(note) = off_note {
        lines.insert(0, note);
        lines.truncate(usize::from(area.height.saturating_sub(2)));
    }
    frame.render_widget(Paragraph::new(lines).block(block).style(Style::new()), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_shorten_only_a_shared_address() {
        let a: SocketAddr = "127.0.0.1:40003".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:10000".parse().expect("addr");
        let c: SocketAddr = "10.0.0.9:10000".parse().expect("addr");
        assert_eq!(tuple(a, b, true), "127.0.0.1:40003 → :10000");
        assert_eq!(tuple(a, b, false), "127.0.0.1:40003 → 127.0.0.1:10000");
        assert_eq!(tuple(a, c, true), "127.0.0.1:40003 → 10.0.0.9:10000");
    }
}
