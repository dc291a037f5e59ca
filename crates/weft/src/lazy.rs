//! What loading a snapshot defers until something needs it.
//!
//! - **The history** stays encoded until merging operations, an update that
//!   reaches back before the snapshot, a new snapshot or the invariant checks
//!   need it. Local edits go to the log as usual and join the history when
//!   it is decoded.
//! - **The deleted text** stays encoded until asked for
//!   (`Doc::deleted_text`), a new snapshot after a change, or the checks;
//!   it is matched with the deleted spans of every page (`deleted`).
//! - **Each page's spans** stay encoded (the page is a cold leaf holding its
//!   text) until an edit touches the page, or something needs every item.
//!
//! Methods that need what is deferred take `&mut self` and decode it in
//! place, once: `encode_snapshot` after a change (unchanged, it reuses the
//! history as stored), `encode_update` reaching back before the snapshot,
//! `merge`, sticky positions on a page not decoded yet. Reads
//! that need none (text, slices, lines, versions) stay `&self`.
//!
//! Loading then costs the text and a directory, not the structure. What is
//! deferred is checked when decoded: the first operation that needs an
//! invalid part fails with [`Error::Decode`] and changes nothing. The
//! snapshot's checksum was verified at load, so only crafted bytes get that
//! far.

use crate::content::{InLeaf, LeafId, Loc};
use crate::encoding::pages::{self, PageEntry};
use crate::oplog::OpLog;
use crate::{Doc, Error};
use std::borrow::Cow;

/// A snapshot's operations section, as stored.
#[derive(Debug, Clone)]
pub(crate) struct EncodedHistory {
    section: Box<[u8]>,
    /// Per agent, how many of its operations the snapshot holds.
    pub(crate) ends: Vec<u32>,
}

impl EncodedHistory {
    pub fn new(section: &[u8], ends: Vec<u32>) -> Self {
        EncodedHistory {
            section: section.into(),
            ends,
        }
    }

    pub fn section(&self) -> &[u8] {
        &self.section
    }

    /// True when `known` (per agent) includes every operation in it.
    pub fn covered_by(&self, known: &[u32]) -> bool {
        self.ends
            .iter()
            .enumerate()
            .all(|(a, &end)| known.get(a).copied().unwrap_or(0) >= end)
    }

    pub fn heap_bytes(&self) -> usize {
        self.section.len() + self.ends.capacity() * 4
    }
}

impl Doc {
    /// Decodes and checks everything loading deferred (see the module
    /// documentation), if anything is left. Operations that need it do this
    /// themselves; calling it first picks the moment, and the place of any
    /// error.
    ///
    /// # Errors
    /// [`Error::Decode`] when part of the snapshot this document was loaded
    /// from is invalid; the document is unchanged.
    pub fn finish_loading(&mut self) -> Result<(), Error> {
        self.finish_structure()?;
        self.decode_deleted()
    }

    /// What merging operations needs of what loading deferred: every page
    /// and the history. The deleted text may stay encoded: deletes merged
    /// record the text they tombstone beside it, as local ones do (a large
    /// document's deleted text is a fifth of decoding it all).
    pub(crate) fn finish_structure(&mut self) -> Result<(), Error> {
        self.thaw_all()?;
        self.history.finish_decoding(&self.tree)
    }

    /// Decodes the spans of every cold page.
    pub(crate) fn thaw_all(&mut self) -> Result<(), Error> {
        // Every merge calls this: once all is decoded it must cost nothing.
        if self.tree.cold_leaves() == 0 {
            return Ok(());
        }
        for leaf in self.tree.cold_leaf_ids() {
            self.thaw(leaf)?;
        }
        Ok(())
    }

    /// Decodes the spans of cold leaf `leaf`, checked against its directory
    /// entry and the replicas' counters, and splits it into leaves.
    pub(crate) fn thaw(&mut self, leaf: LeafId) -> Result<(), Error> {
        let Some(cold) = self.tree.cold_spans(leaf) else {
            return Ok(());
        };
        let entry = PageEntry {
            spans: cold.spans,
            items: cold.items,
            chars: cold.chars,
            bytes: self.tree.leaf_text(leaf)?.len() as u32,
        };
        // (A cold page means the history is still encoded too: it is
        // decoded after every page.)
        let spans = pages::decode(&cold.column, entry, self.history.snapshot_counters())?;
        self.tree.thaw(leaf, spans);
        Ok(())
    }

