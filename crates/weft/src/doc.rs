//! The document: local edits and reads in any index unit.

use crate::authors::Authors;
use crate::content::{Loc, Metric, Span, Summary, Tree, MAX_SPAN_LEN};
use crate::deleted::DeletedText;
use crate::history::History;
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::unit::{after_nth_newline, char_to_byte, unit_to_char, TextMetrics};
use crate::{Error, IndexUnit, ReplicaId, Version};

/// A collaborative text document: a sequence CRDT whose characters live in a
/// B-tree rope with tombstones.
///
/// ```
/// use weft::{Doc, IndexUnit::Utf16};
/// let mut alice = Doc::new(1);
/// alice.insert(0, "hello", Utf16).unwrap();
/// let mut bob = Doc::new(2);
/// bob.apply_update(&alice.encode_update(&bob.version()).unwrap(), Utf16).unwrap();
/// bob.insert(5, " world", Utf16).unwrap();
/// alice.apply_update(&bob.encode_update(&alice.version()).unwrap(), Utf16).unwrap();
/// assert_eq!(alice.to_string(), "hello world");
/// ```
#[derive(Debug, Clone)]
pub struct Doc {
    /// The replica local edits are made as, and its agent number.
    pub(crate) replica: ReplicaId,
    pub(crate) me: u32,
    /// Who did what: replicas, counters, the op log, waiting operations.
    pub(crate) history: History,
    /// The content: every item, visible or tombstone, with its text.
    pub(crate) tree: Tree,
    /// The text of deleted items (see `deleted`).
    pub(crate) deleted: DeletedText,
    /// The author id of each replica that has one (see `authors`).
    pub(crate) authors: Authors,
    /// Whether what loading deferred was checked whole: a snapshot adopted
    /// after its check. Its pages, while cold, are then written as stored
    /// without being checked again (see `encode_snapshot`).
    pub(crate) checked_whole: bool,
}

impl Doc {
    /// An empty document edited locally as `replica`.
    pub fn new(replica: ReplicaId) -> Doc {
        Doc::from_parts(replica, History::default(), Tree::default())
    }

    /// The one place a document is assembled: a history and the content it
    /// made, edited locally as `replica`.
    pub(crate) fn from_parts(replica: ReplicaId, mut history: History, tree: Tree) -> Doc {
        let me = history.agent(replica);
        Doc {
            replica,
            me,
            history,
            tree,
            deleted: DeletedText::default(),
            authors: Authors::default(),
            checked_whole: false,
        }
    }

    /// The replica id local edits are made as.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// Length of the visible text in `unit`. O(1).
    pub fn len(&self, unit: IndexUnit) -> usize {
        self.tree.total().text.get(unit) as usize
    }

    /// True when no visible text is left.
    pub fn is_empty(&self) -> bool {
        self.tree.total().text.chars == 0
    }

    /// Number of lines: newlines plus one. O(1).
    pub fn line_count(&self) -> usize {
        self.tree.total().text.lines as usize + 1
    }

    /// Items including tombstones (every character ever inserted and merged).
    pub fn items_with_tombstones(&self) -> usize {
        self.tree.total().items as usize
    }

    /// The version: for each replica, how many of its operations are applied.
    pub fn version(&self) -> Version {
        self.history.version()
    }

    /// Inserts `text` at `index` (measured in `unit`).
    ///
    /// O(log n) plus the length of `text`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] past the end, [`Error::NotCharBoundary`]
    /// inside a character, [`Error::DocumentTooLarge`] past the size limit.
    pub fn insert(&mut self, index: usize, text: &str, unit: IndexUnit) -> Result<(), Error> {
        let at = self.edit_index(index, unit)?;
        if text.is_empty() {
            return Ok(());
        }
        let m = TextMetrics::of(text);
        self.reserve(m.chars, text.len())?;
        if self.continue_typing(at, text, m) {
            return Ok(());
        }
        let (loc, before) = self.seek_for_edit(at, true)?;
        let in_leaf = at - before;
        let left = self
            .tree
            .prev_item(loc)
            .map_or(LocalId::NONE, |l| self.id_at(l));
        self.insert_at(loc, in_leaf, left, text, m);
        Ok(())
    }

