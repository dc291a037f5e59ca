//! Edits addressed by item rather than by index, as undo and redo make them:
//! delete the items an earlier edit inserted, insert again the text of
//! items an earlier edit deleted. Each is an ordinary local operation, so
//! other replicas merge it like any edit.

use crate::content::{InLeaf, Loc};
use crate::oplog::OpKind;
use crate::remote::target_range;
use crate::unit::TextMetrics;
use crate::{Doc, Error, IndexUnit, Patch};

/// Items `seq..seq + len` of one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRun {
    pub agent: u32,
    pub seq: u32,
    pub len: u32,
}

impl ItemRun {
    pub fn end(&self) -> u32 {
        self.seq + self.len
    }

    /// The part of this run that `other` also covers, if any.
    pub fn overlap(&self, other: &ItemRun) -> Option<ItemRun> {
        let seq = self.seq.max(other.seq);
        let end = self.end().min(other.end());
        (self.agent == other.agent && seq < end).then(|| ItemRun {
            agent: self.agent,
            seq,
            len: end - seq,
        })
    }

    /// Appends to `runs`, growing the last run when this one continues it.
    pub fn push_to(self, runs: &mut Vec<ItemRun>) {
        match runs.last_mut() {
            Some(last) if last.agent == self.agent && last.end() == self.seq => {
                last.len += self.len
            }
            _ => runs.push(self),
        }
    }
}

impl Doc {
    /// How many operations this replica has made: local operations are
    /// numbered from 0, so operations `a..b` are those made between two
    /// readings.
    pub(crate) fn local_clock(&self) -> u32 {
        self.history.next_seq(self.me)
    }

    /// The items that local operations `from..to` inserted and deleted.
    pub(crate) fn local_edits(
        &self,
        from: u32,
        to: u32,
        inserted: &mut Vec<ItemRun>,
        deleted: &mut Vec<ItemRun>,
    ) {
        let mut seq = from;
        while seq < to {
            let Some(run) = self.history.run(self.me, seq) else {
                return; // older than the loaded snapshot: not this session's
            };
            let run = run.suffix(seq);
            let run = run.prefix(run.len.min(to - seq));
            match run.kind() {
                OpKind::Insert { .. } => ItemRun {
                    agent: self.me,
                    seq,
                    len: run.len,
                }
                .push_to(inserted),
                OpKind::Delete { target, reversed } => {
                    if let Some((lo, hi)) = target_range(target.seq(), reversed, run.len) {
                        deleted.push(ItemRun {
                            agent: target.agent(),
                            seq: lo,
                            len: hi - lo,
                        });
                    }
                }
            }
            seq = run.end();
        }
    }

    /// Where item `(agent, seq)` is (every page decoded).
    fn locate_item(&self, agent: u32, seq: u32) -> Result<Loc, Error> {
        self.tree.locate(agent, seq).ok_or(Error::UnknownAnchor)
    }

    /// Deletes the items of `run` that are still visible, appends the runs
    /// it deleted to `out` and what that did to the text to `patches` (in
    /// `unit`).
    ///
    /// # Errors
    /// [`Error::UnknownAnchor`] for items this document lacks,
    /// [`Error::DocumentTooLarge`] past the size limit, a decoding error of
    /// a page of a loaded snapshot.
    pub(crate) fn delete_items(
        &mut self,
        run: ItemRun,
        out: &mut Vec<ItemRun>,
        unit: IndexUnit,
        patches: &mut Vec<Patch>,
    ) -> Result<(), Error> {
        self.thaw_all()?;
        let mut seq = run.seq;
        while seq < run.end() {
            let loc = self.locate_item(run.agent, seq)?;
            let span = self.tree.span_at(loc);
            let n = (run.end() - seq).min(span.len() - loc.at.offset);
            if !span.deleted() {
                self.reserve(n, 0)?;
                let index = self.chars_to_unit(self.tree.offset_of(loc).1, unit);
                let in_leaf = self.tree.chars_before_in_leaf(loc);
                let len = self.delete_at(loc, in_leaf, n).get(unit) as usize;
                patches.push(Patch::Delete { index, len });
                ItemRun {
                    agent: run.agent,
                    seq,
                    len: n,
                }
                .push_to(out);
            }
            seq += n;
        }
        Ok(())
    }

    /// Inserts again, right after each stretch of them, the text of the
    /// deleted items of `run` whose text is known; items still visible are
    /// left alone. Calls `moved` with each stretch and the first of the new
    /// items that took its place (one per character, in order). Appends
    /// what that did to the text to `patches` (in `unit`).
    ///
    /// # Errors
    /// As [`Doc::delete_items`].
    pub(crate) fn reinsert_items(
        &mut self,
        run: ItemRun,
        moved: &mut dyn FnMut(ItemRun, u32),
        unit: IndexUnit,
        patches: &mut Vec<Patch>,
    ) -> Result<(), Error> {
        self.thaw_all()?;
        self.decode_deleted()?;
        let mut seq = run.seq;
        while seq < run.end() {
            let loc = self.locate_item(run.agent, seq)?;
            let span = self.tree.span_at(loc);
            let n = (run.end() - seq).min(span.len() - loc.at.offset);
            if span.deleted() {
                if let Some(text) = self.deleted.get(run.agent, seq, n) {
                    let last = Loc {
                        leaf: loc.leaf,
                        at: InLeaf {
                            span: loc.at.span,
                            offset: loc.at.offset + n - 1,
                        },
                    };
                    let stretch = ItemRun {
                        agent: run.agent,
                        seq,
                        len: n,
                    };
                    let index = self.chars_to_unit(self.tree.offset_of(loc).1, unit);
                    moved(stretch, self.insert_after(last, &text)?);
                    patches.push(Patch::Insert { index, text });
                }
            }
            seq += n;
        }
        Ok(())
    }

    /// Inserts `text` right after the item at `left` (visible or not), as a
    /// local insert with that item as its left origin. Returns the first new
    /// item's sequence number. Every page must be decoded.
    fn insert_after(&mut self, left: Loc, text: &str) -> Result<u32, Error> {
        let m = TextMetrics::of(text);
        self.reserve(m.chars, text.len())?;
        let left_id = self.id_at(left);
        let span = self.tree.span_at(left);
        let at = if left.at.offset + 1 < span.len() {
            InLeaf {
                span: left.at.span,
                offset: left.at.offset + 1,
            }
        } else {
            InLeaf {
                span: left.at.span + 1,
                offset: 0,
            }
        };
        let loc = Loc {
            leaf: left.leaf,
            at,
        };
        let chars_before = self.tree.chars_before_in_leaf(loc);
        Ok(self.insert_at(loc, chars_before, left_id, text, m))
    }
}
