//! Merging remote operations: the FugueMax / YjsMod integration rule for
//! inserts, tombstoning for deletes, and buffering of operations whose
//! dependencies have not arrived.

use crate::content::Span;
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::references::{refers_to_items, Items};
use crate::unit::TextMetrics;
use crate::{DecodeError, Doc, Error, IndexUnit, OpId, ReplicaId};

/// One visible change a merge made, in the order made: each index is into the
/// text as it was after the changes before it. Apply them in order to an
/// editor's buffer and it matches the document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Patch {
    /// `text` was inserted at `index`.
    Insert {
        /// Where, in the unit asked for.
        index: usize,
        /// What.
        text: String,
    },
    /// `len` units of text at `index` were deleted.
    Delete {
        /// Where, in the unit asked for.
        index: usize,
        /// How much, in the unit asked for.
        len: usize,
    },
}

/// A decoded operation run, in global ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteOp {
    pub replica: ReplicaId,
    pub seq: u32,
    pub len: u32,
    pub kind: RemoteKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoteKind {
    Insert {
        left: Option<OpId>,
        right: Option<OpId>,
        text: Inserted,
    },
    Delete {
        target: OpId,
        reversed: bool,
    },
}

/// What an insert run's items hold when they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// Visible text.
    Text(String),
    /// Deleted at the sender: tombstones, with their text when the sender
    /// knew it. (A box, not a string: it fits beside `Text`'s capacity, so
    /// an operation, of which a batch holds many, grows by nothing.)
    Tombstones(Option<Box<str>>),
}

impl Inserted {
    /// The bytes its text holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Inserted::Text(t) => t.capacity(),
            Inserted::Tombstones(t) => t.as_ref().map_or(0, |t| t.len()),
        }
    }
}

/// The id ranges a batch's operations take, `(replica, first seq, end)`,
/// sorted: a sorted vector costs a third of a map per operation, and a
/// batch may hold hundreds of thousands.
struct BatchRanges(Vec<(ReplicaId, u32, u32)>);

impl BatchRanges {
    fn new<'a>(ops: impl Iterator<Item = &'a RemoteOp>) -> BatchRanges {
        let mut v: Vec<_> = ops
            .map(|op| (op.replica, op.seq, op.seq.saturating_add(op.len)))
            .collect();
        // Of two operations starting at one id, the later one counts.
        v.reverse();
        crate::radix::sort_by_u64_key(&mut v, |&(_, s, _)| u64::from(s));
        crate::radix::sort_by_u64_key(&mut v, |&(r, _, _)| r);
        v.dedup_by_key(|&mut (r, s, _)| (r, s));
        BatchRanges(v)
    }

    /// The last range starting before `(r, s)`.
    fn last_before(&self, r: ReplicaId, s: u32) -> Option<&(ReplicaId, u32, u32)> {
        let i = self.0.partition_point(|&(r2, s2, _)| (r2, s2) < (r, s));
        i.checked_sub(1).map(|i| &self.0[i])
    }

    /// Whether a range holds id `(r, s)`.
    fn covers(&self, r: ReplicaId, s: u32) -> bool {
        self.last_before(r, s.saturating_add(1))
            .is_some_and(|&(r2, _, end)| r2 == r && s < end)
    }
}

enum Outcome {
    Applied,
    NotReady,
    Invalid,
}

impl Doc {
    /// Merges decoded operations (in causal order). Everything is validated
    /// first; operations whose dependencies are missing wait in a buffer.
    pub(crate) fn apply_ops(
        &mut self,
        ops: Vec<RemoteOp>,
        unit: Option<IndexUnit>,
    ) -> Result<Vec<Patch>, Error> {
        self.validate(&ops)?;
        // Every replica that sends, added in one sort (try_apply would add
        // them one at a time).
        self.history.add_agents(ops.iter().map(|op| op.replica));
        let mut patches = Vec::new();
        // Deleted text for tombstones that arrived without it before.
        let mut told = Vec::new();
        let mut progress = false;
        for op in ops {
            match self.try_apply(&op, unit, &mut patches, &mut told) {
                Outcome::Applied => progress = true,
                Outcome::NotReady => self.history.pending_mut().push(op),
                Outcome::Invalid => {}
            }
        }
        while progress && !self.history.pending().is_empty() {
            progress = false;
            let waiting = self.history.pending_mut().take();
            for op in waiting {
                match self.try_apply(&op, unit, &mut patches, &mut told) {
                    Outcome::Applied => progress = true,
                    Outcome::NotReady => self.history.pending_mut().push(op),
                    Outcome::Invalid => {}
                }
            }
        }
        self.history.pending_mut().discard_over_budget();
        self.learn_deleted(told.iter().map(|(a, s, n, t)| (*a, *s, *n, t.as_str())));
        Ok(patches)
    }

