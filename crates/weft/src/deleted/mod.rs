//! The text of deleted items, kept for undo and history (a view at an old
//! version, diffs, restore) after the tree has dropped it.
//!
//! `DeletedText` is filled whenever a local or remote delete tombstones
//! visible items: it knows the text of every item that was visible at this
//! replica when it was deleted, and what a loaded snapshot carried. An item
//! that arrived already deleted (an insert sent without its text) stays
//! unknown.
//!
//! Its text is kept in *pieces*, runs of deleted items with consecutive ids
//! of one agent, in the order recorded, their text in one buffer: deleting
//! forwards or backspacing grows the last piece, so a keystroke costs no
//! new piece. Older pieces are kept encoded (`pieces`). Lookups go through
//! copies of the pieces sorted by id, built on the first lookup after a
//! piece was recorded or grew.
//!
//! A loaded snapshot's deleted text stays as stored (see `docs/format.md`:
//! the text of its deleted items in document order) until first needed; it
//! is then matched with the snapshot's deleted items, which still come in
//! that order in the tree: those of the snapshot's ids (below its counters)
//! not deleted since (whose text was recorded when deleted).

use crate::content::Span;
use crate::encoding::{Reader, Writer, WINDOW};
use crate::grow;
use crate::radix::sort_by_u64_key;
use crate::unit::{char_to_byte, TextMetrics};
use crate::{DecodeError, Doc, Error, OpId};
use pieces::{Piece, Pieces};
use std::cell::OnceCell;

mod pieces;

/// The most characters a piece holds unless its text is all ASCII: finding
/// a character in such a piece scans its bytes, so a long deletion looked
/// up item by item (a view at an old version whose runs are split) would
/// be quadratic in a single long piece.
const MAX_WIDE_PIECE: u32 = 64;

#[derive(Debug, Clone, Default)]
pub(crate) struct DeletedText {
    pieces: Pieces,
    text: String,
    /// The pieces sorted by id (they never overlap), each with where its
    /// text ends, built when first needed after a piece was recorded or
    /// grew.
    sorted: OnceCell<Vec<(Piece, u32)>>,
    /// A loaded snapshot's section, as stored, until first needed.
    encoded: Option<Box<Encoded>>,
}

#[derive(Debug, Clone)]
struct Encoded {
    section: Box<[u8]>,
    /// Per agent, the snapshot's operation counts: its items are below.
    ends: Vec<u32>,
    /// The start of the snapshot's visible text: the deleted text's
    /// deflate dictionary (see `dictionary`).
    dict: Box<[u8]>,
}

/// The dictionary the deleted text is deflated with: the first 32 KiB of
/// the visible text (the deflate window), whose words deleted text shares.
pub(crate) fn dictionary(visible: &str) -> &[u8] {
    &visible.as_bytes()[..dictionary_len(visible.len() as u64)]
}

/// The dictionary's length for a visible text of `bytes` bytes.
pub(crate) fn dictionary_len(bytes: u64) -> usize {
    bytes.min(WINDOW as u64) as usize
}

impl DeletedText {
    /// The deleted text of a snapshot, as stored, with its dictionary
    /// (see `dictionary`; its counters are set by `set_ends`).
    pub fn from_snapshot(section: &[u8], dict: Vec<u8>) -> DeletedText {
        DeletedText {
            encoded: Some(Box::new(Encoded {
                section: section.into(),
                ends: Vec::new(),
                dict: dict.into(),
            })),
            ..DeletedText::default()
        }
    }

    /// Sets the snapshot's operation counts per agent: its items are below.
    pub fn set_ends(&mut self, ends: &[u32]) {
        if let Some(e) = &mut self.encoded {
            e.ends = ends.to_vec();
        }
    }

    /// True while a loaded snapshot's section is still encoded.
    pub fn is_encoded(&self) -> bool {
        self.encoded.is_some()
    }

