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
use crate::{Doc, Error, IndexUnit, Patch, ReplicaId, Version};
use std::borrow::Cow;

/// What a version holds, per agent: how many operations, and the items its
/// deletes target (sorted, merged ranges); when asked for, who deleted them.
struct Cut {
    counts: Vec<u32>,
    deleted: Vec<Vec<(u32, u32)>>,
    deleters: Vec<Vec<Deleted>>,
}

/// Items `lo..hi` of one agent, deleted by agent `by`.
#[derive(Clone, Copy)]
struct Deleted {
    lo: u32,
    hi: u32,
    by: u32,
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

    /// Who removed `run`'s items (visible elsewhere, not at this cut), as
    /// `(items, agent)` in order: their deleter, or their inserter where
    /// this cut lacks them altogether. Needs `deleters`.
    fn removers(&self, run: ItemRun) -> Vec<(u32, u32)> {
        let a = run.agent as usize;
        let inserted = self.counts.get(a).copied().unwrap_or(0);
        let segments = self.deleters.get(a).map_or(&[][..], |d| &d[..]);
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut push = |n: u32, by: u32| match out.last_mut() {
            Some(last) if last.1 == by => last.0 += n,
            _ => out.push((n, by)),
        };
        let (mut seq, end) = (run.seq, run.seq + run.len);
        let mut i = segments.partition_point(|d| d.hi <= seq);
        while seq < end {
            let by = match segments.get(i) {
                _ if seq >= inserted => None,
                Some(d) if d.lo <= seq => Some(d),
                _ => None,
            };
            let next = match (by, segments.get(i)) {
                (Some(d), _) => d.hi.min(end),
                (None, Some(d)) if seq < inserted => d.lo.min(end),
                _ => end,
            };
            push(next - seq, by.map_or(run.agent, |d| d.by));
            if by.is_some() {
                i += 1;
            }
            seq = next;
        }
        out
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
    /// What `version` holds (the document decoded first); with
    /// `deleters`, who deleted what.
    fn cut(&mut self, version: &Version, deleters: bool) -> Result<Cut, Error> {
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
        let mut by: Vec<Vec<Deleted>> = vec![Vec::new(); counts.len()];
        for run in self.history.runs() {
            let k = counts[run.agent as usize];
            if run.seq >= k {
                continue;
            }
            let run = run.prefix(run.len.min(k - run.seq));
            if let OpKind::Delete { target, reversed } = run.kind() {
                if let Some(range) = target_range(target.seq(), reversed, run.len) {
                    deleted[target.agent() as usize].push(range);
                    if deleters {
                        let (lo, hi) = range;
                        let d = Deleted {
                            lo,
                            hi,
                            by: run.agent,
                        };
                        by[target.agent() as usize].push(d);
                    }
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
        // Plain loops here and below: each iterator chain is code of its
        // own in the WebAssembly module.
        let mut deleters = Vec::with_capacity(by.len());
        for d in by {
            deleters.push(self.disjoint(d));
        }
        Ok(Cut {
            counts,
            deleted,
            deleters,
        })
    }

    /// Deletes of one agent's items made disjoint: of the deletes of an
    /// item, the one of the lowest replica id keeps it, a choice that does
    /// not depend on how runs were split or ordered, so every replica makes
    /// it alike. The deletes' ends cut the items into stretches, painted in
    /// order of replica id, each once (`unpainted` skips painted ones).
    fn disjoint(&self, mut deletes: Vec<Deleted>) -> Vec<Deleted> {
        let mut points: Vec<u32> = Vec::with_capacity(2 * deletes.len());
        for d in &deletes {
            points.push(d.lo);
            points.push(d.hi);
        }
        sort_by_u64_key(&mut points, |&p| u64::from(p));
        points.dedup();
        let mut owner = vec![u32::MAX; points.len()];
        let mut unpainted: Vec<u32> = Vec::with_capacity(points.len());
        for k in 0..points.len() as u32 {
            unpainted.push(k);
        }
        let at = |p: u32| points.partition_point(|&q| q < p);
        sort_by_u64_key(&mut deletes, |d| self.history.replica(d.by));
        for d in deletes {
            let end = at(d.hi);
            let mut k = first_unpainted(&mut unpainted, at(d.lo));
            while k < end {
                owner[k] = d.by;
                unpainted[k] = k as u32 + 1;
                k = first_unpainted(&mut unpainted, k + 1);
            }
        }
        let mut out: Vec<Deleted> = Vec::new();
        for (k, &by) in owner.iter().enumerate().filter(|&(_, &by)| by != u32::MAX) {
            let (lo, hi) = (points[k], points[k + 1]);
            match out.last_mut() {
                Some(last) if last.hi == lo && last.by == by => last.hi = hi,
                _ => out.push(Deleted { lo, hi, by }),
            }
        }
        out
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

    /// How many operations this document holds: one per character inserted
    /// or deleted, by any replica (the sum of its version's counts). O(replicas).
    pub fn operation_count(&self) -> u64 {
        self.history.counters().iter().map(|&c| u64::from(c)).sum()
    }

    /// The version after the first `n` operations of this document's
    /// history, in the order it holds them (each after what it depends on):
    /// 0 gives the empty version, [`Doc::operation_count`] or more the
    /// current one. What a history slider steps through.
    ///
    /// O(runs of the history).
    ///
    /// # Errors
    /// A decoding error of a lazily loaded document.
    pub fn version_at_operation(&mut self, n: u64) -> Result<Version, Error> {
        self.finish_loading()?;
        let mut counts = vec![0; self.history.agent_count()];
        let mut left = n;
        for run in self.history.runs() {
            if left == 0 {
                break;
            }
            let take = left.min(u64::from(run.len)) as u32;
            counts[run.agent as usize] = run.seq + take;
            left -= u64::from(take);
        }
        Ok(self.history.version_of(&counts))
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
        let cut = self.cut(version, false)?;
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
        let changes = self.changes(from, to, unit, false)?;
        let mut patches = Vec::with_capacity(changes.len());
        for (p, _) in changes {
            patches.push(p);
        }
        Ok(patches)
    }

    /// [`Doc::diff`], each patch with the replica that made it (see
    /// [`Doc::author`] for its author): who inserted the text an insert
    /// adds, who deleted the text a delete removes. Of concurrent deletes
    /// of one character, every replica picks the same one; text that `to`
    /// lacks altogether (a diff back) counts as removed by its inserter.
    ///
    /// # Errors
    /// As [`Doc::text_at`].
    pub fn diff_by_replica(
        &mut self,
        from: &Version,
        to: &Version,
        unit: IndexUnit,
    ) -> Result<Vec<(Patch, ReplicaId)>, Error> {
        let mut changes = Vec::new();
        for (p, a) in self.changes(from, to, unit, true)? {
            changes.push((p, self.history.replica(a)));
        }
        Ok(changes)
    }

    /// The patches of `diff`, with the agent that made each when
    /// `attributed` (else 0, and patches join across agents).
    fn changes(
        &mut self,
        from: &Version,
        to: &Version,
        unit: IndexUnit,
        attributed: bool,
    ) -> Result<Vec<(Patch, u32)>, Error> {
        let cuts = [self.cut(from, false)?, self.cut(to, attributed)?];
        let mut out: Vec<(Patch, u32)> = Vec::new();
        let mut index = 0;
        // Where the last patch, an insert, ended: the next one there joins it.
        let mut insert_end = None;
        for p in self.pieces([&cuts[0], &cuts[1]]) {
            if !(p.at[0] || p.at[1]) {
                continue;
            }
            let text = p.text.ok_or(Error::DeletedTextUnknown)?;
            let measure = |t: &str| TextMetrics::of(t).get(unit) as usize;
            match p.at {
                [true, true] => index += measure(&text),
                [true, false] if attributed => {
                    let mut rest = &text[..];
                    for (n, by) in cuts[1].removers(p.run) {
                        let (part, tail) = rest.split_at(char_to_byte(rest, n as usize));
                        rest = tail;
                        push_delete(&mut out, index, measure(part), by);
                    }
                }
                [true, false] => push_delete(&mut out, index, measure(&text), 0),
                _ => {
                    let by = if attributed { p.run.agent } else { 0 };
                    let len = measure(&text);
                    match out.last_mut() {
                        Some((Patch::Insert { text: last, .. }, b))
                            if insert_end == Some(index) && *b == by =>
                        {
                            last.push_str(&text)
                        }
                        _ => out.push((
                            Patch::Insert {
                                index,
                                text: text.into_owned(),
                            },
                            by,
                        )),
                    }
                    index += len;
                    insert_end = Some(index);
                    continue;
                }
            }
            insert_end = None;
        }
        Ok(out)
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
        let cut = self.cut(version, false)?;
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

/// The first stretch at or after `k` not painted yet (`next` points each
/// painted stretch onwards; halved on the way, as in a union-find).
fn first_unpainted(next: &mut [u32], mut k: usize) -> usize {
    while next[k] as usize != k {
        next[k] = next[next[k] as usize];
        k = next[k] as usize;
    }
    k
}

/// Appends a delete of `len` at `index` made by `by`, joined to the last
/// patch when that is a delete by `by` at the same index.
fn push_delete(patches: &mut Vec<(Patch, u32)>, index: usize, len: usize, by: u32) {
    if let Some((Patch::Delete { index: i, len: n }, b)) = patches.last_mut() {
        if *i == index && *b == by {
            *n += len;
            return;
        }
    }
    patches.push((Patch::Delete { index, len }, by));
}