    /// Rejects operations that refer to existing ids that are not items
    /// (deletions) unless the same batch inserts them.
    fn validate(&self, ops: &[RemoteOp]) -> Result<(), Error> {
        let is_insert = |op: &&RemoteOp| matches!(op.kind, RemoteKind::Insert { .. });
        let inserted = BatchRanges::new(ops.iter().filter(is_insert));
        let deleting = BatchRanges::new(ops.iter().filter(|op| !is_insert(op)));
        let in_batch = |r: ReplicaId, s: u32| inserted.covers(r, s);
        // An id this batch uses for a deletion can never be a character.
        let deletion_in_batch =
            |r: ReplicaId, s: u32| deleting.covers(r, s) && !inserted.covers(r, s);
        // Known seq range check: is (r, s) an applied operation?
        let known = |r: ReplicaId, s: u32| self.history.has(r, s);
        let item_ok = |id: OpId| {
            !deletion_in_batch(id.replica, id.seq)
                && (in_batch(id.replica, id.seq)
                    || !known(id.replica, id.seq)
                    || self
                        .history
                        .agent_of(id.replica)
                        .is_some_and(|a| self.tree.is_item(LocalId::new(a, id.seq))))
        };
        for op in ops {
            let ok = match &op.kind {
                RemoteKind::Insert { left, right, .. } => {
                    left.is_none_or(item_ok) && right.is_none_or(item_ok)
                }
                RemoteKind::Delete { target, reversed } => {
                    match target_range(target.seq, *reversed, op.len) {
                        Some((lo, hi)) => {
                            let hits_deletion = deleting
                                .last_before(target.replica, hi)
                                .is_some_and(|&(r, _, end)| r == target.replica && end > lo);
                            !hits_deletion
                                && self.range_ok(target.replica, lo, hi, &in_batch, &known)
                        }
                        None => false,
                    }
                }
            };
            if !ok {
                return Err(DecodeError::InvalidReference.into());
            }
        }
        Ok(())
    }

    /// Every id of `r` in `lo..hi` that is already applied is an item (or is
    /// inserted by the same batch). Ids not yet applied are checked when their
    /// operations arrive.
    fn range_ok(
        &self,
        r: ReplicaId,
        lo: u32,
        hi: u32,
        in_batch: &dyn Fn(ReplicaId, u32) -> bool,
        known: &dyn Fn(ReplicaId, u32) -> bool,
    ) -> bool {
        let mut s = lo;
        while s < hi && known(r, s) {
            let a = self.history.agent_of(r).expect("known agent");
            match self.tree.locate(a, s) {
                Some(loc) => s = self.tree.span_at(loc).end_seq().min(hi),
                None if in_batch(r, s) => s += 1,
                None => return false,
            }
        }
        true
    }

    /// `id` inside the document, or `None` if its replica is not known
    /// yet (then nothing of it is applied: the operation waits).
    fn local_id(&self, id: Option<OpId>) -> Option<LocalId> {
        match id {
            None => Some(LocalId::NONE),
            Some(id) => Some(LocalId::new(self.history.agent_of(id.replica)?, id.seq)),
        }
    }

    fn agent(&mut self, replica: ReplicaId) -> u32 {
        self.history.agent(replica)
    }

