//! The one-line footer: the keys, or the filter being typed.
//!
//! Owns: the footer's text. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{App, CONNECTIONS_FOOTER_KEYS, DIAGRAM_FOOTER_KEYS, FOOTER_KEYS, View};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let line = if app.filter().is_editing() {
        Line::from(vec![
            Span::styled("filter /", theme.key()),
            Span::raw(app.filter().text().to_string()),
            Span::styled("█", theme.key()),
            Span::styled(
                format!(
                    "  {} · Enter keep · Esc clear",
                    crate::app::filter::FILTER_RULE
                ),
                theme.dim(),
            ),
        ])
    } else {
        keys_line(area.width, app, theme)
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn keys_line(width: u16, app: &App, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0usize;
    let keys: &[(&str, &str)] = match app.view() {
        View::Connections(_) => CONNECTIONS_FOOTER_KEYS,
        View::Processes(_) => crate::app::keymap::PROCESSES_FOOTER_KEYS,
        View::Dashboard => FOOTER_KEYS,
        View::Diagram => DIAGRAM_FOOTER_KEYS,
    };
    let sort = match (app.view(), app.diagram().scope) {
        (View::Diagram, crate::app::DiagramScope::AllWatched) => "all ports".to_string(),
        (View::Diagram, crate::app::DiagramScope::Port(port)) => format!("port {port}"),
        (View::Connections(view), _) => format!("sort {}", view.sort.label()),
        (View::Processes(view), _) => format!("sort {}", view.sort.label()),
        _ => format!("sort {}", app.sort().label()),
    };
    let budget = usize::from(width).saturating_sub(sort.chars().count() + 1);
    for (key, action) in keys {
        let (action, style) = match *action {
            "pause" if app.is_paused() => ("resume", theme.paused()),
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
