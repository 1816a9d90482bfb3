//! The replay's time bar, drawn over the footer line: play state, speed,
//! the time shown, a bar with the position and the alert marks, the frame
//! number and the replay keys.
//!
//! Owns: the time bar's text. Must not: mutate the player or the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::keymap::{self, Screen};
use crate::format::timestamp::format_hms;
use crate::record::player::Player;

/// The replay keys, read off the key table: `space play · [ ] speed · …`.
fn keys() -> String {
    keymap::hints_for(Screen::Replay)
        .iter()
        .map(|(key, action)| format!("{key} {action}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The bar itself: `━` played, `●` now, `─` to come, `!` where alerts changed.
pub fn bar(player: &Player, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let (first, last) = player.span_ms();
    let span = last.saturating_sub(first).max(1);
    let cell = |at_ms: u64| -> usize {
        let offset =
            u128::from(at_ms.saturating_sub(first)) * (width as u128 - 1) / u128::from(span);
        usize::try_from(offset).unwrap_or(0).min(width - 1)
    };
    let now = cell(player.now_ms());
    let mut cells: Vec<char> = (0..width)
        .map(|i| if i < now { '━' } else { '─' })
        .collect();
    for frame in player.alert_frames() {
        if let Some(at) = player.frame_time(*frame) {
            cells[cell(at)] = '!';
        }
    }
    cells[now] = '●';
    cells.into_iter().collect()
}

pub fn render(frame: &mut Frame, area: Rect, player: &Player, color: bool) {
    let theme = Theme::new(color);
    let state = if player.is_playing() { "▶" } else { "⏸" };
    let head = format!(
        " {state} {:>2}× {} ",
        player.speed(),
        format_hms(player.now_ms())
    );
    let tail = format!(
        " {} · frame {}/{}  ",
        format_hms(player.span_ms().1),
        player.position() + 1,
        player.frames()
    );
    let width = usize::from(area.width);
    let all_keys = keys();
    let keys = if width > head.chars().count() + tail.chars().count() + all_keys.len() + 20 {
        all_keys.as_str()
    } else {
        ""
    };
    let bar_width = width
        .saturating_sub(head.chars().count() + tail.chars().count() + keys.chars().count())
        .min(120);
    let line = Line::from(vec![
        Span::styled(head, theme.key()),
        Span::raw(bar(player, bar_width)),
        Span::raw(tail),
        Span::styled(keys, theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The dashboard of a replay: the app as live, the time bar on the footer line.
pub fn render_replay(frame: &mut Frame, replay: &crate::app::replay::Replay) {
    super::render_app(frame, replay.app(), true);
    let area = frame.area();
    if super::layout::too_small(area) {
        return;
    }
    let line = Rect {
        y: area.bottom().saturating_sub(1),
        height: 1,
        ..area
    };
    render(frame, line, replay.player(), replay.app().color());
}

/// A short mark in the top-right corner (the recording going on).
pub fn render_corner_mark(frame: &mut Frame, text: &str, color: bool) {
    let area = frame.area();
    let width = u16::try_from(text.chars().count() + 1)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let corner = Rect {
        x: area.right().saturating_sub(width),
        y: area.y,
        width,
        height: 1.min(area.height),
    };
    let theme = Theme::new(color);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(text.to_string(), theme.paused()))),
        corner,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_the_position_and_the_alerts() {
        let times = (0..11).map(|i| i * 1000).collect();
        let mut player = Player::new(times, vec![8], 1);
        assert_eq!(bar(&player, 11), "●───────!──");
        player.seek_by(5000);
        assert_eq!(bar(&player, 11), "━━━━━●──!──");
        assert_eq!(bar(&player, 0), "");
    }

    #[test]
    fn the_replay_keys_read_as_before_the_key_table() {
        assert_eq!(
            keys(),
            "space play · [ ] speed · , . ±10s · < > ±1min · n next alert"
        );
    }
}
