//! A leaf: a handful of spans and the visible text they hold.

use super::span::Span;
use super::summary::Summary;
use crate::unit::{char_to_byte, TextMetrics};

pub const NIL: u32 = u32::MAX;

/// Most spans a leaf holds (small under `cfg(test)` so tests build deep trees).
pub const LEAF_SPANS: usize = if cfg!(test) { 4 } else { 32 };
/// Most bytes of visible text a leaf holds.
pub const LEAF_BYTES: usize = if cfg!(test) { 16 } else { 512 };

#[derive(Debug, Clone)]
pub struct Leaf {
    pub spans: Vec<Span>,
    /// The visible text of `spans`, in order; deleted spans contribute none.
    pub text: String,
    pub parent: u32,
    pub prev: u32,
    pub next: u32,
    /// Whether `text` is all ASCII (then byte offsets equal character offsets).
    pub ascii: bool,
    /// Set while this leaf is a page of a loaded snapshot whose spans are
    /// still encoded: `spans` is empty, `text` holds the page's text (any
    /// length). See `Tree::thaw`.
    pub cold: Option<Box<ColdSpans>>,
}

/// A snapshot page's spans as stored, and what the directory says of them.
#[derive(Debug, Clone)]
pub struct ColdSpans {
    /// The page's column, as stored (see `docs/format.md`).
    pub column: Box<[u8]>,
    pub spans: u32,
    pub items: u32,
    pub chars: u32,
}

/// A position inside a leaf: span number and offset within that span. The
/// position one past the last span is `(spans.len(), 0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InLeaf {
    pub span: usize,
    pub offset: u32,
}

impl Leaf {
    pub fn new(parent: u32) -> Self {
        Leaf {
            spans: Vec::new(),
            text: String::new(),
            parent,
            prev: NIL,
            next: NIL,
            ascii: true,
            cold: None,
        }
    }

    pub fn summary(&self) -> Summary {
        let items = match &self.cold {
            Some(c) => c.items,
            None => self.spans.iter().map(|s| s.len()).sum(),
        };
        Summary {
            items,
            text: TextMetrics::of(&self.text),
        }
    }

    pub fn overfull(&self) -> bool {
        self.spans.len() > LEAF_SPANS || self.text.len() > LEAF_BYTES
    }

    /// The position of the `chars`-th visible item (skipping tombstones before
    /// it), or the end of the leaf.
    pub fn find_visible(&self, mut chars: u32) -> InLeaf {
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

    pub fn find_id(&self, agent: u32, seq: u32) -> Option<InLeaf> {
        let i = self.spans.iter().position(|s| s.contains(agent, seq))?;
        Some(InLeaf {
            span: i,
            offset: seq - self.spans[i].seq,
        })
    }

    /// Items and visible characters before `at` within this leaf.
    pub fn before(&self, at: InLeaf) -> (u32, u32) {
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

    pub fn byte_of_char(&self, chars: u32) -> usize {
        if self.ascii {
            chars as usize
        } else {
            char_to_byte(&self.text, chars as usize)
        }
    }

    /// Bytes taken by `chars` characters starting at byte `from`.
    pub fn byte_len_of_chars(&self, from: usize, chars: u32) -> usize {
        if self.ascii {
            chars as usize
        } else {
            char_to_byte(&self.text[from..], chars as usize)
        }
    }

    /// Splits the span at `at` if `at` is inside one; returns the span number
    /// at which something inserted at `at` goes.
    pub fn split_at(&mut self, at: InLeaf) -> usize {
        if at.offset == 0 {
            return at.span;
        }
        let tail = self.spans[at.span].split(at.offset);
        self.insert_span(at.span + 1, tail);
        at.span + 1
    }

    /// Inserts a span, growing the buffer a few slots at a time: leaves are
    /// many and small, so doubling would waste more than it saves.
    pub fn insert_span(&mut self, i: usize, span: Span) {
        if self.spans.len() == self.spans.capacity() {
            self.spans.reserve_exact(6);
        }
        self.spans.insert(i, span);
    }

    /// Inserts text at a byte offset, growing the buffer in small steps.
    pub fn insert_text(&mut self, byte: usize, text: &str) {
        let need = self.text.len() + text.len();
        if need > self.text.capacity() {
            // At least 64 bytes at a time, also near the leaf's limit (where
            // a split follows): growing by the few bytes left would copy the
            // text on every keystroke.
            self.text.reserve_exact(text.len().max(64));
        }
        self.text.insert_str(byte, text);
        self.ascii &= text.is_ascii();
    }

    /// Merges span `i` into span `i - 1` when it continues it.
    pub fn try_merge_back(&mut self, i: usize) -> bool {
        if i == 0 || i >= self.spans.len() || !self.spans[i - 1].can_append(&self.spans[i]) {
            return false;
        }
        let len = self.spans[i - 1].len() + self.spans[i].len();
        self.spans[i - 1].set_len(len);
        self.spans.remove(i);
        true
    }
}