    /// Where `agent`'s items past a loaded snapshot start while its
    /// section is still encoded (0 once decoded): the items below are
    /// matched with the section when it is decoded.
    fn encoded_end(&self, agent: u32) -> u32 {
        self.encoded
            .as_ref()
            .map_or(0, |e| e.ends.get(agent as usize).copied().unwrap_or(0))
    }

    /// Records `found`, `(agent, seq, n, text)` of items whose text is not
    /// known, and empties it; of those that overlap (the same told twice in
    /// a batch), the first.
    fn record_new(&mut self, found: &mut Vec<(u32, u32, u32, &str)>) {
        sort_by_u64_key(found, |&(agent, seq, ..)| {
            u64::from(agent) << 32 | u64::from(seq)
        });
        let mut end = (u32::MAX, 0);
        for (agent, seq, n, text) in found.drain(..) {
            if end.0 != agent || seq >= end.1 {
                self.record(agent, seq, n, text);
                end = (agent, seq + n);
            }
        }
    }

    /// Every piece: `(agent, seq, len, text)`.
    pub fn pieces(&self) -> impl Iterator<Item = (u32, u32, u32, &str)> {
        self.pieces.iter(self.text.len() as u32).map(|(p, end)| {
            (
                p.agent,
                p.seq,
                p.len,
                &self.text[p.start as usize..end as usize],
            )
        })
    }

    /// Records the `text` of `n` items `seq..` of `agent`, visible until now.
    /// Beyond 4 GiB of deleted text, further text is not kept (unknown).
    pub fn record(&mut self, agent: u32, seq: u32, n: u32, text: &str) {
        if self.text.len() + text.len() > u32::MAX as usize {
            return;
        }
        if n <= MAX_WIDE_PIECE || text.len() == n as usize {
            return self.record_piece(agent, seq, n, text);
        }
        // Wide text goes in short pieces (see MAX_WIDE_PIECE).
        let (mut seq, mut rest) = (seq, text);
        for left in (1..=n).rev().step_by(MAX_WIDE_PIECE as usize) {
            let take = left.min(MAX_WIDE_PIECE);
            let (head, tail) = rest.split_at(char_to_byte(rest, take as usize));
            self.record_piece(agent, seq, take, head);
            (seq, rest) = (seq + take, tail);
        }
    }

    /// Records `text` of `n` items, by growing the last piece where it can.
    fn record_piece(&mut self, agent: u32, seq: u32, n: u32, text: &str) {
        let buffer_end = self.text.len();
        // The index holds copies of the pieces: a piece growing makes it stale too.
        self.sorted.take();
        if let Some(last) = self.pieces.last_mut().filter(|p| p.agent == agent) {
            // The last piece's text ends the buffer.
            let ascii = buffer_end - last.start as usize == last.len as usize && text.is_ascii();
            let fits = ascii || last.len + n <= MAX_WIDE_PIECE;
            if fits && last.end_seq() == seq {
                last.len += n;
                grow::string(&mut self.text, text.len());
                self.text.push_str(text);
                return;
            }
            if fits && seq + n == last.seq {
                // Backspacing.
                last.seq = seq;
                last.len += n;
                grow::string(&mut self.text, text.len());
                self.text.insert_str(last.start as usize, text);
                return;
            }
        }
        let start = self.text.len() as u32;
        self.pieces.push(Piece {
            agent,
            seq,
            len: n,
            start,
        });
        grow::string(&mut self.text, text.len());
        self.text.push_str(text);
    }

    fn sorted(&self) -> &[(Piece, u32)] {
        self.sorted.get_or_init(|| {
            let mut v: Vec<(Piece, u32)> = self.pieces.iter(self.text.len() as u32).collect();
            sort_by_u64_key(&mut v, |(p, _)| u64::from(p.agent) << 32 | u64::from(p.seq));
            v
        })
    }

