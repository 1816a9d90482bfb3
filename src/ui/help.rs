//! The `?` overlay: every key (read off the key table), and what the
//! marks and colours mean.
//!
//! Owns: the help text. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::layout::centered;
use super::theme::{Attention, Theme};
use crate::app::View;
use crate::app::keymap::{self, Context};

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

/// Not a key, but the help lists it with them.
const MOUSE_HELP: (&str, &str) = ("mouse", "wheel scrolls, click selects the row");

/// What a run adds to the dashboard's keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct HelpExtras {
    /// A replay's player.
    pub replaying: bool,
    /// `tcpwatch demo`, while it narrates.
    pub demo: bool,
}

/// The overlay over `view`, with the keys `extras` adds.
pub fn render(frame: &mut Frame, area: Rect, view: &View, extras: HelpExtras, theme: &Theme) {
    let main = keymap::help_lines(&[Context::Global, Context::Lists]);
    let diagram = keymap::help_lines(&[Context::Diagram]);
    let replay = keymap::help_lines(&[Context::Replay]);
    let demo = keymap::help_lines(&[Context::Demo]);
    let key_width = main
        .iter()
        .chain(diagram.iter())
        .chain(replay.iter())
        .chain(demo.iter())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let key_line = |(key, action): &(&str, &'static str)| {
        Line::from(vec![
            Span::styled(format!(" {key:<key_width$}  "), theme.key()),
            Span::raw(*action),
        ])
    };
    let mut lines: Vec<Line> = main.iter().map(key_line).collect();
    lines.push(key_line(&MOUSE_HELP));
    let mut section = |title: &str, keys: &[(&str, &'static str)]| {
        lines.push(Line::from(Span::styled(format!(" {title}"), theme.title())));
        lines.extend(keys.iter().map(key_line));
    };
    if extras.demo {
        section("In the demo (before the keys above)", &demo);
    }
    if extras.replaying {
        section("In a replay", &replay);
    }
    if *view == View::Diagram {
        section("In the state diagram", &diagram);
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

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::keymap::BINDINGS;

    fn overlay(view: &View, extras: HelpExtras) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 80)).expect("test backend");
        terminal
            .draw(|frame| {
                let area = frame.area();
                render(frame, area, view, extras, &Theme::new(false));
            })
            .expect("draw");
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Where each context's bindings are explained: the overlay (on the
    /// screen where they work), or the hint line of a screen without one.
    #[test]
    fn every_binding_appears_in_the_help() {
        let dashboard = overlay(&View::Dashboard, HelpExtras::default());
        let diagram = overlay(&View::Diagram, HelpExtras::default());
        let replay = overlay(
            &View::Dashboard,
            HelpExtras {
                replaying: true,
                demo: false,
            },
        );
        let demo = overlay(
            &View::Diagram,
            HelpExtras {
                replaying: false,
                demo: true,
            },
        );
        for binding in BINDINGS {
            let shown = match binding.context {
                Context::Global | Context::Lists => &dashboard,
                Context::Diagram => &diagram,
                Context::Replay => &replay,
                Context::Demo => &demo,
                // No overlay there: the filter line and the namespace list
                // show their hints (the typed text needs none).
                Context::Filter | Context::Namespaces => {
                    assert_eq!(binding.help.is_empty(), binding.hints.is_empty());
                    continue;
                }
            };
            for text in binding.help {
                assert!(
                    shown
                        .lines()
                        .any(|l| l.contains(binding.label) && l.contains(text))
                        || shown.contains(text),
                    "{:?} ({text}) missing from the help",
                    binding.label
                );
            }
            assert!(shown.contains(binding.label), "{:?}", binding.label);
        }
        assert!(!dashboard.contains("In a replay"));
        assert!(!dashboard.contains("In the demo"));
        assert!(demo.contains("In the demo"), "{demo}");
        assert!(!dashboard.contains("In the state diagram"));
    }
}
