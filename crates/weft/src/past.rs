//! The document at earlier versions: its text then ([`Doc::text_at`]), the
//! changes between two versions ([`Doc::diff`]), and making the text equal
//! to an earlier version's through ordinary edits ([`Doc::restore`]).
//!
//! Every item ever inserted stays in the tree, in document order. An item
//! is visible at a version when the version holds its insert and none of
//! the deletes that target it. The text of items deleted since comes from
//! the deleted-text store.

use crate::item_edits::ItemRun;
use crate::oplog::OpKind;
use crate::radix::sort_by_u64_key;
use crate::remote::target_range;
use crate::unit::{char_to_byte, TextMetrics};
use crate::{Doc, Error, IndexUnit, Patch, Version};
use std::borrow::Cow;

/// What a version holds, per agent: how many operations, and the items its
/// deletes target (sorted, merged ranges).
struct Cut {
    counts: Vec<u32>,
    deleted: Vec<Vec<(u32, u32)>>,
}

impl Cut {
    /// Whether item `seq` of `agent` is visible at this cut, and up to
    /// which sequence number that stays so.
    fn visible(&self, agent: u32, seq: u32) -> (bool, u32) {
        let a = agent as usize;
        let inserted = self.counts.get(a).copied().unwrap_or(0);
        if seq >= inserted {
            return (false, u32::MAX);
        }
        let ranges = self.deleted.get(a).map_or(&[][..], |r| &r[..]);
        let i = ranges.partition_point(|&(_, hi)| hi <= seq);
        match ranges.get(i) {
            Some(&(lo, hi)) if lo <= seq => (false, hi),
            Some(&(lo, _)) => (true, lo.min(inserted)),
            None => (true, inserted),
        }
    }
}

/// A stretch of items alike: visible now or not, at the first cut, at the
/// second; with its text when known.
struct Piece<'a> {
    run: ItemRun,
    now: bool,
    at: [bool; 2],
    text: Option<Cow<'a, str>>,
}