    /// Applies one operation; with a `unit`, records the visible change in
    /// `patches` (without, skips computing positions: replaying a journal).
    /// A duplicate insert's deleted text goes to `told`.
    fn try_apply(
        &mut self,
        op: &RemoteOp,
        unit: Option<IndexUnit>,
        patches: &mut Vec<Patch>,
        told: &mut Vec<(u32, u32, u32, String)>,
    ) -> Outcome {
        let agent = self.agent(op.replica);
        let known = self.history.next_seq(agent);
        let end = op.seq.saturating_add(op.len);
        if op.seq < known {
            if let RemoteKind::Insert {
                text: Inserted::Tombstones(Some(t)),
                ..
            } = &op.kind
            {
                // Learnt after the batch (see `Doc::learn_deleted`).
                told.push((agent, op.seq, end.min(known) - op.seq, t.to_string()));
            }
        }
        if end <= known {
            return Outcome::Applied; // a duplicate
        }
        if op.seq > known {
            return Outcome::NotReady;
        }
        let kind = match &op.kind {
            RemoteKind::Insert { left, right, .. } => {
                match (self.local_id(*left), self.local_id(*right)) {
                    (Some(left), Some(right)) => OpKind::Insert { left, right },
                    _ => return Outcome::NotReady,
                }
            }
            RemoteKind::Delete { target, reversed } => match self.local_id(Some(*target)) {
                Some(target) => OpKind::Delete {
                    target,
                    reversed: *reversed,
                },
                None => return Outcome::NotReady,
            },
        };
        let run = OpRun::new(agent, op.seq, op.len, kind).suffix(known);
        let skip = (known - op.seq) as usize;
        match run.kind() {
            OpKind::Insert { left, right } => {
                if !self.history.is_applied(left) || !self.history.is_applied(right) {
                    return Outcome::NotReady;
                }
                if !refers_to_items(&run, &self.tree)
                    || self
                        .total()
                        .items
                        .checked_add(run.len)
                        .is_none_or(|n| n > crate::content::MAX_SPAN_LEN)
                {
                    return Outcome::Invalid;
                }
                let Some(between) = self.origins_consistent(left, right) else {
                    return Outcome::Invalid;
                };
                let (text, deleted_text) = match &op.kind {
                    RemoteKind::Insert {
                        text: Inserted::Text(t),
                        ..
                    } => (Some(chars_from(t, skip)), None),
                    RemoteKind::Insert {
                        text: Inserted::Tombstones(t),
                        ..
                    } => (None, t.as_deref().map(|t| chars_from(t, skip))),
                    RemoteKind::Delete { .. } => (None, None),
                };
                self.integrate(&run, left, between, text, unit, patches);
                if let Some(t) = deleted_text {
                    self.deleted.record(agent, run.seq, run.len, t);
                }
            }
            OpKind::Delete { target, reversed } => {
                let Some((lo, hi)) = target_range(target.seq(), reversed, run.len) else {
                    return Outcome::Invalid;
                };
                if hi > self.history.next_seq(target.agent()) {
                    return Outcome::NotReady;
                }
                if !refers_to_items(&run, &self.tree) {
                    return Outcome::Invalid;
                }
                self.delete_ids(target.agent(), lo, hi, unit, patches);
            }
        }
        self.history.record(run);
        Outcome::Applied
    }

    /// The item positions of `left` and `right` (-1 for the start, the item
    /// count for the end) if an insert between them could have been typed by
    /// an honest replica: `left` comes before `right`, and neither origin's
    /// own neighbour at its typing lies between them (it was known to whoever
    /// typed this insert, so the two were not neighbours then). Items keep
    /// their relative order, so every replica decides the same whatever order
    /// operations arrived in.
    fn origins_consistent(&self, left: LocalId, right: LocalId) -> Option<(i64, i64)> {
        let end = i64::from(self.total().items);
        let pos = |id: LocalId| if id.is_none() { end } else { self.item_pos(id) };
        let (l, r) = (self.item_pos(left), pos(right));
        let origins = |id: LocalId| {
            id.some()
                .and_then(|id| self.history.origins(id.agent(), id.seq()))
        };
        // Typing usually makes them each other's neighbours: no lookups then.
        let right_ok =
            || origins(right).is_none_or(|(rl, _, _)| rl == left || self.item_pos(rl) <= l);
        let left_ok = || origins(left).is_none_or(|(_, lr, _)| lr == right || pos(lr) >= r);
        (l < r && right_ok() && left_ok()).then_some((l, r))
    }

    /// Item position (counting tombstones) of an item; -1 for the start.
    fn item_pos(&self, id: LocalId) -> i64 {
        match id.some() {
            None => -1,
            Some(id) => {
                let loc = self
                    .tree
                    .locate(id.agent(), id.seq())
                    .expect("origin is an item");
                i64::from(self.tree.offset_of(loc).0)
            }
        }
    }

