//! The alerts panel: active alerts with their cause and fix, then the log
//! of raised/cleared events with times.
//!
//! Owns: the alert lines. Must not: mutate the app or judge anything.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::alerts::severity_label;
use crate::app::{AlertView, App, Focus, LogEvent, Severity};
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
    let text_width = width.saturating_sub(indent.len() + 5);
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

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let board = app.alerts();
    let active = board.active();
    let title_style = if active.is_empty() {
        theme.title()
    } else {
        theme.attention(Attention::Critical)
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Alerts ({} active) ", active.len()),
            title_style,
        ))
        .border_style(if app.focus() == Focus::Alerts {
            theme.focused_border()
        } else {
            theme.border()
        });
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    if active.is_empty() {
        lines.push(Line::from(Span::styled("no active alerts", theme.good())));
    }
    // As much of each explanation as fits with every active alert visible:
    // an alert takes a headline plus what/why/fix of `detail_lines` each.
    let rows = usize::from(area.height.saturating_sub(2));
    // When even one line each does not fit, only the headlines are shown.
    let detail_lines = (1..=3)
        .rev()
        .find(|lines| active.len() * (1 + 3 * lines) <= rows)
        .unwrap_or(0);
    for alert in active {
        lines.extend(active_lines(alert, width, detail_lines, theme));
    }
    if board.log_len() > 0 {
        lines.push(Line::from(Span::styled(
            format!("── log ({}) · c clears ──", board.log_len()),
            theme.dim(),
        )));
    }
    for entry in board.log() {
        let style = match entry.event {
            LogEvent::Raised => theme.attention(severity_attention(entry.alert.severity)),
            LogEvent::Cleared => theme.good(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", format_hms(entry.at_ms)), theme.dim()),
            Span::styled(format!("{:<7} ", entry.event.label()), style),
            Span::raw(entry.alert.title.clone()),
        ]));
    }
    let visible: Vec<Line> = lines.into_iter().skip(app.alerts_offset()).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
