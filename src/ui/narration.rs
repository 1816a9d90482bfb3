//! The demo's narration panel: which step of how many, when the next one
//! comes (or that the viewer paused), what the step does and what to look
//! for, and what came of it; at the end, the closing words.
//!
//! Owns: the panel's text and its height. Must not: mutate the app or read
//! the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::Narration;

/// Rows of text at most (the border aside): room for a step and its
/// whole "Look for" at 100 columns and more.
const MAX_TEXT_ROWS: u16 = 6;

fn title(narration: &Narration, now_ms: u64) -> String {
    if narration.failed {
        return " Demo · stopped ".to_string();
    }
    if narration.done {
        return " Demo · done · q quits, or explore: arrows + ? ".to_string();
    }
    let part = if narration.number == 0 {
        format!("{} steps", narration.total)
    } else {
        format!("step {}/{}", narration.number, narration.total)
    };
    let timer = if narration.paused {
        " · PAUSED".to_string()
    } else {
        narration.moves_on_at_ms.map_or_else(String::new, |at| {
            format!(
                " · next in {}",
                format::seconds_left(at.saturating_sub(now_ms))
            )
        })
    };
    format!(" Demo · {part}{timer} ")
}

/// The rows the panel wants at this width, borders included.
pub fn height(narration: &Narration, width: u16) -> u16 {
    let text_rows = format::wrap(
        &narration.text,
        usize::from(width.saturating_sub(2)),
        usize::from(MAX_TEXT_ROWS),
    )
    .len();
    let rows =
        u16::try_from(text_rows).unwrap_or(MAX_TEXT_ROWS) + u16::from(narration.outcome.is_some());
    rows.min(MAX_TEXT_ROWS + 1) + 2
}

pub fn render(frame: &mut Frame, area: Rect, narration: &Narration, now_ms: u64, theme: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    let outcome_rows = usize::from(narration.outcome.is_some());
    let text_rows = usize::from(area.height.saturating_sub(2)).saturating_sub(outcome_rows);
    let mut lines: Vec<Line> = format::wrap(&narration.text, width, text_rows.max(1))
        .into_iter()
        .map(Line::from)
        .collect();
    if let Some(outcome) = &narration.outcome {
        let style = if narration.failed {
            theme.attention(Attention::Critical)
        } else {
            theme.good()
        };
        lines.push(Line::from(Span::styled(
            format::fit(&format!("→ {outcome}"), width),
            style,
        )));
    }
    let block = Block::bordered()
        .title(Span::styled(title(narration, now_ms), theme.title()))
        .border_style(theme.focused_border());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