    /// Calls `f(seq, n, text)` for the stretches of items `seq..seq + len`
    /// of `agent` in order: `text` is theirs, or `None` where unknown.
    pub fn walk(
        &self,
        agent: u32,
        mut seq: u32,
        len: u32,
        f: &mut dyn FnMut(u32, u32, Option<&str>),
    ) {
        let sorted = self.sorted();
        let end = seq.saturating_add(len);
        let mut i = sorted.partition_point(|(p, _)| (p.agent, p.seq) <= (agent, seq));
        if i > 0 && sorted[i - 1].0.agent == agent && sorted[i - 1].0.end_seq() > seq {
            i -= 1;
        }
        while seq < end {
            let next = sorted.get(i).copied();
            match next.filter(|(p, _)| p.agent == agent && p.seq < end) {
                Some((piece, text_end)) if piece.seq <= seq => {
                    let n = piece.end_seq().min(end) - seq;
                    let text = &self.text[piece.start as usize..text_end as usize];
                    let skip = (seq - piece.seq) as usize;
                    // One byte a character: no scan from the piece's start
                    // (a long deletion walked item by item would be
                    // quadratic).
                    let (from, to) = if text.len() == piece.len as usize {
                        (skip, skip + n as usize)
                    } else {
                        let from = char_to_byte(text, skip);
                        (from, from + char_to_byte(&text[from..], n as usize))
                    };
                    f(seq, n, Some(&text[from..to]));
                    seq += n;
                    i += 1;
                }
                Some((piece, _)) => {
                    f(seq, piece.seq - seq, None);
                    seq = piece.seq;
                }
                None => {
                    f(seq, end - seq, None);
                    seq = end;
                }
            }
        }
    }

    /// The text of items `seq..seq + len` of `agent`, if every one is known.
    pub fn get(&self, agent: u32, seq: u32, len: u32) -> Option<String> {
        let mut out = Some(String::new());
        self.walk(agent, seq, len, &mut |_, _, t| match (t, &mut out) {
            (Some(t), Some(o)) => o.push_str(t),
            _ => out = None,
        });
        out
    }

    pub fn piece_count(&self) -> usize {
        self.pieces.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.pieces.heap_bytes()
            + self.text.capacity()
            + self
                .sorted
                .get()
                .map_or(0, |v| v.capacity() * std::mem::size_of::<(Piece, u32)>())
            + self
                .encoded
                .as_ref()
                .map_or(0, |e| e.section.len() + e.ends.len() * 4 + e.dict.len())
    }

    // ---- snapshots ----

    /// Writes the snapshot section for the deleted ones of `spans` (every
    /// span, in document order) of a document whose visible text is `visible`: the
    /// section as stored while it is still encoded (the document is then
    /// unchanged since loading), else the runs of known and unknown items
    /// and the known items' text.
    pub fn write<'a>(
        &self,
        w: &mut Writer,
        spans: impl Iterator<Item = (Span, &'a str)>,
        visible: &str,
    ) {
        if let Some(e) = &self.encoded {
            return w.bytes(&e.section);
        }
        let mut runs = Writer::default();
        let mut text = String::new();
        let (mut known, mut unknown) = (0u64, 0u64);
        for (s, _) in spans {
            if !s.deleted() {
                continue;
            }
            self.walk(s.agent, s.seq, s.len(), &mut |_, n, t| match t {
                Some(t) => {
                    if unknown > 0 {
                        runs.uvar(known);
                        runs.uvar(unknown);
                        (known, unknown) = (0, 0);
                    }
                    known += u64::from(n);
                    text.push_str(t);
                }
                None => unknown += u64::from(n),
            });
        }
        if known + unknown > 0 {
            runs.uvar(known);
        }
        if unknown > 0 {
            runs.uvar(unknown);
        }
        // Stored, never deflated: its bytes bound the pieces it makes.
        let runs = runs.into_bytes();
        w.uvar((runs.len() as u64) << 1);
        w.bytes(&runs);
        w.bytes(&Writer::column_primed(
            text.as_bytes(),
            0,
            dictionary(visible),
        ));
    }