    /// Inserts `text` (of metrics `m`) at `loc`, which has `chars_before`
    /// visible characters before it in its leaf, as one local operation
    /// with left origin `left` (the item before `loc`). Returns the first
    /// new item's sequence number.
    pub(crate) fn insert_at(
        &mut self,
        loc: Loc,
        chars_before: u32,
        left: LocalId,
        text: &str,
        m: TextMetrics,
    ) -> u32 {
        let right = self
            .tree
            .normalize(loc)
            .map_or(LocalId::NONE, |l| self.id_at(l));
        let seq = self.history.next_seq(self.me);
        self.tree.insert(
            loc,
            chars_before,
            Span::new(self.me, seq, m.chars, false),
            text,
            m,
        );
        self.history.record(OpRun::new(
            self.me,
            seq,
            m.chars,
            OpKind::Insert { left, right },
        ));
        seq
    }

    /// Inserts `text` at visible character `at` the quick way when it
    /// continues the last local insert: at the tree's cursor, right after
    /// this replica's latest item, before the same item. Its items then join
    /// that span and that operation run. Returns whether it did.
    fn continue_typing(&mut self, at: u32, text: &str, m: TextMetrics) -> bool {
        let Some(found @ (loc, _)) = self.tree.cursor_at(at) else {
            return false;
        };
        let seq = self.history.next_seq(self.me);
        let Some(typed) = self.tree.span_before_cursor(loc) else {
            return false;
        };
        if typed.agent != self.me || typed.deleted() || typed.end_seq() != seq {
            return false;
        }
        let right = self
            .tree
            .normalize(loc)
            .map_or(LocalId::NONE, |l| self.id_at(l));
        debug_assert_eq!(
            self.tree.prev_item(loc).map(|l| self.id_at(l)),
            Some(LocalId::new(self.me, seq - 1))
        );
        if !self.history.extend_insert(self.me, seq, right, m.chars) {
            return false;
        }
        self.tree.extend_at_cursor(at, found, text, m);
        true
    }

    /// Deletes `len` units of text starting at `index`.
    ///
    /// O(log n) per run of characters deleted.
    ///
    /// # Errors
    /// As [`Doc::insert`], for both ends of the range.
    pub fn delete(&mut self, index: usize, len: usize, unit: IndexUnit) -> Result<(), Error> {
        let end = index.checked_add(len).ok_or(Error::IndexOutOfBounds {
            index: usize::MAX,
            len: self.len(unit),
            unit,
        })?;
        let start = self.edit_index(index, unit)?;
        let end = self.edit_index(end, unit)?;
        let mut remaining = end - start;
        self.reserve(remaining, 0)?;
        self.thaw_range(start, end)?;
        while remaining > 0 {
            let (loc, before) = self.tree.seek_visible(start);
            let span = self.tree.span_at(loc);
            let n = remaining.min(span.len() - loc.at.offset);
            self.delete_at(loc, start - before, n);
            remaining -= n;
        }
        Ok(())
    }

    /// Deletes the `n` visible items from `loc` on, which lie in one span
    /// and have `chars_before` visible characters before them in their
    /// leaf, as one local operation, keeping their text. Returns its size.
    pub(crate) fn delete_at(&mut self, loc: Loc, chars_before: u32, n: u32) -> TextMetrics {
        let target = self.id_at(loc);
        let deleted = &mut self.deleted;
        let removed = self.tree.delete(loc, chars_before, n, &mut |text| {
            deleted.record(target.agent(), target.seq(), n, text)
        });
        let seq = self.history.next_seq(self.me);
        self.history.record(OpRun::new(
            self.me,
            seq,
            n,
            OpKind::Delete {
                target,
                reversed: false,
            },
        ));
        removed
    }

    /// Checks that `chars` more items and `bytes` more text still fit.
    pub(crate) fn reserve(&self, chars: u32, bytes: usize) -> Result<(), Error> {
        let total = self.tree.total();
        let ok = u64::from(total.items) + u64::from(chars) <= u64::from(MAX_SPAN_LEN)
            && total.text.bytes as usize + bytes <= MAX_SPAN_LEN as usize
            && u64::from(self.history.next_seq(self.me)) + u64::from(chars)
                <= u64::from(MAX_SPAN_LEN);
        ok.then_some(()).ok_or(Error::DocumentTooLarge)
    }

