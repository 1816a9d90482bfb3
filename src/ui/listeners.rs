//! One gauge per listening socket: the accept queue against its real
//! capacity (backlog + 1), SYN_RECV, the owner, and a sparkline of the
//! queue over the last seconds.
//!
//! Owns: the gauge text and bar. Must not: mutate the app or decide what
//! "full" means (`ListenerSummary::is_full` does, as the kernel does).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format;
use super::sparkline;
use super::theme::{Attention, Theme};
use crate::app::{App, Focus, ListenerRole, ListenerRow};
use crate::model::Counter;

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

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = app.listener_rows();
    let mut title = format!(
        " Listeners ({}) · accept queue / backlog ",
        app.listener_sockets().count()
    );
    if let Some(deltas) = app.shown_deltas() {
        let overflows = deltas.growth(Counter::ListenOverflows);
        let drops = deltas.growth(Counter::ListenDrops);
        title.push_str(&format!(
            "· ListenOverflows +{overflows} · ListenDrops +{drops} "
        ));
    }
    let drops_rising = app
        .shown_deltas()
        .is_some_and(|d| d.growth(Counter::ListenOverflows) > 0);
    let block = Block::bordered()
        .title(Span::styled(
            title,
            if drops_rising {
                theme.attention(Attention::Critical)
            } else {
                theme.title()
            },
        ))
        .border_type(theme.panel_border(app.focus() == Focus::Listeners).0)
        .border_style(theme.panel_border(app.focus() == Focus::Listeners).1);
    if rows.is_empty() {
        let text = if app.shown().is_none() {
            "waiting for the first sample…"
        } else {
            "no listening socket on the watched ports"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).block(block),
            area,
        );
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
    let until = app.history_until_ms();
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(app.listeners_offset())
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
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let spark_width = inner_width.saturating_sub(used + 1).min(40);
            if spark_width >= 6
                && !matches!(row.role, ListenerRole::Member { .. })
                && let Some(series) = app.history().queue_depth(&row.summary.local)
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
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
