//! The overlay with one alert's full text (Enter on the alerts panel):
//! the headline, when, and what / why / fix unabridged.
//!
//! Owns: the overlay's layout. Must not: mutate the app or read the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format;
use super::layout::centered;
use super::theme::{Attention, Theme};
use crate::app::alerts::severity_label;
use crate::app::{AlertView, Severity};
use crate::format::timestamp::format_hms;

const LABEL_WIDTH: usize = 6;

fn field(lines: &mut Vec<Line<'static>>, label: &str, text: &str, width: usize, theme: &Theme) {
    let wrapped = format::wrap(text, width.saturating_sub(LABEL_WIDTH).max(10), 40);
    for (i, part) in wrapped.into_iter().enumerate() {
        let head = if i == 0 {
            Span::styled(format!("{label:<LABEL_WIDTH$}"), theme.key())
        } else {
            Span::raw(" ".repeat(LABEL_WIDTH))
        };
        lines.push(Line::from(vec![head, Span::raw(part)]));
    }
}

pub fn render(frame: &mut Frame, area: Rect, alert: &AlertView, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(100);
    let text_width = usize::from(width.saturating_sub(2));
    let style = theme.attention(match alert.severity {
        Severity::Critical => Attention::Critical,
        Severity::Warning => Attention::Warning,
        Severity::Info => Attention::Normal,
    });
    let mut lines: Vec<Line<'static>> = format::wrap(
        &format!("{} {}", severity_label(alert.severity), alert.title),
        text_width,
        4,
    )
    .into_iter()
    .map(|part| Line::from(Span::styled(part, style)))
    .collect();
    let when = if alert.last_seen_ms > alert.since_ms {
        format!(
            "since {} · last seen {}",
            format_hms(alert.since_ms),
            format_hms(alert.last_seen_ms)
        )
    } else {
        format!("at {}", format_hms(alert.since_ms))
    };
    let repeats = if alert.fire_count > 1 {
        format!(" · ×{}", alert.fire_count)
    } else {
        String::new()
    };
    lines.push(Line::from(Span::styled(
        format!("{when}{repeats}"),
        theme.dim(),
    )));
    lines.push(Line::default());
    field(&mut lines, "what", &alert.summary, text_width, theme);
    field(&mut lines, "why", &alert.cause, text_width, theme);
    field(&mut lines, "fix", &alert.fix, text_width, theme);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let overlay = centered(area, width, height);
    frame.render_widget(Clear, overlay);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Span::styled(" Alert · Esc closes ", theme.title()))
                .border_style(theme.focused_border()),
        ),
        overlay,
    );
}
