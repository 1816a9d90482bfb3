//! The `?` overlay: every key, and what the marks and colours mean.
//!
//! Owns: the help text. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::theme::{Attention, Theme};
use crate::app::KEY_HELP;

const LEGEND: &[(&str, &str)] = &[
    (
        "FULL",
        "accept queue over its backlog: new SYNs are dropped",
    ),
    ("2/1", "queue / backlog; listen(N) holds N+1"),
    ("3!", "needs a look (SYN_SENT, SYN_RECV, CLOSE_WAIT)"),
    ("·", "zero"),
    ("?", "backlog unknown (/proc source)"),
];

pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
    let key_width = KEY_HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = KEY_HELP
        .iter()
        .map(|(key, action)| {
            Line::from(vec![
                Span::styled(format!(" {key:<key_width$}  "), theme.key()),
                Span::raw(*action),
            ])
        })
        .collect();
    lines.push(Line::default());
    for (mark, meaning) in LEGEND {
        let style = if *mark == "FULL" {
            theme.attention(Attention::Critical)
        } else {
            theme.attention(Attention::Warning)
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark:<key_width$}  "), style),
            Span::raw(*meaning),
        ]));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let overlay = centered(area, 76, height);
    frame.render_widget(Clear, overlay);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Span::styled(" Help · ? or Esc closes ", theme.title()))
                .border_style(theme.focused_border()),
        ),
        overlay,
    );
}
