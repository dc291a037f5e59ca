//! A leaf: a handful of spans and the visible text they hold.

use super::cold_text::ColdText;
use super::ids::{LeafId, NodeId};
use super::span::Span;
use super::summary::Summary;
use crate::unit::{char_to_byte, TextMetrics};

/// Whether leaves and nodes are shrunk so small inputs build deep trees: in
/// unit tests, and with the `small-chunks` feature for integration tests.
pub(super) const SMALL_CHUNKS: bool = cfg!(any(test, feature = "small-chunks"));

/// Most spans a leaf holds. With 32, a leaf's own fields, its parent's
/// summary of it and its buffers' slack took a tenth more memory on code
/// editing, for no faster replay: an edit in a 64-span leaf scans more
/// spans but splits half as often.
pub(super) const LEAF_SPANS: usize = if SMALL_CHUNKS { 4 } else { 64 };
/// Most bytes of visible text a leaf holds.
pub(super) const LEAF_BYTES: usize = if SMALL_CHUNKS { 16 } else { 512 };

/// How much a leaf's text buffer grows by at least.
const TEXT_STEP: usize = 32;

/// Only the content tree reads or changes a leaf; elsewhere it is built
/// (`Leaf::cold_page`) and handed to `Tree::from_leaves`.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub(super) spans: Vec<Span>,
    /// The visible text of `spans`, in order; deleted spans contribute none.
    pub(super) text: String,
    pub(super) parent: NodeId,
    pub(super) prev: Option<LeafId>,
    pub(super) next: Option<LeafId>,
    /// Whether `text` is all ASCII (then byte offsets equal character offsets).
    pub(super) ascii: bool,
    /// Set while this leaf is a page of a loaded snapshot whose spans are
    /// still encoded: `spans` is empty, `text` holds the page's text (any
    /// length), or is empty while the page's text is still deflated too
    /// (`ColdSpans::text`). See `Tree::thaw`.
    pub(super) cold: Option<Box<ColdSpans>>,
}

/// A snapshot page's spans as stored, and what the directory says of them.
#[derive(Debug, Clone)]
pub struct ColdSpans {
    /// The page's column, as stored (see `docs/format.md`).
    pub column: Box<[u8]>,
    pub spans: u32,
    pub items: u32,
    pub chars: u32,
    /// The page's text while still deflated (snapshots with per-page text);
    /// the leaf's `text` is empty then.
    pub text: Option<ColdText>,
}

/// A position inside a leaf: span number and offset within that span. The
/// position one past the last span is `(spans.len(), 0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InLeaf {
    pub span: usize,
    pub offset: u32,
}

impl InLeaf {
    /// The start of a leaf, before its first span.
    pub const START: InLeaf = InLeaf { span: 0, offset: 0 };
}

impl Leaf {
    pub(super) fn new(parent: NodeId) -> Self {
        Leaf {
            spans: Vec::new(),
            text: String::new(),
            parent,
            prev: None,
            next: None,
            ascii: true,
            cold: None,
        }
    }

    /// A page of a loaded snapshot whose spans stay encoded until an edit
    /// needs them: its visible `text` and its column. Its links are set by
    /// `Tree::from_leaves`.
    pub fn cold_page(text: String, spans: ColdSpans) -> Self {
        Leaf {
            ascii: text.is_ascii(),
            text,
            cold: Some(Box::new(spans)),
            ..Leaf::new(NodeId::new(0))
        }
    }

    /// Its visible text: a cold page's inflated on first read.
    pub(super) fn text(&self) -> Result<&str, crate::DecodeError> {
        match self.cold.as_ref().and_then(|c| c.text.as_ref()) {
            Some(t) => t.get(),
            None => Ok(&self.text),
        }
    }

    /// Visible characters in this leaf, cold or not.
    pub(super) fn chars(&self) -> u32 {
        match &self.cold {
            Some(c) => c.chars,
            None => self.spans.iter().map(|s| s.visible()).sum(),
        }
    }

