//! The alerts panel: active alerts with their cause and fix, then the log
//! of raised/cleared events with times.
//!
//! Owns: `AlertsPanel` (what the panel shows, taken from the app) and the
//! alert lines. Must not: mutate the app or judge anything.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::Command;
use crate::app::alerts::severity_label;
use crate::app::keymap::{Screen, key_for};
use crate::app::{AlertLogEntry, AlertView, App, Focus, LogEvent, Severity};
use crate::format::timestamp::format_hms;

fn severity_attention(severity: Severity) -> Attention {
    match severity {
        Severity::Critical => Attention::Critical,
        Severity::Warning => Attention::Warning,
        Severity::Info => Attention::Normal,
    }
}

fn active_lines(
    alert: &AlertView,
    width: usize,
    detail_lines: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let style = theme.attention(severity_attention(alert.severity));
    let repeats = if alert.fire_count > 1 {
        format!(" · ×{}", alert.fire_count)
    } else {
        String::new()
    };
    let indent = "     ";
    let text_width = width.saturating_sub(DETAIL_INDENT);
    let detail = |label: &'static str, text: &str| -> Vec<Line<'static>> {
        format::wrap(text, text_width, detail_lines)
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                Line::from(vec![
                    Span::raw(indent),
                    Span::styled(if i == 0 { label } else { "     " }, theme.dim()),
                    Span::raw(part),
                ])
            })
            .collect()
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", severity_label(alert.severity)), style),
        Span::styled(alert.title.clone(), style),
        Span::styled(
            format!(" · since {}{repeats}", format_hms(alert.since_ms)),
            theme.dim(),
        ),
    ])];
    if detail_lines > 0 {
        lines.extend(detail("what ", &alert.summary));
        lines.extend(detail("why  ", &alert.cause));
        lines.extend(detail("fix  ", &alert.fix));
    }
    lines
}

fn log_style(entry: &AlertLogEntry, theme: &Theme) -> ratatui::style::Style {
    match entry.event {
        LogEvent::Raised => theme.attention(severity_attention(entry.alert.severity)),
        LogEvent::Cleared => theme.good(),
        LogEvent::Counter if entry.alert.severity >= Severity::Warning => {
            theme.attention(Attention::Warning)
        }
        LogEvent::Counter => theme.dim(),
    }
}

/// The log line's text: the title, and for a run of counter jumps when
/// the last one was.
fn log_text(entry: &AlertLogEntry) -> String {
    if entry.event == LogEvent::Counter && entry.alert.last_seen_ms > entry.at_ms {
        format!(
            "{} · until {}",
            entry.alert.title,
            format_hms(entry.alert.last_seen_ms)
        )
    } else {
        entry.alert.title.clone()
    }
}

/// What the alerts panel shows, taken from the app.
#[derive(Debug, Clone)]
pub(crate) struct AlertsPanel<'a> {
    /// Most severe first, then oldest.
    pub active: &'a [AlertView],
    /// Newest first.
    pub log: Vec<&'a AlertLogEntry>,
    pub focused: bool,
    /// The selected item: active alerts, then the log.
    pub selected: usize,
}

