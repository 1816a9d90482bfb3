//! Text placed at fixed positions inside a rectangle, cut at its edges: what
//! the state diagram is drawn with.
//!
//! Owns: `Canvas`. Must not: know what it draws.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// A window on a buffer: positions are relative to `origin`, and nothing is
/// written outside `clip`.
pub(crate) struct Canvas<'a> {
    buffer: &'a mut Buffer,
    clip: Rect,
    origin: (u16, u16),
}

impl<'a> Canvas<'a> {
    pub fn new(buffer: &'a mut Buffer, clip: Rect, origin: (u16, u16)) -> Canvas<'a> {
        let clip = clip.intersection(buffer.area);
        Canvas {
            buffer,
            clip,
            origin,
        }
    }

    /// Writes `text` at (`x`, `y`) from the origin, cut at the clip's edges.
    pub(crate) fn put(&mut self, x: u16, y: u16, text: &str, style: Style) {
        let (ax, ay) = (self.origin.0 + x, self.origin.1 + y);
        if ay < self.clip.y || ay >= self.clip.bottom() || ax >= self.clip.right() {
            return;
        }
        for (column, c) in (ax..self.clip.right()).zip(text.chars()) {
            if column >= self.clip.x {
                let mut buffer = [0u8; 4];
                self.buffer[(column, ay)]
                    .set_symbol(c.encode_utf8(&mut buffer))
                    .set_style(style);
            }
        }
    }

    /// Writes `text` centred in the `width` cells that start at `x`.
    pub(crate) fn put_centered(&mut self, x: u16, y: u16, width: u16, text: &str, style: Style) {
        let len = u16::try_from(text.chars().count()).unwrap_or(u16::MAX);
        self.put(x + width.saturating_sub(len) / 2, y, text, style);
    }

    /// Writes `text` so that it ends at column `end` (inclusive).
    pub(crate) fn put_ending_at(&mut self, end: u16, y: u16, text: &str, style: Style) {
        let len = u16::try_from(text.chars().count()).unwrap_or(u16::MAX);
        self.put((end + 1).saturating_sub(len), y, text, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_the_clip() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 3));
        let mut canvas = Canvas::new(&mut buffer, Rect::new(1, 0, 6, 2), (1, 0));
        canvas.put(0, 0, "abcdefghij", Style::new());
        canvas.put(0, 5, "hidden", Style::new());
        canvas.put_ending_at(5, 1, "xyz", Style::new());
        assert_eq!(
            buffer,
            Buffer::with_lines([" abcdef   ", "    xyz   ", "          "])
        );
    }
}