    /// Its spans in order, each with the visible text it holds.
    pub(super) fn spans_with_text(&self) -> impl Iterator<Item = (Span, &str)> + '_ {
        let mut byte = 0;
        self.spans.iter().map(move |&s| {
            let end = byte + char_to_byte(&self.text[byte..], s.visible() as usize);
            let text = &self.text[byte..end];
            byte = end;
            (s, text)
        })
    }

    pub(super) fn summary(&self) -> Summary {
        let items = match &self.cold {
            Some(c) => c.items,
            None => self.spans.iter().map(|s| s.len()).sum(),
        };
        let text = match self.cold.as_ref().and_then(|c| c.text.as_ref()) {
            Some(t) => t.metrics(),
            None => TextMetrics::of(&self.text),
        };
        Summary { items, text }
    }

    pub(super) fn overfull(&self) -> bool {
        self.spans.len() > LEAF_SPANS || self.text.len() > LEAF_BYTES
    }

    /// Like `find_visible`, knowing the leaf's visible characters (`total`):
    /// from whichever end is nearer, so a leaf's spans are scanned a
    /// quarter through on average rather than half.
    pub(super) fn find_visible_in(&self, chars: u32, total: u32) -> InLeaf {
        debug_assert_eq!(total, self.chars());
        if chars < total / 2 {
            return self.find_visible(chars);
        }
        let mut before = total;
        for (i, s) in self.spans.iter().enumerate().rev() {
            before -= s.visible();
            if before <= chars && chars < before + s.visible() {
                return InLeaf {
                    span: i,
                    offset: chars - before,
                };
            }
        }
        InLeaf {
            span: self.spans.len(),
            offset: 0,
        }
    }

    /// The position of the `chars`-th visible item (skipping tombstones before
    /// it), or the end of the leaf.
    pub(super) fn find_visible(&self, mut chars: u32) -> InLeaf {
        for (i, s) in self.spans.iter().enumerate() {
            let v = s.visible();
            if chars < v {
                return InLeaf {
                    span: i,
                    offset: chars,
                };
            }
            chars -= v;
        }
        InLeaf {
            span: self.spans.len(),
            offset: 0,
        }
    }

    pub(super) fn find_id(&self, agent: u32, seq: u32) -> Option<InLeaf> {
        let i = self.spans.iter().position(|s| s.contains(agent, seq))?;
        Some(InLeaf {
            span: i,
            offset: seq - self.spans[i].seq,
        })
    }

    /// Items and visible characters before `at` within this leaf.
    pub(super) fn before(&self, at: InLeaf) -> (u32, u32) {
        let mut items = 0;
        let mut chars = 0;
        for s in &self.spans[..at.span] {
            items += s.len();
            chars += s.visible();
        }
        if at.offset > 0 {
            let s = &self.spans[at.span];
            items += at.offset;
            if !s.deleted() {
                chars += at.offset;
            }
        }
        (items, chars)
    }

    pub(super) fn byte_of_char(&self, chars: u32) -> usize {
        if self.ascii {
            chars as usize
        } else {
            char_to_byte(&self.text, chars as usize)
        }
    }

    /// Bytes taken by `chars` characters starting at byte `from`.
    pub(super) fn byte_len_of_chars(&self, from: usize, chars: u32) -> usize {
        if self.ascii {
            chars as usize
        } else {
            char_to_byte(&self.text[from..], chars as usize)
        }
    }

    /// Splits the span at `at` if `at` is inside one; returns the span number
    /// at which something inserted at `at` goes.
    pub(super) fn split_at(&mut self, at: InLeaf) -> usize {
        if at.offset == 0 {
            return at.span;
        }
        let tail = self.spans[at.span].split(at.offset);
        self.insert_span(at.span + 1, tail);
        at.span + 1
    }

    /// Inserts a span, growing the buffer a few slots at a time: leaves are
    /// many and small, so doubling would waste more than it saves. Eight,
    /// not four: an edit inside a span adds two, and each growth is a
    /// reallocation (about 3% of replay on code editing, for 3% of memory).
    pub(super) fn insert_span(&mut self, i: usize, span: Span) {
        if self.spans.len() == self.spans.capacity() {
            self.spans.reserve_exact(8);
        }
        self.spans.insert(i, span);
    }

    /// Inserts text at a byte offset, growing the buffer in small steps.
    pub(super) fn insert_text(&mut self, byte: usize, text: &str) {
        let need = self.text.len() + text.len();
        if need > self.text.capacity() {
            // At least TEXT_STEP bytes at a time, also near the leaf's limit (where
            // a split follows): growing by the few bytes left would copy the
            // text on every keystroke.
            self.text.reserve_exact(text.len().max(TEXT_STEP));
        }
        self.text.insert_str(byte, text);
        self.ascii &= text.is_ascii();
    }

    /// After text was removed: gives back room past what an insert would
    /// reserve (deletes would otherwise leave a leaf's buffer as large as
    /// its text ever was).
    pub(super) fn give_back_text(&mut self) {
        if self.text.capacity() - self.text.len() > 2 * TEXT_STEP {
            self.text.shrink_to(self.text.len() + TEXT_STEP);
        }
    }

    /// Marks the `len` visible items from `at` (within one span) deleted,
    /// coalescing them with deleted neighbours so backspacing keeps one
    /// span. Backspacing and deleting forwards next to such a neighbour
    /// grow it in place, shifting no spans.
    pub(super) fn mark_deleted(&mut self, at: InLeaf, len: u32) {
        let i = at.span;
        let s = self.spans[i];
        debug_assert!(!s.deleted() && at.offset + len <= s.len());
        let gone = Span::new(s.agent, s.seq + at.offset, len, true);
        if at.offset > 0 && at.offset + len == s.len() {
            if let Some(next) = self.spans.get_mut(i + 1).filter(|n| gone.can_append(n)) {
                *next = Span::new(s.agent, gone.seq, len + next.len(), true);
                self.spans[i].set_len(at.offset);
                return;
            }
        } else if at.offset == 0 && len < s.len() && i > 0 && self.spans[i - 1].can_append(&gone) {
            let prev = &mut self.spans[i - 1];
            prev.set_len(prev.len() + len);
            self.spans[i] = Span::new(s.agent, s.seq + len, s.len() - len, false);
            return;
        }
        let i = self.split_at(at);
        if self.spans[i].len() > len {
            let tail = self.spans[i].split(len);
            self.insert_span(i + 1, tail);
        }
        let s = self.spans[i];
        self.spans[i] = Span::new(s.agent, s.seq, s.len(), true);
        self.try_merge_back(i + 1);
        self.try_merge_back(i);
    }

    /// Merges span `i` into span `i - 1` when it continues it.
    pub(super) fn try_merge_back(&mut self, i: usize) -> bool {
        if i == 0 || i >= self.spans.len() || !self.spans[i - 1].can_append(&self.spans[i]) {
            return false;
        }
        let len = self.spans[i - 1].len() + self.spans[i].len();
        self.spans[i - 1].set_len(len);
        self.spans.remove(i);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    /// A leaf of random visible and deleted spans (no text: seeks read none).
    fn random_leaf(rng: &mut Rng, spans: usize) -> Leaf {
        let mut leaf = Leaf::new(NodeId::new(0));
        for i in 0..spans {
            let len = 1 + rng.below(5) as u32;
            leaf.spans
                .push(Span::new(0, 10 * i as u32, len, rng.chance(40)));
        }
        leaf
    }

    #[test]
    fn seeking_from_the_nearer_end_finds_what_a_forward_scan_finds() {
        let mut rng = Rng::new(16);
        for round in 0..300 {
            let leaf = random_leaf(&mut rng, round % 70);
            let total = leaf.chars();
            for chars in 0..=total + 1 {
                assert_eq!(
                    leaf.find_visible_in(chars, total),
                    leaf.find_visible(chars),
                    "round {round}, char {chars} of {total}"
                );
            }
        }
    }

    #[test]
    fn a_cold_page_is_sought_at_its_start_from_either_end() {
        let cold = ColdSpans {
            column: Box::new([]),
            spans: 3,
            items: 12,
            chars: 10,
            text: None,
        };
        let leaf = Leaf::cold_page(String::new(), cold);
        for chars in [0, 4, 6, 10] {
            assert_eq!(leaf.find_visible_in(chars, 10), InLeaf::START, "{chars}");
        }
    }
}
