//! A loaded snapshot's history stays encoded until something needs it:
//! merging operations, an update that reaches back before the snapshot, a
//! new snapshot, the invariant checks. Loading then costs the document's
//! content, not its history. Local edits go to the log as usual, and join
//! the history when it is decoded.
//!
//! The history is checked when it is decoded: the first operation that
//! needs an invalid one fails with [`Error::Decode`] and changes nothing. The
//! snapshot's checksum was verified at load, so only crafted bytes get that
//! far.

use crate::encoding::ops::{self, OpsSection};
use crate::encoding::Reader;
use crate::id::LocalId;
use crate::item_ranges::ItemRanges;
use crate::oplog::{OpKind, OpLog};
use crate::remote::target_range;
use crate::{DecodeError, Doc, Error};
use std::borrow::Cow;

/// A snapshot's operations section, as stored.
#[derive(Debug, Clone)]
pub(crate) struct EncodedHistory {
    section: Box<[u8]>,
    /// Per agent, how many of its operations the snapshot holds.
    ends: Vec<u32>,
}

impl EncodedHistory {
    pub fn new(section: &[u8], ends: Vec<u32>) -> Self {
        EncodedHistory {
            section: section.into(),
            ends,
        }
    }

    /// True when `known` (per agent) includes every operation in it.
    fn covered_by(&self, known: &[u32]) -> bool {
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
    /// Decodes and checks the history of the snapshot this document was
    /// loaded from, if that is still to do. Operations that need the history
    /// do it themselves; calling this first picks the moment (and the place
    /// of any error).
    ///
    /// # Errors
    /// [`Error::Decode`] when the snapshot's history is invalid; the document
    /// is unchanged.
    pub fn load_history(&mut self) -> Result<(), Error> {
        if let Some(h) = &self.encoded_history {
            self.oplog = self.decode_history(h)?;
            self.encoded_history = None;
        }
        Ok(())
    }

    /// The whole log: this one, or a decoded copy while the snapshot's
    /// history is still encoded.
    pub(crate) fn full_log(&self) -> Result<Cow<'_, OpLog>, Error> {
        self.log_since(&[])
    }

    /// A log holding every operation that `known` (per agent) lacks.
    pub(crate) fn log_since(&self, known: &[u32]) -> Result<Cow<'_, OpLog>, Error> {
        match &self.encoded_history {
            Some(h) if !h.covered_by(known) => Ok(Cow::Owned(self.decode_history(h)?)),
            _ => Ok(Cow::Borrowed(&self.oplog)),
        }
    }

    /// The snapshot's history followed by the edits since, checked against
    /// the tree.
    fn decode_history(&self, h: &EncodedHistory) -> Result<OpLog, Error> {
        let mut r = Reader::new(&h.section);
        let section = ops::read(&mut r)?;
        r.finish()?;
        if section.texts.iter().any(Option::is_some) {
            return Err(DecodeError::InvalidValue("snapshot operation carries text").into());
        }
        check_references(&section, &ItemRanges::inserted_by(&section.runs))?;
        let mut log = OpLog::from_runs(section.runs);
        for &run in &self.oplog.runs {
            log.push(run);
        }
        let held = ItemRanges::held_by(self.tree.spans().map(|(s, _)| s));
        if !ItemRanges::inserted_by(&log.runs).same_as(&held) {
            return Err(
                DecodeError::InvalidValue("spans do not match the inserted characters").into(),
            );
        }
        Ok(log)
    }
}

/// Every origin and delete target of the section names an item of `items`.
pub(crate) fn check_references(
    section: &OpsSection,
    items: &ItemRanges,
) -> Result<(), DecodeError> {
    let items = items.index();
    for run in &section.runs {
        let is_item =
            |id: LocalId| id.is_none() || items.contains(id.agent(), id.seq(), id.seq() + 1);
        let ok = match run.kind() {
            OpKind::Insert { left, right } => is_item(left) && is_item(right),
            OpKind::Delete { target, reversed } => target_range(target.seq(), reversed, run.len)
                .is_some_and(|(lo, hi)| items.contains(target.agent(), lo, hi)),
        };
        if !ok {
            return Err(DecodeError::InvalidReference);
        }
    }
    Ok(())
}