    /// A copy with every page and the deleted text decoded, when some are
    /// still encoded: only for the invariant checks, which must not change
    /// what they check. Every other method that needs every item takes
    /// `&mut self` and decodes in place, once.
    pub(crate) fn thawed(&self) -> Result<Option<Doc>, Error> {
        if self.tree.cold_leaves() == 0 && !self.deleted.is_encoded() {
            return Ok(None);
        }
        // What reads need, copied: no id index (built when asked), no
        // waiting operations (reads ignore them).
        let mut hot = Doc::from_parts(
            self.replica,
            self.history.copy_for_reads(),
            self.tree.copy_without_index(),
        );
        hot.deleted = self.deleted.clone();
        hot.thaw_all()?;
        hot.decode_deleted()?;
        Ok(Some(hot))
    }

    /// Checks everything loading deferred (pages and history) on a decoded
    /// copy, leaving this document as loaded: for snapshots from elsewhere,
    /// checked whole before they are adopted, yet kept encoded until needed.
    pub(crate) fn check_whole(&self) -> Result<(), Error> {
        let mut copy = Doc::from_parts(
            self.replica,
            self.history.copy_for_reads(),
            self.tree.copy_without_index(),
        );
        copy.deleted = self.deleted.clone();
        copy.finish_loading()
    }

    /// Decodes the pages holding visible characters `start..end`, so a
    /// delete finds them all decoded (or fails before deleting any).
    pub(crate) fn thaw_range(&mut self, start: u32, end: u32) -> Result<(), Error> {
        if self.tree.cold_leaves() == 0 {
            return Ok(()); // nothing to decode: spare an edit a second descent
        }
        let mut c = start;
        while c < end {
            let (loc, before) = self.seek_for_edit(c, false)?;
            c = before + self.tree.leaf_chars(loc.leaf);
        }
        Ok(())
    }

    /// The location of visible character `at` for an edit and the visible
    /// characters before its leaf, decoding the page it falls in first,
    /// and, with `neighbours`, the pages of the items on either side (an
    /// insert's origins).
    pub(crate) fn seek_for_edit(&mut self, at: u32, neighbours: bool) -> Result<(Loc, u32), Error> {
        loop {
            let (loc, before) = self.tree.seek_visible(at);
            let cold = if self.tree.cold_leaves() == 0 {
                None
            } else if self.tree.is_cold(loc.leaf) {
                Some(loc.leaf)
            } else if neighbours {
                self.neighbour_holding_origin(loc)
                    .filter(|&l| self.tree.is_cold(l))
            } else {
                None
            };
            match cold {
                Some(l) => self.thaw(l)?,
                None => return Ok((loc, before)),
            }
        }
    }

    /// The leaf holding the item on the other side of `loc` when `loc` is at
    /// an end of its leaf: an insert there has an origin in that leaf.
    fn neighbour_holding_origin(&self, loc: Loc) -> Option<LeafId> {
        if loc.at == InLeaf::START {
            self.tree.prev_leaf(loc.leaf)
        } else if self.tree.is_leaf_end(loc) {
            self.tree.next_leaf(loc.leaf)
        } else {
            None
        }
    }

    /// True unless the document still holds a snapshot's encoded history
    /// with operations `known` (per agent) lacks.
    pub(crate) fn history_covered_by(&self, known: &[u32]) -> bool {
        self.history.covered_by(known)
    }

    /// The whole log: this one, or a decoded copy while the snapshot's
    /// history is still encoded.
    pub(crate) fn full_log(&self) -> Result<Cow<'_, OpLog>, Error> {
        self.log_since(&[])
    }

    /// A log holding every operation that `known` (per agent) lacks.
    pub(crate) fn log_since(&self, known: &[u32]) -> Result<Cow<'_, OpLog>, Error> {
        self.history.log_since(known, &self.tree)
    }
}
