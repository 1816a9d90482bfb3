//! For the panels' tests: a panel's draw function run into a small buffer,
//! as text (styles left out, to compare with `Buffer::with_lines`) or in
//! colour.
//!
//! Owns: `text`, `in_colour`, `fg`. Must not: be built outside tests.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use super::theme::{Attention, Theme};

/// How a panel draws itself from its view model.
pub(crate) type Draw<P> = fn(&P, Rect, &mut Buffer, &Theme);

/// What `draw` writes for `panel` in a `width`×`height` buffer, without
/// colour.
pub(crate) fn text<P>(draw: Draw<P>, panel: &P, width: u16, height: u16) -> Buffer {
    let mut buf = drawn(draw, panel, width, height, false);
    buf.set_style(buf.area, Style::reset());
    buf
}

/// What `draw` writes for `panel` in a `width`×`height` buffer, in colour.
pub(crate) fn in_colour<P>(draw: Draw<P>, panel: &P, width: u16, height: u16) -> Buffer {
    drawn(draw, panel, width, height, true)
}

fn drawn<P>(draw: Draw<P>, panel: &P, width: u16, height: u16, colour: bool) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    draw(panel, area, &mut buf, &Theme::new(colour));
    buf
}

/// The colour of text that needs `level` of attention, in colour.
pub(crate) fn fg(level: Attention) -> Color {
    let fg = Theme::new(true).attention(level).fg;
    assert!(fg.is_some(), "{level:?} has a colour");
    fg.unwrap_or_default()
}
