//! The overlay that explains the state selected in the diagram: the same
//! text as `tcpwatch explain STATE`, with its live count, the arrows in
//! and out, and (exact events on) the latest changes the kernel reported.
//!
//! Owns: the overlay's layout. Must not: mutate the app or read the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::diagram::scope_title;
use super::format;
use super::layout::centered;
use super::theme::Theme;
use crate::app::App;
use crate::explain::{diagram_name, edges_into, edges_out_of, explain};

const LABEL_WIDTH: usize = 13;

/// `label` then `text` wrapped, continuation lines indented under the text.
fn field(lines: &mut Vec<Line<'static>>, label: &str, text: &str, width: usize, theme: &Theme) {
    let wrapped = format::wrap(text, width.saturating_sub(LABEL_WIDTH).max(10), 12);
    for (i, part) in wrapped.into_iter().enumerate() {
        let head = if i == 0 {
            Span::styled(format!("{label:<LABEL_WIDTH$}"), theme.key())
        } else {
            Span::raw(" ".repeat(LABEL_WIDTH))
        };
        lines.push(Line::from(vec![head, Span::raw(part)]));
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let state = app.diagram().selected;
    let e = explain(state);
    let width = area.width.saturating_sub(4).min(100);
    let text_width = usize::from(width.saturating_sub(2));
    let count = app.diagram().figures().counts.get(state);
    let mut lines = vec![Line::from(vec![
        Span::styled(state.name(), theme.strong(state)),
        Span::styled(
            format!(
                " · {} now ({})",
                match count {
                    1 => "1 socket".to_string(),
                    n => format!("{} sockets", format::count(n)),
                },
                scope_title(app)
            ),
            theme.dim(),
        ),
    ])];
    if app.exact_events().is_on() {
        let seen = super::event_log::exact_changes_of(app, state, 3);
        let text = if seen.is_empty() {
            "exact kernel events are on: no change into or out of this state yet, each one shows here as it happens".to_string()
        } else {
            format!("exact {}", seen.join("; "))
        };
        field(&mut lines, "seen:", &text, text_width, theme);
    }
    field(&mut lines, "what:", e.meaning, text_width, theme);
    field(&mut lines, "who:", e.side, text_width, theme);
    field(&mut lines, "enters by:", e.entered_by, text_width, theme);
    field(&mut lines, "leaves by:", e.left_by, text_width, theme);
    field(&mut lines, "lasts:", e.lasts, text_width, theme);
    field(&mut lines, "when many:", e.when_many, text_width, theme);
    let arrows_in: Vec<String> = edges_into(state)
        .map(|edge| format!("{} ← {}", edge.label(), diagram_name(edge.from)))
        .collect();
    let arrows_out: Vec<String> = edges_out_of(state)
        .map(|edge| format!("{} → {}", edge.label(), diagram_name(edge.to)))
        .collect();
    field(
        &mut lines,
        "diagram in:",
        &arrows_in.join("; "),
        text_width,
        theme,
    );
    field(
        &mut lines,
        "diagram out:",
        &arrows_out.join("; "),
        text_width,
        theme,
    );
    let max_rows = usize::from(area.height.saturating_sub(2)).max(1);
    if lines.len() > max_rows {
        lines.truncate(max_rows);
        if let Some(last) = lines.last_mut() {
            *last = Line::from(Span::styled("…", theme.dim()));
        }
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let overlay = centered(area, width, height);
    frame.render_widget(Clear, overlay);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Span::styled(
                    format!(" tcpwatch explain {} ", state.name()),
                    theme.title(),
                ))
                .title_bottom(Span::styled(
                    " ←↑↓→ another state · ? or Esc closes ",
                    theme.dim(),
                ))
                .border_style(theme.focused_border()),
        ),
        overlay,
    );
}
