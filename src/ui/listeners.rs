//! One gauge per listening socket: the accept queue against its real
//! capacity (backlog + 1), SYN_RECV, the owner, and a sparkline of the
//! queue over the last seconds.
//!
//! Owns: `ListenersPanel` (what the gauges show, taken from the app), the
//! gauge text and bar. Must not: mutate the app or decide what
//! "full" means (`ListenerSummary::is_full` does, as the kernel does).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::format;
use super::sparkline;
use super::theme::{Attention, Theme};
use crate::app::{App, ExactEvents, Focus, ListenerRole, ListenerRow};
use crate::model::Counter;
use crate::model::history::History;

/// The window the queue sparkline covers.
pub(crate) const SPARK_WINDOW_MS: u64 = 30_000;

/// Attention for a queue: critical when full, a warning one step before.
pub(crate) fn queue_attention(row: &ListenerRow) -> Attention {
    match (row.summary.is_full(), row.summary.backlog) {
        (Some(true), _) => Attention::Critical,
        (Some(false), Some(backlog)) if row.summary.accept_queue >= backlog && backlog > 0 => {
            Attention::Warning
        }
        (None, _) => Attention::Quiet,
        _ => Attention::Normal,
    }
}

/// `2/1 FULL`, `1/1 1 left`, `0/128`, `3/? backlog unknown`.
pub(crate) fn queue_text(row: &ListenerRow) -> String {
    let queue = row.summary.accept_queue;
    match (row.summary.backlog, row.summary.is_full()) {
        (None, _) => format!("{queue}/? backlog unknown"),
        (Some(backlog), Some(true)) => format!("{queue}/{backlog} FULL"),
        (Some(backlog), _) if queue == backlog && backlog > 0 => {
            format!("{queue}/{backlog} 1 left")
        }
        (Some(backlog), _) => format!("{queue}/{backlog}"),
    }
}

/// `[█████░░░░░]` against backlog + 1, never past full; `None` when the
/// backlog is unknown.
pub(crate) fn gauge_bar(row: &ListenerRow, width: usize) -> Option<String> {
    let ratio = row.summary.fill_ratio()?;
    let mut filled = (ratio * width as f64).round() as usize;
    if row.summary.accept_queue > 0 {
        filled = filled.max(1);
    }
    let filled = filled.min(width);
    Some(format!(
        "[{}{}]",
        "█".repeat(filled),
        "░".repeat(width - filled)
    ))
}

fn owner_text(row: &ListenerRow) -> (String, bool) {
    if let ListenerRole::Group { owners, .. } = &row.role {
        return (owners.clone(), true);
    }
    match &row.owner {
        Ok(process) => (format!("{} ({})", process.name, process.pid), true),
        Err(reason) => (reason.explain().to_string(), false),
    }
}

/// The address column: the address (`×N` for a SO_REUSEPORT group), or a
/// tree branch under the group for its members.
fn address_text(row: &ListenerRow) -> String {
    match row.role {
        ListenerRole::Single => row.summary.local.to_string(),
        ListenerRole::Group { members, .. } => format!("{} ×{members}", row.summary.local),
        ListenerRole::Member { last: false } => "  ├ member".to_string(),
        ListenerRole::Member { last: true } => "  └ member".to_string(),
    }
}

/// A group's queue text: the sums, and how many members are full.
fn group_queue_text(row: &ListenerRow, members: &[&ListenerRow]) -> String {
    let full = members
        .iter()
        .filter(|m| m.summary.is_full() == Some(true))
        .count();
    let sums = match row.summary.backlog {
        Some(backlog) => format!("{}/{backlog}", row.summary.accept_queue),
        None => format!("{}/?", row.summary.accept_queue),
    };
    if full > 0 {
        format!("{sums} {full} FULL")
    } else {
        sums
    }
}

/// What the listener gauges show, taken from the app.
#[derive(Debug, Clone)]
pub(crate) struct ListenersPanel<'a> {
    pub rows: &'a [ListenerRow],
    /// Listening sockets (group headings not counted).
    pub sockets: usize,
    /// ListenOverflows and ListenDrops growth over the last interval.
    pub growth: Option<(u64, u64)>,
    pub focused: bool,
    /// No sample yet (rather than no listener).
    pub waiting: bool,
    /// Rows scrolled off the top.
    pub offset: usize,
    /// The queue history behind the sparklines, and where charts stop.
    pub history: Option<(&'a History, u64)>,
    /// Exact kernel events, for each listener's drops and SYN-ACK
    /// retransmits (`None`, or off: not shown).
    pub exact: Option<&'a ExactEvents>,
}