impl<'a> AlertsPanel<'a> {
    pub(crate) fn of(app: &'a App) -> AlertsPanel<'a> {
        let board = app.alerts();
        AlertsPanel {
            active: board.active(),
            log: board.log().collect(),
            focused: app.focus() == Focus::Alerts,
            selected: app.alert_selected(),
        }
    }

    fn item_count(&self) -> usize {
        self.active.len() + self.log.len()
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&AlertsPanel::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &AlertsPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let focused = panel.focused;
    let title_style = if panel.active.is_empty() {
        theme.title()
    } else {
        theme.attention(Attention::Critical)
    };
    let hint = if focused && panel.item_count() > 0 {
        format!("· {} full text ", key_for(Screen::Dashboard, Command::Open))
    } else {
        String::new()
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Alerts ({} active) {hint}", panel.active.len()),
            title_style,
        ))
        .border_type(theme.panel_border(focused).0)
        .border_style(theme.panel_border(focused).1);
    let (items, skip) = item_lines(panel, area, theme);
    let visible: Vec<Line> = items
        .into_iter()
        .flat_map(|(_, lines)| lines)
        .skip(skip)
        .collect();
    Paragraph::new(visible).block(block).render(area, buf);
}

/// The item (active alert, then log entry) drawn on line `line` of the
/// panel's inside, for a click.
pub fn item_at(app: &App, area: Rect, line: usize) -> Option<usize> {
    let (items, skip) = item_lines(&AlertsPanel::of(app), area, &Theme::new(false));
    let mut at = 0;
    for (index, lines) in items {
        at += lines.len();
        if at > line + skip {
            return index;
        }
    }
    None
}

/// The panel's lines grouped by item (`None` for lines that are no item),
/// and how many lines scroll off the top.
type ItemLines = (Vec<(Option<usize>, Vec<Line<'static>>)>, usize);

fn item_lines(panel: &AlertsPanel, area: Rect, theme: &Theme) -> ItemLines {
    let active = panel.active;
    let width = usize::from(area.width.saturating_sub(2));
    let rows = usize::from(area.height.saturating_sub(2));
    let selected = panel.focused.then_some(panel.selected);
    // (item index, lines); the log's heading belongs to no item.
    let mut items: Vec<(Option<usize>, Vec<Line>)> = Vec::new();
    if active.is_empty() {
        items.push((
            None,
            vec![Line::from(Span::styled("no active alerts", theme.good()))],
        ));
    }
    // As much of each explanation as fits with every active alert visible:
    // an alert takes a headline plus what/why/fix of `detail_lines` each.
    // When even one line each does not fit, only the headlines are shown.
    let text_width = width.saturating_sub(DETAIL_INDENT);
    let full_lengths: Vec<[usize; 3]> = active
        .iter()
        .map(|a| {
            [&a.summary, &a.cause, &a.fix]
                .map(|text| format::wrap(text, text_width, usize::MAX).len().max(1))
        })
        .collect();
    let needed = |cap: usize| -> usize {
        full_lengths
            .iter()
            .map(|fields| 1 + fields.iter().map(|n| (*n).min(cap)).sum::<usize>())
            .sum()
    };
    let detail_lines = (1..=MAX_DETAIL_LINES)
        .rev()
        .find(|cap| needed(*cap) <= rows)
        .unwrap_or(0);
    for (index, alert) in active.iter().enumerate() {
        let mut lines = active_lines(alert, width, detail_lines, theme);
        if selected == Some(index)
            && let Some(first) = lines.first_mut()
        {
            *first = mark_selected(first.clone(), theme);
        }
        items.push((Some(index), lines));
    }
    if !panel.log.is_empty() {
        items.push((
            None,
            vec![Line::from(Span::styled(
                format!(
                    "── log ({}) · {} clears ──",
                    panel.log.len(),
                    key_for(Screen::Dashboard, Command::ClearAlertLog)
                ),
                theme.dim(),
            ))],
        ));
    }
    for (i, entry) in panel.log.iter().enumerate() {
        let index = active.len() + i;
        let line = Line::from(vec![
            Span::styled(format!("{} ", format_hms(entry.at_ms)), theme.dim()),
            Span::styled(
                format!("{:<7} ", entry.event.label()),
                log_style(entry, theme),
            ),
            Span::raw(log_text(entry)),
        ]);
        let line = if selected == Some(index) {
            mark_selected(line, theme)
        } else {
            line
        };
        items.push((Some(index), vec![line]));
    }
    // Scroll just enough that the selected item is wholly visible.
    let mut start_of_selected = 0;
    let mut end_of_selected = 0;
    let mut line_count = 0;
    for (index, lines) in &items {
        if *index == selected && selected.is_some() {
            start_of_selected = line_count;
            end_of_selected = line_count + lines.len();
        }
        line_count += lines.len();
    }
    let skip = end_of_selected.saturating_sub(rows).min(start_of_selected);
    (items, skip)
}

/// Columns before an alert's what/why/fix text: the indent and the label.
const DETAIL_INDENT: usize = 10;

/// The most lines of each of what/why/fix shown in the panel; Enter shows
/// the whole text.
const MAX_DETAIL_LINES: usize = 8;

/// The selected item: a `▶` in front and reverse video, so it shows
/// without colour too.
fn mark_selected(line: Line<'static>, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled("▶", theme.selected())];
    spans.extend(
        line.spans
            .into_iter()
            .map(|span| span.patch_style(theme.selected())),
    );
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_buffer;

    const AT_MS: u64 = 1_795_470_039_000;

    fn alert(title: &str, severity: Severity) -> AlertView {
        AlertView {
            kind: "backlog_full".to_string(),
            subject: "127.0.0.1:10002".to_string(),
            title: title.to_string(),
            severity,
            summary: "2 connections wait in a queue that holds 2.".to_string(),
            cause: "the app does not call accept() fast enough.".to_string(),
            fix: "accept() sooner, or raise the backlog.".to_string(),
            since_ms: AT_MS,
            last_seen_ms: AT_MS,
            fire_count: 1,
        }
    }

    fn drawn(panel: &AlertsPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    fn one_active_one_logged() -> (AlertView, AlertLogEntry) {
        let active = alert("backlog full on 127.0.0.1:10002", Severity::Critical);
        let entry = AlertLogEntry {
            at_ms: AT_MS - 5_000,
            event: LogEvent::Cleared,
            alert: alert("SYN flood on :10000", Severity::Warning),
        };
        (active, entry)
    }

    #[test]
    fn active_alerts_explain_themselves_above_the_log() {
        let (active, entry) = one_active_one_logged();
        let active = [active];
        let panel = AlertsPanel {
            active: &active,
            log: vec![&entry],
            focused: true,
            selected: 1,
        };
        assert_eq!(
            drawn(&panel, 60, 9),
            Buffer::with_lines([
                "┏ Alerts (1 active) · ⏎ full text ━━━━━━━━━━━━━━━━━━━━━━━━━┓",
                "┃CRIT backlog full on 127.0.0.1:10002 · since 21:40:39     ┃",
                "┃     what 2 connections wait in a queue that holds 2.     ┃",
                "┃     why  the app does not call accept() fast enough.     ┃",
                "┃     fix  accept() sooner, or raise the backlog.          ┃",
                "┃── log (1) · c clears ──                                  ┃",
                "┃▶21:40:34 CLEARED SYN flood on :10000                     ┃",
                "┃                                                          ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
        // Short of room, the headlines stay and the explanations go.
        assert_eq!(
            drawn(&panel, 60, 5),
            Buffer::with_lines([
                "┏ Alerts (1 active) · ⏎ full text ━━━━━━━━━━━━━━━━━━━━━━━━━┓",
                "┃CRIT backlog full on 127.0.0.1:10002 · since 21:40:39     ┃",
                "┃── log (1) · c clears ──                                  ┃",
                "┃▶21:40:34 CLEARED SYN flood on :10000                     ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
    }

    #[test]
    fn the_selected_item_scrolls_into_view() {
        let (active, entry) = one_active_one_logged();
        let active = [active];
        let panel = AlertsPanel {
            active: &active,
            log: vec![&entry],
            focused: true,
            selected: 1,
        };
        assert_eq!(
            drawn(&panel, 60, 4),
            Buffer::with_lines([
                "┏ Alerts (1 active) · ⏎ full text ━━━━━━━━━━━━━━━━━━━━━━━━━┓",
                "┃── log (1) · c clears ──                                  ┃",
                "┃▶21:40:34 CLEARED SYN flood on :10000                     ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
    }

    #[test]
    fn no_alert_is_good_news() {
        let panel = AlertsPanel {
            active: &[],
            log: Vec::new(),
            focused: false,
            selected: 0,
        };
        assert_eq!(
            drawn(&panel, 40, 3),
            Buffer::with_lines([
                "┌ Alerts (0 active) ───────────────────┐",
                "│no active alerts                      │",
                "└──────────────────────────────────────┘",
            ])
        );
    }
}