    /// Places a remote insert run with the YjsMod rule (equivalent to
    /// FugueMax): scan right from the left origin over concurrent inserts and
    /// stop where the run's origins (at item positions `left_pos` and
    /// `right_pos`) say it belongs.
    fn integrate(
        &mut self,
        run: &OpRun,
        left: LocalId,
        (left_pos, right_pos): (i64, i64),
        text: Option<&str>,
        unit: Option<IndexUnit>,
        patches: &mut Vec<Patch>,
    ) {
        let total = i64::from(self.total().items);
        let me = self.history.replica(run.agent);
        let first = match left.some() {
            None => self.tree.normalize(self.tree.start()),
            Some(id) => {
                let loc = self
                    .tree
                    .locate(id.agent(), id.seq())
                    .expect("origin is an item");
                self.tree.advance(loc, 1)
            }
        };
        let mut i = left_pos + 1;
        let mut cur = first;
        let mut dest = cur;
        let mut scanning = false;
        loop {
            if !scanning {
                dest = cur;
            }
            let Some(loc) = cur else { break };
            if i >= total || i == right_pos {
                break;
            }
            let span = self.tree.span_at(loc);
            let other = span.id_at(loc.at.offset);
            let (ol, or, run_end) = self
                .history
                .origins(other.agent(), other.seq())
                .expect("item has origins");
            let oleft = self.item_pos(ol);
            let oright = if or.is_none() {
                total
            } else {
                self.item_pos(or)
            };
            if oleft < left_pos {
                break;
            }
            if oleft == left_pos {
                if oright < right_pos {
                    scanning = true;
                } else if oright == right_pos {
                    if me < self.history.replica(other.agent()) {
                        break;
                    }
                    scanning = false;
                } else {
                    scanning = false;
                }
            }
            // The rest of this run inside this span has the previous item as
            // its left origin, which lies right of ours: all skipped alike.
            let step = i64::from(span.end_seq().min(run_end) - other.seq())
                .min(right_pos - i)
                .max(1);
            i += step;
            cur = self.tree.advance(loc, step as u32);
        }
        let loc = dest.unwrap_or_else(|| self.tree.end());
        let span = Span::new(run.agent, run.seq, run.len, text.is_none());
        // Where it lands, for the patch (worked out before it is there).
        let index = unit
            .filter(|_| !span.deleted())
            .map(|unit| self.chars_to_unit(self.tree.offset_of(loc).1, unit));
        let text = text.unwrap_or("");
        let in_leaf = self.tree.chars_before_in_leaf(loc);
        self.tree
            .insert(loc, in_leaf, span, text, TextMetrics::of(text));
        if let Some(index) = index {
            patches.push(Patch::Insert {
                index,
                text: text.to_owned(),
            });
        }
    }

    /// Tombstones items `lo..hi` of `agent` (all must be items).
    fn delete_ids(
        &mut self,
        agent: u32,
        lo: u32,
        hi: u32,
        unit: Option<IndexUnit>,
        patches: &mut Vec<Patch>,
    ) {
        let mut s = lo;
        while s < hi {
            let loc = self.tree.locate(agent, s).expect("validated item");
            let span = self.tree.span_at(loc);
            let n = (hi - s).min(span.len() - loc.at.offset);
            if !span.deleted() {
                let index =
                    unit.map(|unit| (unit, self.chars_to_unit(self.tree.offset_of(loc).1, unit)));
                let deleted = &mut self.deleted;
                let keep = &mut |text: &str| deleted.record(agent, s, n, text);
                let in_leaf = self.tree.chars_before_in_leaf(loc);
                let removed = self.tree.delete(loc, in_leaf, n, keep);
                if let Some((unit, index)) = index {
                    let len = removed.get(unit) as usize;
                    match patches.last_mut() {
                        // Pieces split only by leaf or span boundaries: one patch.
                        Some(Patch::Delete { index: i, len: l }) if *i == index => *l += len,
                        _ => patches.push(Patch::Delete { index, len }),
                    }
                }
            }
            s += n;
        }
    }
}

/// `text` without its first `skip` characters (a run partly known).
fn chars_from(text: &str, skip: usize) -> &str {
    &text[crate::unit::char_to_byte(text, skip)..]
}

/// The id range `[lo, hi)` a delete run of `len` starting at `target`
/// covers; `None` when it would leave the id space.
pub(crate) fn target_range(target: u32, reversed: bool, len: u32) -> Option<(u32, u32)> {
    if reversed {
        Some((
            target.checked_sub(len.checked_sub(1)?)?,
            target.checked_add(1)?,
        ))
    } else {
        Some((target, target.checked_add(len)?))
    }
}
