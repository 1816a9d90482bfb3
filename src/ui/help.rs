//! The `?` overlay: every key, and what the marks and colours mean.
//!
//! Owns: the help text. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::theme::{Attention, Theme};
use crate::app::{DIAGRAM_KEY_HELP, KEY_HELP, View};

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

pub fn render(frame: &mut Frame, area: Rect, view: &View, theme: &Theme) {
    let key_width = KEY_HELP
        .iter()
        .chain(DIAGRAM_KEY_HELP.iter())
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
    if *view == View::Diagram {
        lines.push(Line::from(Span::styled(
            " In the state diagram",
            theme.title(),
        )));
        for (key, action) in DIAGRAM_KEY_HELP {
            lines.push(Line::from(vec![
                Span::styled(format!(" {key:<key_width$}  "), theme.key()),
                Span::raw(*action),
            ]));
        }
    }
    if *view == View::Diagram {
        let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
        return show(frame, area, lines, height, theme);
    }
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
    show(frame, area, lines, height, theme);
}

fn show(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, height: u16, theme: &Theme) {
    let overlay = centered(area, 76, height);
    frame.render_widget(Clear, overlay);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Span::styled(" Help · Esc closes ", theme.title()))
                .border_style(theme.focused_border()),
        ),
        overlay,
    );
}