    pub(crate) fn id_at(&self, loc: Loc) -> LocalId {
        self.tree.span_at(loc).id_at(loc.at.offset)
    }

    /// The text between `start` and `end` (in `unit`).
    ///
    /// # Errors
    /// As [`Doc::insert`] for either end; [`Error::InvalidRange`] when
    /// `start > end`.
    pub fn slice(&self, start: usize, end: usize, unit: IndexUnit) -> Result<String, Error> {
        if start > end {
            return Err(Error::InvalidRange { start, end });
        }
        let from = self.unit_to_chars(start, unit)?;
        let to = self.unit_to_chars(end, unit)?;
        let mut out = String::new();
        let (leaf, before) = self.tree.descend(Metric::Text(IndexUnit::CodePoint), from);
        let mut skip = (from - before.text.chars) as usize;
        let mut want = (to - from) as usize;
        for chunk in self.tree.chunks_from(leaf) {
            if want == 0 {
                break;
            }
            let chunk = chunk?;
            let text = &chunk[char_to_byte(chunk, skip)..];
            let take = char_to_byte(text, want);
            out.push_str(&text[..take]);
            want -= TextMetrics::of(&text[..take]).chars as usize;
            skip = 0;
        }
        Ok(out)
    }

    /// `unit_to_chars` for the edits, the common case first: every
    /// character one unit, so no call and no descent.
    fn edit_index(&self, index: usize, unit: IndexUnit) -> Result<u32, Error> {
        let text = self.tree.total().text;
        if index <= text.chars as usize && text.get(unit) == text.chars {
            return Ok(index as u32);
        }
        self.unit_to_chars(index, unit)
    }

    /// Converts `index` in `unit` to a character index, validating it.
    pub(crate) fn unit_to_chars(&self, index: usize, unit: IndexUnit) -> Result<u32, Error> {
        let total = self.tree.total();
        let len = total.text.get(unit) as usize;
        if index > len {
            return Err(Error::IndexOutOfBounds { index, len, unit });
        }
        if total.text.get(unit) == total.text.chars {
            return Ok(index as u32); // one unit per character throughout
        }
        let (leaf, before) = self.tree.descend(Metric::Text(unit), index as u32);
        let text = self.tree.leaf_text(leaf)?;
        let offset = index - before.text.get(unit) as usize;
        unit_to_char(text, offset, unit)
            .map(|c| before.text.chars + c as u32)
            .map_err(|()| Error::NotCharBoundary { index, unit })
    }

    /// Converts a character index (at most the length) to `unit`, in a
    /// document whose pages are all decoded (as merging leaves it).
    pub(crate) fn chars_to_unit(&self, chars: u32, unit: IndexUnit) -> usize {
        let index = self.try_chars_to_unit(chars, unit);
        debug_assert!(index.is_ok(), "a page's text was not read before a merge");
        index.unwrap_or(chars as usize)
    }

    /// Converts a character index (at most the length) to `unit`.
    ///
    /// # Errors
    /// A decoding error of the page of a loaded snapshot it falls in.
    pub(crate) fn try_chars_to_unit(&self, chars: u32, unit: IndexUnit) -> Result<usize, Error> {
        let total = self.tree.total();
        if total.text.get(unit) == total.text.chars {
            return Ok(chars as usize);
        }
        let (leaf, before) = self.tree.descend(Metric::Text(IndexUnit::CodePoint), chars);
        let text = self.tree.leaf_text(leaf)?;
        let byte = char_to_byte(text, (chars - before.text.chars) as usize);
        Ok((before.text.get(unit) + TextMetrics::of(&text[..byte]).get(unit)) as usize)
    }

    /// Converts an index from one unit to another.
    ///
    /// # Errors
    /// As [`Doc::insert`] for `index`.
    pub fn convert_index(
        &self,
        index: usize,
        from: IndexUnit,
        to: IndexUnit,
    ) -> Result<usize, Error> {
        let c = self.unit_to_chars(index, from)?;
        self.try_chars_to_unit(c, to)
    }