impl Doc {
    /// What `version` holds (the document decoded first).
    fn cut(&mut self, version: &Version) -> Result<Cut, Error> {
        self.finish_loading()?;
        let mut counts = vec![0; self.history.agent_count()];
        for (replica, n) in version.iter() {
            match self.history.agent_of(replica) {
                Some(a) if n <= self.history.next_seq(a) => counts[a as usize] = n,
                _ if n == 0 => {}
                _ => return Err(Error::UnknownVersion),
            }
        }
        let mut deleted = vec![Vec::new(); counts.len()];
        for run in self.history.runs() {
            let k = counts[run.agent as usize];
            if run.seq >= k {
                continue;
            }
            let run = run.prefix(run.len.min(k - run.seq));
            if let OpKind::Delete { target, reversed } = run.kind() {
                if let Some(range) = target_range(target.seq(), reversed, run.len) {
                    deleted[target.agent() as usize].push(range);
                }
            }
        }
        for ranges in &mut deleted {
            sort_by_u64_key(ranges, |r| u64::from(r.0));
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
            for &(lo, hi) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                    _ => merged.push((lo, hi)),
                }
            }
            *ranges = merged;
        }
        Ok(Cut { counts, deleted })
    }

    /// Every item in document order, in stretches alike at `cuts`, with
    /// their text when known and needed (visible at either cut).
    fn pieces(&self, cuts: [&Cut; 2]) -> Vec<Piece<'_>> {
        let mut out: Vec<Piece> = Vec::new();
        let mut pending = Vec::new();
        for (span, text) in self.tree.spans() {
            let mut seq = span.seq;
            let mut byte = 0;
            while seq < span.end_seq() {
                let (a, a_end) = cuts[0].visible(span.agent, seq);
                let (b, b_end) = cuts[1].visible(span.agent, seq);
                let end = span.end_seq().min(a_end).min(b_end);
                let len = end - seq;
                let now = !span.deleted();
                let text = if now {
                    let rest = &text[byte..];
                    let n = char_to_byte(rest, len as usize);
                    byte += n;
                    Some(Cow::Borrowed(&rest[..n]))
                } else {
                    None
                };
                let run = ItemRun {
                    agent: span.agent,
                    seq,
                    len,
                };
                if !now && (a || b) {
                    pending.push(out.len());
                }
                out.push(Piece {
                    run,
                    now,
                    at: [a, b],
                    text,
                });
                seq = end;
            }
        }
        for i in pending {
            let r = out[i].run;
            out[i].text = self.deleted.get(r.agent, r.seq, r.len).map(Cow::Owned);
        }
        out
    }

    /// The text as it was at `version` (a version this document has; see
    /// [`Doc::version`]).
    ///
    /// O(n) in the items and operations.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`] for a version with operations this document
    /// lacks; [`Error::DeletedTextUnknown`] when the text of an item deleted
    /// since never reached this replica; a decoding error of a lazily
    /// loaded document.
    pub fn text_at(&mut self, version: &Version) -> Result<String, Error> {
        let cut = self.cut(version)?;
        let mut out = String::new();
        for p in self.pieces([&cut, &cut]) {
            if p.at[0] {
                out.push_str(p.text.as_deref().ok_or(Error::DeletedTextUnknown)?);
            }
        }
        Ok(out)
    }

    /// What changed from version `from` to version `to`, as sequential
    /// patches (in `unit`) that turn the text at `from` into the text at
    /// `to`. Versions need not be ordered: the diff back is the reverse.
    ///
    /// # Errors
    /// As [`Doc::text_at`].
    pub fn diff(
        &mut self,
        from: &Version,
        to: &Version,
        unit: IndexUnit,
    ) -> Result<Vec<Patch>, Error> {
        let cuts = [self.cut(from)?, self.cut(to)?];
        let mut patches: Vec<Patch> = Vec::new();
        let mut index = 0;
        // Where the last patch, an insert, ended: the next one there joins it.
        let mut insert_end = None;
        for p in self.pieces([&cuts[0], &cuts[1]]) {
            if !(p.at[0] || p.at[1]) {
                continue;
            }
            let text = p.text.ok_or(Error::DeletedTextUnknown)?;
            let len = TextMetrics::of(&text).get(unit) as usize;
            match p.at {
                [true, true] => index += len,
                [true, false] => push_patch(&mut patches, Patch::Delete { index, len }),
                _ => {
                    match patches.last_mut() {
                        Some(Patch::Insert { text: last, .. }) if insert_end == Some(index) => {
                            last.push_str(&text)
                        }
                        _ => patches.push(Patch::Insert {
                            index,
                            text: text.into_owned(),
                        }),
                    }
                    index += len;
                    insert_end = Some(index);
                    continue;
                }
            }
            insert_end = None;
        }
        Ok(patches)
    }

    /// Makes the text equal to the text at `version` through ordinary local
    /// edits: text added since is deleted, text deleted since is inserted
    /// again where it was. Other replicas merge them like any edit, and an
    /// [`UndoManager`](crate::UndoManager) can undo them. Returns what that
    /// did, as sequential patches in `unit`.
    ///
    /// # Errors
    /// As [`Doc::text_at`], before anything is changed.
    pub fn restore(&mut self, version: &Version, unit: IndexUnit) -> Result<Vec<Patch>, Error> {
        let cut = self.cut(version)?;
        let pieces = self.pieces([&cut, &cut]);
        if pieces.iter().any(|p| p.at[0] && p.text.is_none()) {
            return Err(Error::DeletedTextUnknown);
        }
        // What to delete (true) and to insert again (false), in order.
        let edits: Vec<(ItemRun, bool)> = pieces
            .iter()
            .filter(|p| p.now != p.at[0])
            .map(|p| (p.run, p.now))
            .collect();
        let mut patches = Vec::new();
        let mut deleted = Vec::new();
        for (run, delete) in edits {
            if delete {
                self.delete_items(run, &mut deleted, unit, &mut patches)?;
            } else {
                self.reinsert_items(run, &mut |_, _| {}, unit, &mut patches)?;
            }
        }
        Ok(patches)
    }
}

/// Appends `patch`, joining a delete to the last one at the same index.
fn push_patch(patches: &mut Vec<Patch>, patch: Patch) {
    if let (Some(Patch::Delete { index, len }), Patch::Delete { index: i, len: n }) =
        (patches.last_mut(), &patch)
    {
        if index == i {
            *len += n;
            return;
        }
    }
    patches.push(patch);
}
