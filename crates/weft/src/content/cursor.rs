//! The cursor: where the text after the last insert continues, so the next
//! keystroke of someone typing needs no descent, no scan of the leaf, and
//! (when it continues the same span) no split or merge; after a delete,
//! the character before it, where the next backspace goes.

use super::span::Span;
use super::summary::Summary;
use super::tree::{Loc, Tree};
use crate::unit::TextMetrics;

impl Tree {
    /// The cursor's location and the visible characters before its leaf,
    /// when the cursor is valid and at visible character `target`.
    pub fn cursor_at(&self, target: u32) -> Option<(Loc, u32)> {
        let (chars, loc) = self.cursor?;
        let f = self.finger.as_ref()?;
        if chars != target || f.leaf != loc.leaf {
            return None;
        }
        debug_assert_eq!(loc.at, self.leaf(loc.leaf).find_visible(target - f.before));
        Some((loc, f.before))
    }

    /// Drops the cursor, so the next insert takes the general path.
    #[cfg(test)]
    pub fn forget_cursor(&mut self) {
        self.cursor = None;
    }

    /// The span that ends at the cursor location `loc` (from `cursor_at`),
    /// if one does: after an insert, the one holding the inserted text (a
    /// cursor left by a delete is inside a span).
    pub fn span_before_cursor(&self, loc: Loc) -> Option<Span> {
        let ends_there = loc.at.offset == 0 && loc.at.span > 0;
        ends_there.then(|| self.leaf(loc.leaf).spans[loc.at.span - 1])
    }

    /// Appends visible `text` (measured as `metrics`) at the cursor, visible
    /// character `chars`, to the span before it: the next keystroke of
    /// someone typing, whose items continue that span's ids. `loc` and
    /// `before` are what `cursor_at(chars)` returned.
    pub fn extend_at_cursor(
        &mut self,
        chars: u32,
        (loc, before): (Loc, u32),
        text: &str,
        metrics: TextMetrics,
    ) {
        let leaf = self.leaf_mut(loc.leaf);
        let span = &mut leaf.spans[loc.at.span - 1];
        let old_end = span.end_seq();
        span.set_len(span.len() + metrics.chars);
        let grown = *span;
        let byte = leaf.byte_of_char(chars - before);
        leaf.insert_text(byte, text);
        let delta = Summary {
            items: metrics.chars,
            text: metrics,
        };
        self.add_delta(loc.leaf, &delta);
        if let Some(ix) = self.index.get_mut() {
            ix.set(grown.agent, old_end, grown.end_seq(), loc.leaf);
        }
        if self.leaf(loc.leaf).overfull() {
            self.cursor = None;
            self.fix_overflow(loc.leaf);
        } else {
            self.cursor = Some((chars + metrics.chars, loc));
        }
    }
}