    /// The index (in `unit`) where line `line` (0-based) starts.
    ///
    /// # Errors
    /// [`Error::LineOutOfBounds`] when there is no such line.
    pub fn line_start(&self, line: usize, unit: IndexUnit) -> Result<usize, Error> {
        let lines = self.line_count();
        if line >= lines {
            return Err(Error::LineOutOfBounds { line, lines });
        }
        if line == 0 {
            return Ok(0);
        }
        let nth = line as u32 - 1; // the newline that ends the previous line
        let (leaf, before) = self.tree.descend(Metric::Lines, nth);
        let text = self.tree.leaf_text(leaf)?;
        let byte =
            after_nth_newline(text, (nth - before.text.lines) as usize).unwrap_or(text.len());
        Ok((before.text.get(unit) + TextMetrics::of(&text[..byte]).get(unit)) as usize)
    }

    /// The line (0-based) and column (in `unit`) of `index`.
    ///
    /// # Errors
    /// As [`Doc::insert`] for `index`.
    pub fn line_column(&self, index: usize, unit: IndexUnit) -> Result<(usize, usize), Error> {
        let c = self.unit_to_chars(index, unit)?;
        let (leaf, before) = self.tree.descend(Metric::Text(IndexUnit::CodePoint), c);
        let text = self.tree.leaf_text(leaf)?;
        let byte = char_to_byte(text, (c - before.text.chars) as usize);
        let line = (before.text.lines + TextMetrics::of(&text[..byte]).lines) as usize;
        Ok((line, index - self.line_start(line, unit)?))
    }

    /// Summary of the whole tree (used by statistics and tests).
    pub(crate) fn total(&self) -> Summary {
        self.tree.total()
    }

    /// Bytes of heap this document holds (an estimate from capacities; the
    /// benchmark measures the real figure with a counting allocator).
    pub fn heap_bytes(&self) -> usize {
        self.tree.heap_bytes()
            + self.history.heap_bytes()
            + self.deleted.heap_bytes()
            + self.authors.heap_bytes()
    }

    /// Statistics about the document's internal structure.
    pub fn stats(&self) -> Stats {
        let tree = self.tree.stats();
        Stats {
            items: self.total().items as usize,
            visible_chars: self.total().text.chars as usize,
            spans: tree.spans,
            leaves: tree.leaves,
            op_runs: self.history.logged_runs(),
            replicas: self.history.agent_count(),
            pending_ops: self.history.pending().len(),
            pending_bytes: self.history.pending().bytes(),
            discarded_ops: self.history.pending().discarded(),
            tree_bytes: self.tree.heap_bytes(),
            oplog_bytes: self.history.log_bytes(),
            deleted_bytes: self.deleted.heap_bytes(),
            deleted_pieces: self.deleted.piece_count(),
        }
    }
}

/// Counts describing a document's internals, for diagnostics and demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Characters ever inserted (visible plus tombstones).
    pub items: usize,
    /// Visible characters.
    pub visible_chars: usize,
    /// Runs of items in the tree (a loaded snapshot's pages count theirs
    /// once an edit has decoded them).
    pub spans: usize,
    /// Leaves of the tree.
    pub leaves: usize,
    /// Runs in the operation log.
    pub op_runs: usize,
    /// Replicas that have edited the document.
    pub replicas: usize,
    /// Remote operations waiting for their dependencies.
    pub pending_ops: usize,
    /// Memory the waiting operations hold, in bytes (at most 32 MiB).
    pub pending_bytes: usize,
    /// Waiting operations discarded because they held too much memory; the
    /// next version handshake brings them again.
    pub discarded_ops: usize,
    /// Estimated heap bytes of the tree (with its id index, once built).
    pub tree_bytes: usize,
    /// Estimated heap bytes of the operation log.
    pub oplog_bytes: usize,
    /// Estimated heap bytes of the deleted text (with its pieces).
    pub deleted_bytes: usize,
    /// Pieces of deleted text: runs of deleted items recorded together.
    pub deleted_pieces: usize,
}

/// The visible text. A page of a loaded snapshot whose text turns out
/// invalid (only crafted bytes get there: see [`Doc::from_snapshot`]) is
/// written as one U+FFFD; [`Doc::slice`] reports it as an error.
impl std::fmt::Display for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.tree
            .chunks()
            .try_for_each(|chunk| f.write_str(chunk.unwrap_or("\u{FFFD}")))
    }
}
