//! The Namespaces panel of `--all-namespaces`: one row per namespace, worst
//! first (label, sockets, TIME_WAIT, listeners, fullest queue `2/1 FULL`,
//! ListenOverflows/s, the age of its latest whole table, active alerts),
//! the selected row's whole-table figures and alerts in full, what appeared
//! or vanished lately, and a header that states what is sampled how often,
//! the round-robin CPU budget and how stale the whole tables are.
//!
//! Owns: how that screen looks. Must not: mutate state, do I/O or read the
//! clock.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::{Attention, Theme};
use crate::alert::Severity;
use crate::app::keymap::{self, Screen};
use crate::app::namespaces::NamespacesList;
use crate::fleet::rows::{NamespaceRow, TableAges};
use crate::fleet::table::age_text;
use crate::format::timestamp::format_hms;

fn attention(row: &NamespaceRow) -> Attention {
    match row.worst_severity() {
        Some(Severity::Critical) => Attention::Critical,
        Some(Severity::Warning) => Attention::Warning,
        _ if row.fullest.is_some_and(|f| f.is_full()) => Attention::Critical,
        _ if row.status.access.is_err() || row.error.is_some() => Attention::Quiet,
        _ => Attention::Normal,
    }
}

fn number(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), |n| n.to_string())
}

/// The ALERTS cell: `CRIT backlog_full ×2, WARN …`, or why it is unreadable.
fn alerts_cell(row: &NamespaceRow) -> String {
    if let Err(why) = &row.status.access {
        return format!("unreadable: {why}");
    }
    if let Some(error) = &row.error {
        return format!("failed: {error}");
    }
    let mut parts: Vec<String> = Vec::new();
    for alert in &row.alerts {
        let text = format!(
            "{} {}",
            match alert.severity {
                Severity::Critical => "CRIT",
                Severity::Warning => "WARN",
                Severity::Info => "info",
            },
            alert.kind.name()
        );
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    parts.join(", ")
}

fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        format!("{text:<width$}")
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub fn render(frame: &mut Frame, list: &NamespacesList) {
    let theme = Theme::new(list.color);
    let area = frame.area();
    let [header, body, detail, news, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(7),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(frame, header, list, &theme);
    render_rows(frame, body, list, &theme);
    render_detail(frame, detail, list, &theme);
    let changes: Vec<String> = list
        .recent()
        .iter()
        .rev()
        .map(|(at, change)| format!("{} {change}", format_hms(*at)))
        .collect();
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(changes.join(" · "), theme.dim()))),
        news,
    );
    let hints: Vec<Span> = keymap::hints_for(Screen::Namespaces)
        .into_iter()
        .enumerate()
        .flat_map(|(i, (key, action))| {
            let gap = if i == 0 { "" } else { "  " };
            [
                Span::raw(gap),
                Span::styled(key, theme.key()),
                Span::raw(format!(" {action}")),
            ]
        })
        .collect();
    let hints = Line::from(hints);
    frame.render_widget(Paragraph::new(hints), footer);
}