    /// Reads a snapshot's section, if there is one (snapshots written before
    /// it existed end before it), as stored: its runs column (stored, so
    /// its bytes bound the runs; the text's inflated length is checked when
    /// decoded) and its text column.
    pub fn read_section<'a>(r: &mut Reader<'a>) -> Result<Option<&'a [u8]>, DecodeError> {
        if r.remaining() == 0 {
            return Ok(None);
        }
        let start = r.rest();
        if r.raw_column()?[0] & 1 == 1 {
            return Err(DecodeError::InvalidValue("deleted text"));
        }
        r.skip_column()?;
        Ok(Some(&start[..start.len() - r.remaining()]))
    }

    /// Decodes the encoded section, if any, against the deleted ones of
    /// `spans` (the tree's, in document order); the pieces recorded since loading follow.
    fn decode<'a>(
        &mut self,
        spans: impl Iterator<Item = (Span, &'a str)>,
    ) -> Result<(), DecodeError> {
        let Some(e) = &self.encoded else {
            return Ok(());
        };
        // The snapshot's deleted items, in order: its ids not deleted since.
        let mut items = Vec::new();
        for (s, _) in spans {
            if !s.deleted() {
                continue;
            }
            let end = s
                .end_seq()
                .min(e.ends.get(s.agent as usize).copied().unwrap_or(0));
            if s.seq < end {
                self.walk(s.agent, s.seq, end - s.seq, &mut |seq, n, t| {
                    if t.is_none() {
                        items.push((s.agent, seq, n));
                    }
                });
            }
        }
        let mut r = Reader::new(&e.section);
        let runs_c = r.column()?;
        let text_c = r.column_primed(&e.dict)?;
        r.finish()?;
        let mut runs = runs_c.reader();
        let mut text = std::str::from_utf8(text_c.bytes()).map_err(|_| DecodeError::InvalidUtf8)?;
        let mut out = DeletedText::default();
        let (mut known, mut left, mut first) = (false, 0u64, true);
        for (agent, mut seq, mut n) in items {
            while n > 0 {
                while left == 0 {
                    left = runs.uvar()?;
                    known = !known || first;
                    if left == 0 && !first {
                        return Err(DecodeError::InvalidValue("deleted text"));
                    }
                    first = false;
                }
                let m = n.min(left.min(u64::from(u32::MAX)) as u32);
                if known {
                    let b = char_to_byte(text, m as usize);
                    if b == text.len() && TextMetrics::of(text).chars != m {
                        return Err(DecodeError::InvalidValue("deleted text"));
                    }
                    out.record(agent, seq, m, &text[..b]);
                    text = &text[b..];
                }
                (seq, n, left) = (seq + m, n - m, left - u64::from(m));
            }
        }
        if left > 0 || !text.is_empty() {
            return Err(DecodeError::InvalidValue("deleted text"));
        }
        runs.finish()?;
        for (agent, seq, len, text) in self.pieces() {
            out.record(agent, seq, len, text);
        }
        *self = out;
        Ok(())
    }

    /// Checks (on a decoded store) that pieces are non-empty, hold text of
    /// their length (short unless ASCII), in buffer order, never overlap, and that `deleted(agent,
    /// seq)` (the tree: is that item a tombstone?) holds for every item.
    pub fn check(&self, deleted: impl Fn(u32, u32) -> bool) {
        assert!(self.encoded.is_none(), "checked once decoded");
        let mut start = 0;
        for (i, (p, end)) in self.pieces.iter(self.text.len() as u32).enumerate() {
            assert!(p.len > 0, "empty deleted-text piece {p:?}");
            assert_eq!(
                p.start as usize, start,
                "piece {i} is not where the last ended"
            );
            let text = &self.text[p.start as usize..end as usize];
            assert_eq!(TextMetrics::of(text).chars, p.len, "piece {p:?}: {text:?}");
            assert!(
                text.is_ascii() || p.len <= MAX_WIDE_PIECE,
                "piece {p:?} of wide text is longer than {MAX_WIDE_PIECE}"
            );
            start += text.len();
            for s in p.seq..p.end_seq() {
                assert!(
                    deleted(p.agent, s),
                    "deleted text of {p:?}, not a tombstone"
                );
            }
        }
        assert_eq!(start, self.text.len(), "text past the last piece");
        for w in self.sorted().windows(2) {
            let (a, b) = (w[0].0, w[1].0);
            assert!(
                a.agent < b.agent || a.end_seq() <= b.seq,
                "{a:?} overlaps {b:?}"
            );
        }
    }
}

