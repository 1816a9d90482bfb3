//! A selected row and the first visible row of a long list, kept
//! consistent as the list and the page size change.
//!
//! Owns: `Scroll`. Must not: know what the rows are.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scroll {
    pub selected: usize,
    pub offset: usize,
}

impl Scroll {
    /// Moves the selection by `delta` rows and keeps it on the page.
    pub(crate) fn move_by(&mut self, delta: isize, len: usize, page: usize) {
        let target = if delta < 0 {
            self.selected.saturating_sub(delta.unsigned_abs())
        } else {
            self.selected.saturating_add(delta.unsigned_abs())
        };
        self.select(target, len, page);
    }

    pub(crate) fn select(&mut self, index: usize, len: usize, page: usize) {
        self.selected = index.min(len.saturating_sub(1));
        self.keep_visible(len, page);
    }

    /// Shifts the offset as little as possible so the selection is visible.
    pub(crate) fn keep_visible(&mut self, len: usize, page: usize) {
        let page = page.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(len.saturating_sub(page));
    }

    /// The offset a page of `page` rows should start at, without changing
    /// anything (for drawing into an area of another height).
    pub(crate) fn offset_for(&self, len: usize, page: usize) -> usize {
        let mut copy = *self;
        copy.keep_visible(len, page);
        copy.offset
    }
}

/// `offset` moved by `delta`, within `len` rows.
pub(crate) fn offset_by(offset: usize, delta: isize, len: usize) -> usize {
    let moved = if delta < 0 {
        offset.saturating_sub(delta.unsigned_abs())
    } else {
        offset.saturating_add(delta.unsigned_abs())
    };
    moved.min(len.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_stays_on_the_page() {
        let mut scroll = Scroll::default();
        scroll.move_by(25, 1000, 10);
        assert_eq!((scroll.selected, scroll.offset), (25, 16));
        scroll.move_by(-20, 1000, 10);
        assert_eq!((scroll.selected, scroll.offset), (5, 5));
        scroll.select(usize::MAX, 1000, 10);
        assert_eq!((scroll.selected, scroll.offset), (999, 990));
        scroll.keep_visible(3, 10);
        assert_eq!((scroll.selected, scroll.offset), (2, 0));
        scroll.move_by(-5, 0, 10);
        assert_eq!((scroll.selected, scroll.offset), (0, 0));
    }
}