impl<'a> ListenersPanel<'a> {
    pub(crate) fn of(app: &'a App) -> ListenersPanel<'a> {
        ListenersPanel {
            rows: app.listener_rows(),
            sockets: app.listener_sockets().count(),
            growth: app.shown_deltas().map(|d| {
                (
                    d.growth(Counter::ListenOverflows),
                    d.growth(Counter::ListenDrops),
                )
            }),
            focused: app.focus() == Focus::Listeners,
            waiting: app.shown().is_none(),
            offset: app.listeners_offset(),
            history: Some((app.history(), app.history_until_ms())),
            exact: Some(app.exact_events()),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&ListenersPanel::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &ListenersPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let rows = panel.rows;
    let mut title = format!(" Listeners ({}) · accept queue / backlog ", panel.sockets);
    if let Some((overflows, drops)) = panel.growth {
        title.push_str(&format!(
            "· ListenOverflows +{overflows} · ListenDrops +{drops} "
        ));
    }
    let drops_rising = panel.growth.is_some_and(|(overflows, _)| overflows > 0);
    let block = Block::bordered()
        .title(Span::styled(
            title,
            if drops_rising {
                theme.attention(Attention::Critical)
            } else {
                theme.title()
            },
        ))
        .border_type(theme.panel_border(panel.focused).0)
        .border_style(theme.panel_border(panel.focused).1);
    if rows.is_empty() {
        let text = if panel.waiting {
            "waiting for the first sample…"
        } else {
            "no listening socket on the watched ports"
        };
        Paragraph::new(Span::styled(text, theme.dim()))
            .block(block)
            .render(area, buf);
        return;
    }
    let inner_width = usize::from(area.width.saturating_sub(2));
    let wide = inner_width >= 100;
    let address_width = rows
        .iter()
        .map(|r| address_text(r).chars().count())
        .max()
        .unwrap_or(0)
        .min(if wide { 44 } else { 26 });
    let bar_width = if wide { 16 } else { 10 };
    // The members listed under each group heading.
    let members_of = |index: usize| -> Vec<&ListenerRow> {
        rows.iter()
            .skip(index + 1)
            .take_while(|r| matches!(r.role, ListenerRole::Member { .. }))
            .collect()
    };
    let queue_texts: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match r.role {
            ListenerRole::Group { .. } => group_queue_text(r, &members_of(i)),
            _ => queue_text(r),
        })
        .collect();
    let queue_width = queue_texts
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(panel.offset)
        .take(usize::from(area.height.saturating_sub(2)))
        .map(|(index, row)| {
            let level = match row.role {
                ListenerRole::Group { .. } => members_of(index)
                    .into_iter()
                    .map(queue_attention)
                    .max()
                    .unwrap_or(Attention::Normal),
                _ => queue_attention(row),
            };
            let bar = match row.role {
                // The members have the bars; the heading has the sums.
                ListenerRole::Group { .. } => None,
                _ => gauge_bar(row, bar_width),
            };
            let mut spans = vec![
                Span::raw(format!(
                    "{:<address_width$} ",
                    format::fit_keep_end(&address_text(row), address_width)
                )),
                Span::styled(
                    bar.unwrap_or_else(|| " ".repeat(bar_width + 2)),
                    theme.attention(level.max(Attention::Normal)),
                ),
                Span::styled(
                    format!(" {:<queue_width$}", queue_texts[index]),
                    theme.attention(level.max(Attention::Normal)),
                ),
            ];
            let syn_level = if row.summary.syn_recv > 0 {
                Attention::Warning
            } else {
                Attention::Quiet
            };
            spans.push(Span::styled(
                format!(" SYN_RECV {:<3}", row.summary.syn_recv),
                theme.attention(syn_level),
            ));
            let (owner, known) = owner_text(row);
            let owner_width = if wide { 28 } else { 16 };
            spans.push(Span::styled(
                format!(" {:<owner_width$}", format::fit(&owner, owner_width)),
                if known { theme.good() } else { theme.dim() },
            ));
            if let Some(figures) = panel
                .exact
                .and_then(|exact| exact.listener_figures(row.summary.local))
                && !matches!(row.role, ListenerRole::Group { .. })
            {
                // Exact, since the start: named by the kernel in its events.
                let mut parts = Vec::new();
                if figures.drops > 0 {
                    parts.push(format!("drops {}", figures.drops));
                }
                if figures.synack_retransmits > 0 {
                    parts.push(format!("SYN-ACK↻{}", figures.synack_retransmits));
                }
                if !parts.is_empty() {
                    spans.push(Span::styled(
                        format!("{} ", parts.join(" · ")),
                        theme.attention(Attention::Warning),
                    ));
                }
            }
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let spark_width = inner_width.saturating_sub(used + 1).min(40);
            if spark_width >= 6
                && !matches!(row.role, ListenerRole::Member { .. })
                && let Some((history, until)) = panel.history
                && let Some(series) = history.queue_depth(&row.summary.local)
            {
                let end = series
                    .points_until(until)
                    .last()
                    .map_or(row.sampled_at_ms, |(t, _)| t);
                let buckets = sparkline::bucket_max(
                    series.points_until(until),
                    end,
                    SPARK_WINDOW_MS,
                    spark_width,
                );
                let peak = buckets.iter().flatten().copied().max().unwrap_or(0);
                let scale = row
                    .summary
                    .capacity()
                    .map_or(peak, |c| u64::from(c).max(peak));
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    sparkline::bars(&buckets, scale),
                    theme.attention(level.max(Attention::Normal)),
                ));
            }
            Line::from(spans)
        })
        .collect();
    Paragraph::new(lines).block(block).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListenerSummary, NoOwnerReason, ProcessInfo};
    use crate::ui::test_buffer;

    fn row(local: &str, queue: u32, backlog: u32, role: ListenerRole) -> ListenerRow {
        ListenerRow {
            summary: ListenerSummary {
                local: local.parse().expect("address"),
                accept_queue: queue,
                backlog: Some(backlog),
                syn_recv: 0,
                inode: 1,
                uid: 0,
                process: None,
            },
            owner: Ok(ProcessInfo {
                pid: 4242,
                name: "python3".to_string(),
            }),
            sampled_at_ms: 0,
            role,
        }
    }

    fn drawn(panel: &ListenersPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    fn panel(rows: &[ListenerRow]) -> ListenersPanel<'_> {
        ListenersPanel {
            rows,
            sockets: rows.iter().filter(|r| r.is_socket()).count(),
            growth: Some((35, 35)),
            focused: false,
            waiting: false,
            offset: 0,
            history: None,
            exact: None,
        }
    }

    #[test]
    fn gauges_queues_owners_and_reuseport_groups() {
        let mut unknown = row("127.0.0.1:10001", 0, 64, ListenerRole::Single);
        unknown.owner = Err(NoOwnerReason::NotPermitted);
        let group = ListenerRole::Group {
            members: 2,
            owners: "gunicorn ×2".into(),
        };
        let rows = [
            row("127.0.0.1:10002", 2, 1, ListenerRole::Single),
            unknown,
            row("0.0.0.0:8000", 3, 256, group),
            row("0.0.0.0:8000", 3, 128, ListenerRole::Member { last: false }),
            row("0.0.0.0:8000", 0, 128, ListenerRole::Member { last: true }),
        ];
        assert_eq!(
            drawn(&panel(&rows), 90, 7),
            Buffer::with_lines([
                "┌ Listeners (4) · accept queue / backlog · ListenOverflows +35 · ListenDrops +35 ────────┐",
                "│127.0.0.1:10002 [██████████] 2/1 FULL SYN_RECV 0   python3 (4242)                       │",
                "│127.0.0.1:10001 [░░░░░░░░░░] 0/64     SYN_RECV 0   another user's …                     │",
                "│0.0.0.0:8000 ×2              3/256    SYN_RECV 0   gunicorn ×2                          │",
                "│  ├ member      [█░░░░░░░░░] 3/128    SYN_RECV 0   python3 (4242)                       │",
                "│  └ member      [░░░░░░░░░░] 0/128    SYN_RECV 0   python3 (4242)                       │",
                "└────────────────────────────────────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn the_sparkline_follows_the_queue_history() {
        use crate::model::socket::fixtures::listener;
        let mut history = History::default();
        for (i, queue) in [0, 1, 2, 2, 1, 0].into_iter().enumerate() {
            let at_ms = 1_000 * i as u64;
            history.record_listener_sample(at_ms, &[listener("127.0.0.1:10002", queue, 1)]);
        }
        let rows = [row("127.0.0.1:10002", 0, 1, ListenerRole::Single)];
        let mut with_history = panel(&rows);
        with_history.history = Some((&history, u64::MAX));
        with_history.growth = None;
        let buf = drawn(&with_history, 100, 3);
        let line: String = (0..100).map(|x| buf[(x, 1)].symbol()).collect();
        assert!(line.ends_with("│"), "{line}");
        let spark = line.trim_end_matches('│').trim_end();
        assert!(spark.ends_with('▁'), "the queue is empty now: {spark}");
        assert!(
            spark.contains('█'),
            "it was full (2 of capacity 2): {spark}"
        );
    }

    #[test]
    fn without_rows_the_panel_says_why() {
        assert_eq!(
            drawn(&panel(&[]), 50, 3),
            Buffer::with_lines([
                "┌ Listeners (0) · accept queue / backlog · Listen┐",
                "│no listening socket on the watched ports        │",
                "└────────────────────────────────────────────────┘",
            ])
        );
        let waiting = ListenersPanel {
            waiting: true,
            growth: None,
            ..panel(&[])
        };
        assert_eq!(
            drawn(&waiting, 50, 3),
            Buffer::with_lines([
                "┌ Listeners (0) · accept queue / backlog ────────┐",
                "│waiting for the first sample…                   │",
                "└────────────────────────────────────────────────┘",
            ])
        );
    }
}