fn render_header(frame: &mut Frame, area: Rect, list: &NamespacesList, theme: &Theme) {
    let rows = list.rows();
    let unreadable = rows.iter().filter(|r| r.status.access.is_err()).count();
    let alerting = rows.iter().filter(|r| !r.alerts.is_empty()).count();
    let cost = list
        .self_cost()
        .map(|c| {
            format!(
                " · tcpwatch {:.1}% CPU, {} MiB",
                c.cpu_percent,
                c.rss_kib / 1024
            )
        })
        .unwrap_or_default();
    let at = list
        .at_ms()
        .map(format_hms)
        .unwrap_or_else(|| "--:--:--".into());
    let first = Line::from(vec![
        Span::styled("tcpwatch", theme.title()),
        Span::raw(format!(
            " · {} · all namespaces: {} ({} with alerts, {} unreadable) · {at} UTC{cost}",
            list.host,
            rows.len(),
            alerting,
            unreadable
        )),
    ]);
    let ages = TableAges::of(rows, list.at_ms().unwrap_or(0));
    let mut staleness = match (ages.oldest_ms, ages.median_ms) {
        (Some(oldest), Some(median)) => format!(
            " · whole tables up to {} old (median {})",
            age_text(oldest),
            age_text(median)
        ),
        _ => " · no whole table read yet".to_string(),
    };
    if ages.unread > 0 && ages.oldest_ms.is_some() {
        staleness.push_str(&format!(", {} not read yet", ages.unread));
    }
    let second = Line::from(Span::styled(
        format!("{}{staleness}", list.cadence),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(vec![first, second]), area);
}

fn render_rows(frame: &mut Frame, area: Rect, list: &NamespacesList, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(Span::styled(" Namespaces (worst first) ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let label_width = list
        .rows()
        .iter()
        .map(|r| r.label().chars().count())
        .max()
        .unwrap_or(9)
        .clamp(9, 40);
    let fixed = label_width + 8 + 10 + 10 + 15 + 12 + 7 + 2;
    let alerts_width = width.saturating_sub(fixed).max(6);
    let heading = format!(
        "{:<label_width$} {:>7} {:>9} {:>9} {:>14} {:>11} {:>6}  {}",
        "NAMESPACE",
        "SOCKETS",
        "TIME_WAIT",
        "LISTENERS",
        "FULLEST QUEUE",
        "OVERFLOW/s",
        "TABLE",
        "ALERTS"
    );
    let now_ms = list.at_ms().unwrap_or(0);
    let mut lines = vec![Line::from(Span::styled(heading, theme.dim()))];
    let visible = usize::from(inner.height).saturating_sub(1);
    let selected = list.selected_index().unwrap_or(0);
    let first = selected.saturating_sub(visible.saturating_sub(1));
    for (index, row) in list.rows().iter().enumerate().skip(first).take(visible) {
        let level = attention(row);
        let fullest = row.fullest.map_or_else(|| "-".to_string(), |f| f.text());
        let overflows = row
            .overflows_per_sec
            .map_or_else(|| "-".to_string(), |r| format!("{r:.1}"));
        let table = row
            .table
            .as_ref()
            .map_or_else(|| "-".to_string(), |t| age_text(t.age_ms(now_ms)));
        let text = format!(
            "{} {:>7} {:>9} {:>9} {:>14} {:>11} {:>6}  {}",
            fit(&row.label(), label_width),
            number(row.sockets),
            number(row.time_wait),
            row.listeners,
            fullest,
            overflows,
            table,
            fit(&alerts_cell(row), alerts_width),
        );
        let mut style = theme.attention(level);
        if index == selected {
            style = style.patch(theme.selected());
        }
        let marker = if index == selected { "›" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(marker, style),
            Span::styled(text, style),
        ]));
    }
    if list.rows().is_empty() {
        lines.push(Line::from(Span::styled(
            "looking for namespaces…",
            theme.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `whole table 4 s ago (round-robin, 2.1 ms): 27 sockets · :8080 …`.
fn table_line(row: &NamespaceRow, now_ms: u64, theme: &Theme) -> Line<'static> {
    let Some(table) = &row.table else {
        let why = if row.status.access.is_ok() {
            "whole table not read yet (round-robin): CLOSE_WAIT, TIME_WAIT growth and port rules wait for it"
        } else {
            "no whole table: unreadable"
        };
        return Line::from(Span::styled(why.to_string(), theme.dim()));
    };
    let how = if table.opened {
        "opened"
    } else {
        "round-robin"
    };
    let head = format!(
        "whole table {} ago ({how}, {:.1} ms): {} sockets",
        age_text(table.age_ms(now_ms)),
        table.cost.as_secs_f64() * 1000.0,
        table.sockets
    );
    let ports = table.ports_text();
    let text = if ports.is_empty() {
        head
    } else {
        format!("{head} · {ports}")
    };
    Line::from(Span::styled(text, theme.dim()))
}

fn render_detail(frame: &mut Frame, area: Rect, list: &NamespacesList, theme: &Theme) {
    let title = list
        .selected_row()
        .map(|row| {
            let found = &row.status.found;
            let mut who = format!(" {} · netns:[{}]", found.label(), found.id.0);
            if let Some(pid) = found.pid {
                who.push_str(&format!(" · pid {pid}"));
                if let Some(command) = &found.command {
                    who.push_str(&format!(" {command}"));
                }
            }
            if let Some(container) = &found.origin.container {
                who.push_str(&format!(" · {} {}", container.runtime.name(), container.id));
            }
            who.push(' ');
            who
        })
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(row) = list.selected_row() {
        lines.push(table_line(row, list.at_ms().unwrap_or(0), theme));
        for alert in &row.alerts {
            let level = match alert.severity {
                Severity::Critical => Attention::Critical,
                Severity::Warning => Attention::Warning,
                Severity::Info => Attention::Normal,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", alert.kind.title()), theme.attention(level)),
                Span::raw(format!("on {}: {}", alert.subject, alert.summary)),
            ]));
        }
        if row.alerts.is_empty() {
            lines.push(Line::from(Span::styled("no active alerts", theme.dim())));
        }
    }
    for note in list.notes() {
        lines.push(Line::from(Span::styled(
            format!("note: {note}"),
            theme.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