impl Doc {
    /// The text of `len` items starting at item `id` (ids `id.seq..`, one
    /// per character, of `id.replica`), all deleted, if this replica knows
    /// it: for items that were visible here when deleted (locally or by a
    /// merged operation), or that a loaded snapshot carried text for. `None`
    /// when any of them is unknown (it arrived already deleted, or came
    /// from a snapshot written before snapshots carried deleted text), not
    /// deleted, or not an item. For undo and history.
    ///
    /// O(log p + len) for p pieces of deleted text (runs of consecutive
    /// ids deleted together), plus O(p) for the first lookup after a
    /// delete (the pieces are decoded and radix-sorted into an index). Decodes a
    /// loaded snapshot's deleted text first, once, which decodes every
    /// page (hence `&mut`).
    ///
    /// # Errors
    /// [`Error::Decode`] when that part of the snapshot turns out invalid.
    pub fn deleted_text(&mut self, id: OpId, len: usize) -> Result<Option<String>, Error> {
        self.decode_deleted()?;
        let (Some(agent), Ok(len)) = (self.history.agent_of(id.replica), u32::try_from(len)) else {
            return Ok(None);
        };
        Ok(self.deleted.get(agent, id.seq, len))
    }

    /// Records what `told` says, `(agent, seq, n, text of items seq..seq +
    /// n)`, of items that are tombstones here whose text is not known yet
    /// (they arrived without it). Looked up in chunks, then recorded: one
    /// index of the pieces serves a chunk's lookups. Items of a loaded
    /// snapshot whose deleted text is still encoded are left alone: they are
    /// matched with its section when decoded.
    pub(crate) fn learn_deleted<'t>(
        &mut self,
        told: impl IntoIterator<Item = (u32, u32, u32, &'t str)>,
    ) {
        const CHUNK: usize = 4096;
        let mut found = Vec::new();
        for (agent, seq, n, text) in told {
            let (tree, deleted) = (&self.tree, &self.deleted);
            let floor = deleted.encoded_end(agent);
            // Stretches come in increasing order: bytes found from the last.
            let (mut at_char, mut at_byte) = (0, 0);
            let mut byte = |c: u32| {
                at_byte += char_to_byte(&text[at_byte..], (c - at_char) as usize);
                at_char = c;
                at_byte
            };
            deleted.walk(agent, seq, n, &mut |s, m, known| {
                let end = s + m;
                let mut x = s.max(floor);
                while known.is_none() && x < end {
                    // A forged duplicate may name ids that are not items.
                    let Some(loc) = tree.locate(agent, x) else {
                        return;
                    };
                    let span = tree.span_at(loc);
                    let k = (end - x).min(span.len() - loc.at.offset);
                    if span.deleted() {
                        let from = byte(x - seq);
                        found.push((agent, x, k, &text[from..byte(x + k - seq)]));
                    }
                    x += k;
                }
            });
            if found.len() >= CHUNK {
                self.deleted.record_new(&mut found);
            }
        }
        self.deleted.record_new(&mut found);
    }

    /// Decodes a loaded snapshot's deleted text, if still encoded (every
    /// page first: it is matched with their deleted spans).
    pub(crate) fn decode_deleted(&mut self) -> Result<(), Error> {
        if !self.deleted.is_encoded() {
            return Ok(());
        }
        self.thaw_all()?;
        let spans = self.tree.spans();
        Ok(self.deleted.decode(spans)?)
    }
}
