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
        Constraint::Length(3),
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

/// `up to 12 s old (median 5 s), 2 not read yet`.
fn staleness_text(list: &NamespacesList) -> String {
    let ages = TableAges::of(list.rows(), list.at_ms().unwrap_or(0));
    let (Some(oldest), Some(median)) = (ages.oldest_ms, ages.median_ms) else {
        return "none read yet".to_string();
    };
    let mut text = format!(
        "up to {} old (median {})",
        age_text(oldest),
        age_text(median)
    );
    if ages.unread > 0 {
        text.push_str(&format!(", {} not read yet", ages.unread));
    }
    text
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
    let second = Line::from(Span::styled(list.cadence.clone(), theme.dim()));
    let third = Line::from(Span::styled(
        format!("{}, {}", list.round_robin, staleness_text(list)),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(vec![first, second, third]), area);
}

/// One figure column of the panel.
struct Column {
    title: &'static str,
    width: usize,
    /// Dropped first when the terminal is narrow: 1 first; 0 never.
    drop_order: u8,
    cell: fn(&NamespaceRow, u64) -> String,
}

const COLUMNS: [Column; 6] = [
    Column {
        title: "SOCKETS",
        width: 7,
        drop_order: 3,
        cell: |row, _| number(row.sockets),
    },
    Column {
        title: "TIME_WAIT",
        width: 9,
        drop_order: 2,
        cell: |row, _| number(row.time_wait),
    },
    Column {
        title: "LISTENERS",
        width: 9,
        drop_order: 4,
        cell: |row, _| row.listeners.to_string(),
    },
    Column {
        title: "FULLEST QUEUE",
        width: 14,
        drop_order: 0,
        cell: |row, _| row.fullest.map_or_else(|| "-".to_string(), |f| f.text()),
    },
    Column {
        title: "OVERFLOW/s",
        width: 10,
        drop_order: 1,
        cell: |row, _| {
            row.overflows_per_sec
                .map_or_else(|| "-".to_string(), |r| format!("{r:.1}"))
        },
    },
    Column {
        title: "TABLE",
        width: 6,
        drop_order: 0,
        cell: |row, now_ms| {
            row.table
                .as_ref()
                .map_or_else(|| "-".to_string(), |t| age_text(t.age_ms(now_ms)))
        },
    },
];

/// Room the ALERTS column keeps before figure columns are dropped.
const ALERTS_AT_LEAST: usize = 24;

/// The figure columns that leave the alerts room in `room` cells: on a
/// narrow terminal OVERFLOW/s goes first, then TIME_WAIT, SOCKETS,
/// LISTENERS; the fullest queue and the table's age always stay.
fn columns_that_fit(room: usize) -> Vec<&'static Column> {
    let mut shown: Vec<&Column> = COLUMNS.iter().collect();
    let needed = |shown: &[&Column]| shown.iter().map(|c| c.width + 1).sum::<usize>() + 2;
    while needed(&shown) + ALERTS_AT_LEAST > room {
        let Some(drop) = shown
            .iter()
            .filter(|c| c.drop_order > 0)
            .min_by_key(|c| c.drop_order)
            .map(|c| c.title)
        else {
            break;
        };
        shown.retain(|c| c.title != drop);
    }
    shown
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
    let shown = columns_that_fit(width.saturating_sub(label_width + 1));
    let used: usize = shown.iter().map(|c| c.width + 1).sum();
    let alerts_width = width.saturating_sub(label_width + 1 + used + 2).max(6);
    let mut heading = format!("{:<label_width$}", "NAMESPACE");
    for column in &shown {
        heading.push_str(&format!(" {:>w$}", column.title, w = column.width));
    }
    heading.push_str("  ALERTS");
    let now_ms = list.at_ms().unwrap_or(0);
    let mut lines = vec![Line::from(Span::styled(heading, theme.dim()))];
    let visible = usize::from(inner.height).saturating_sub(1);
    let selected = list.selected_index().unwrap_or(0);
    let first = selected.saturating_sub(visible.saturating_sub(1));
    for (index, row) in list.rows().iter().enumerate().skip(first).take(visible) {
        let level = attention(row);
        let mut text = fit(&row.label(), label_width);
        for column in &shown {
            text.push_str(&format!(
                " {:>w$}",
                (column.cell)(row, now_ms),
                w = column.width
            ));
        }
        text.push_str("  ");
        text.push_str(&fit(&alerts_cell(row), alerts_width));
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

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::alert::{Alert, AlertKind};
    use crate::collect::namespaces::cgroup::CgroupOrigin;
    use crate::collect::namespaces::discovery::{FoundNamespace, NamespaceId};
    use crate::collect::namespaces::fleet::NamespaceStatus;
    use crate::collect::namespaces::reader::Access;
    use crate::fleet::rows::{Fullest, worst_first};
    use crate::fleet::table::TableFigures;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Sampled, Snapshot, SourceKind, TcpState};

    fn row(id: u64, name: Option<&str>) -> NamespaceRow {
        NamespaceRow::new(NamespaceStatus {
            found: FoundNamespace {
                id: NamespaceId(id),
                is_host: id == 1,
                name: name.map(str::to_string),
                pid: Some(100 + u32::try_from(id).unwrap_or(0)),
                command: Some("python3".into()),
                origin: CgroupOrigin::default(),
            },
            access: Ok(Access::Entered),
        })
    }

    fn alert(kind: AlertKind, subject: &str, severity: Severity) -> Alert {
        Alert {
            kind,
            subject: subject.into(),
            severity,
            summary: "5 sockets in CLOSE_WAIT on port 10002 for 3 consecutive samples".into(),
            cause: String::new(),
            fix: String::new(),
            since_ms: 0,
            last_seen_ms: 0,
            fire_count: 1,
        }
    }

    /// A host, a namespace with a full queue, one with a CLOSE_WAIT leak
    /// found on its round-robin table 7 s ago, one not read yet and one
    /// that cannot be read.
    fn list() -> NamespacesList {
        let mut host = row(1, None);
        host.sockets = Some(412);
        host.time_wait = Some(30);
        host.listeners = 6;
        let mut full = row(2, Some("blue"));
        full.sockets = Some(8);
        full.time_wait = Some(0);
        full.listeners = 1;
        full.fullest = Fullest::of(&[listener("127.0.0.1:10000", 2, 1)]);
        full.alerts.push(alert(
            AlertKind::BacklogFull,
            "127.0.0.1:10000 in netns blue",
            Severity::Critical,
        ));
        let mut leaky = row(3, Some("green"));
        leaky.sockets = Some(11);
        leaky.listeners = 1;
        leaky.alerts.push(alert(
            AlertKind::CloseWaitLeak,
            "port 10002 in netns green",
            Severity::Warning,
        ));
        let mut table = Snapshot::empty(53_000, SourceKind::Netlink);
        table.listeners.push(listener("127.0.0.1:10002", 0, 16));
        for i in 0..5u16 {
            table.sockets.push(record(
                TcpState::CloseWait,
                "127.0.0.1:10002",
                &format!("127.0.0.1:{}", 40000 + i),
            ));
        }
        table.elapsed = std::time::Duration::from_micros(1_800);
        leaky.table = Some(TableFigures::of(&Sampled::from_snapshot(table), false));
        host.table = leaky.table.clone().map(|mut t| {
            t.at_ms = 58_000;
            t
        });
        let quiet = row(4, Some("red"));
        let mut blocked = row(5, None);
        blocked.status.access = Err("entering needs CAP_SYS_ADMIN".into());
        let mut rows = vec![host, full, leaky, quiet, blocked];
        rows.sort_by(worst_first);
        let mut list = NamespacesList::new(
            "node-1".into(),
            false,
            crate::app::namespaces::cadence_text(
                &crate::collect::namespaces::schedule::FleetTiming::new(
                    std::time::Duration::from_secs(1),
                    std::time::Duration::from_millis(100),
                ),
            ),
        );
        list.set_rows(60_000, rows);
        // Select the leaky one: its table in the detail pane.
        list.handle_key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Down,
            crossterm::event::KeyModifiers::NONE,
        ));
        list
    }

    #[test]
    fn the_panel_shows_each_table_age_and_the_selected_table() {
        for (width, height) in [(80, 24), (120, 40), (200, 30)] {
            let mut terminal =
                Terminal::new(TestBackend::new(width, height)).expect("test backend");
            terminal.draw(|frame| render(frame, &list())).expect("draw");
            insta::assert_snapshot!(format!("panel_{width}x{height}"), terminal.backend());
        }
    }
}
