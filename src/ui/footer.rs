//! The one-line footer: the keys (read off the key table), or the filter
//! being typed.
//!
//! Owns: the footer's text. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::keymap::{self, Screen};
use crate::app::{App, View};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let line = if app.filter().is_editing() {
        Line::from(vec![
            Span::styled("filter /", theme.key()),
            Span::raw(app.filter().text().to_string()),
            Span::styled("█", theme.key()),
            Span::styled(
                format!("  {}{}", crate::app::filter::FILTER_RULE, filter_keys()),
                theme.dim(),
            ),
        ])
    } else {
        keys_line(area.width, app, theme)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// ` · Enter keep · Esc clear`: the keys while a filter is typed.
fn filter_keys() -> String {
    keymap::hints_for(Screen::Filter)
        .iter()
        .map(|(key, action)| format!(" · {key} {action}"))
        .collect()
}

fn keys_line(width: u16, app: &App, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0usize;
    let view_keys = keymap::hints_for(match app.view() {
        View::Connections(_) => Screen::Connections,
        View::Processes(_) => Screen::Processes,
        View::Dashboard => Screen::Dashboard,
        View::Diagram => Screen::Diagram,
    });
    // While the demo narrates its keys come first, and take over a key the
    // view also names (p pauses the demo, not the screen).
    let mut keys = if app.demo_running() {
        keymap::hints_for(Screen::Demo)
    } else {
        Vec::new()
    };
    let demo_keys: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
    keys.extend(
        view_keys
            .into_iter()
            .filter(|(key, _)| !demo_keys.contains(key)),
    );
    let sort = match (app.view(), app.diagram().scope) {
        (View::Diagram, crate::app::DiagramScope::AllWatched) => "all ports".to_string(),
        (View::Diagram, crate::app::DiagramScope::Port(port)) => format!("port {port}"),
        (View::Connections(view), _) => format!("sort {}", view.sort.label()),
        (View::Processes(view), _) => format!("sort {}", view.sort.label()),
        _ => format!("sort {}", app.sort().label()),
    };
    let budget = usize::from(width).saturating_sub(sort.chars().count() + 1);
    for (key, action) in &keys {
        let (action, style) = match *action {
            "pause" if app.is_paused() => ("resume", theme.paused()),
            "pause demo" if app.narration().is_some_and(|n| n.paused) => {
                ("resume demo", theme.paused())
            }
            other => (other, ratatui::style::Style::new()),
        };
        let cost = key.chars().count() + action.chars().count() + 2;
        if used + cost > budget {
            break;
        }
        spans.push(Span::styled((*key).to_string(), theme.key()));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(action.to_string(), style));
        spans.push(Span::raw(" "));
        used += cost;
    }
    spans.push(Span::raw(" ".repeat(budget.saturating_sub(used) + 1)));
    spans.push(Span::styled(sort, theme.dim()));
    Line::from(spans)
}
