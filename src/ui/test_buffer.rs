//! For the panels' tests: a draw function run into a small buffer, as text
//! (styles left out, to compare with `Buffer::with_lines`) or in colour.
//!
//! Owns: `text`, `in_colour`, `fg`. Must not: be built outside tests.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use super::theme::{Attention, Theme};

/// What `draw` writes in a `width`×`height` buffer, without colour.
pub(crate) fn text(
    width: u16,
    height: u16,
    draw: impl FnOnce(Rect, &mut Buffer, &Theme),
) -> Buffer {
    let mut buf = drawn(width, height, false, draw);
    buf.set_style(buf.area, Style::reset());
    buf
}

/// What `draw` writes in a `width`×`height` buffer, in colour.
pub(crate) fn in_colour(
    width: u16,
    height: u16,
    draw: impl FnOnce(Rect, &mut Buffer, &Theme),
) -> Buffer {
    drawn(width, height, true, draw)
}

fn drawn(
    width: u16,
    height: u16,
    colour: bool,
    draw: impl FnOnce(Rect, &mut Buffer, &Theme),
) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    draw(area, &mut buf, &Theme::new(colour));
    buf
}

/// The colour of text that needs `level` of attention, in colour.
pub(crate) fn fg(level: Attention) -> Color {
    let fg = Theme::new(true).attention(level).fg;
    assert!(fg.is_some(), "{level:?} has a colour");
    fg.unwrap_or_default()
}
