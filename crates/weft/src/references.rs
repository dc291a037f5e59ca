//! The one check that an operation refers only to items: its origins and
//! delete targets must name characters that were inserted (visible or
//! tombstoned), never ids taken by deletions. Merging, decoding a
//! snapshot's history and the invariant checks all ask it, each of its own
//! set of items.

use crate::content::Tree;
use crate::encoding::ops::OpsSection;
use crate::id::LocalId;
use crate::item_ranges::{ItemRanges, RangeIndex};
use crate::oplog::{OpKind, OpRun};
use crate::remote::target_range;
use crate::DecodeError;

/// A set of items to check references against.
pub(crate) trait Items {
    /// True when ids `lo..hi` of `agent` are all items of the set.
    fn contains(&self, agent: u32, lo: u32, hi: u32) -> bool;

    /// True for "no id" (the start or end of the text) and for an item.
    fn is_item(&self, id: LocalId) -> bool {
        id.is_none()
            || id
                .seq()
                .checked_add(1)
                .is_some_and(|hi| self.contains(id.agent(), id.seq(), hi))
    }
}

/// True when every origin and delete target of `run` names an item of
/// `items`.
pub(crate) fn refers_to_items(run: &OpRun, items: &impl Items) -> bool {
    match run.kind() {
        OpKind::Insert { left, right } => items.is_item(left) && items.is_item(right),
        OpKind::Delete { target, reversed } => target_range(target.seq(), reversed, run.len)
            .is_some_and(|(lo, hi)| items.contains(target.agent(), lo, hi)),
    }
}

/// The items of a document: what its tree holds.
impl Items for Tree {
    fn contains(&self, agent: u32, lo: u32, hi: u32) -> bool {
        let mut s = lo;
        while s < hi {
            match self.locate(agent, s) {
                Some(loc) => s = self.span_at(loc).end_seq(),
                None => return false,
            }
        }
        true
    }
}

/// The items of a decoded history: what its inserts made.
impl Items for RangeIndex<'_> {
    fn contains(&self, agent: u32, lo: u32, hi: u32) -> bool {
        RangeIndex::contains(self, agent, lo, hi)
    }
}

/// Every origin and delete target of the section names an item of `items`.
pub(crate) fn check_references(
    section: &OpsSection,
    items: &ItemRanges,
) -> Result<(), DecodeError> {
    let items = items.index();
    if section.runs.iter().all(|run| refers_to_items(run, &items)) {
        Ok(())
    } else {
        Err(DecodeError::InvalidReference)
    }
}
