//! Opening a document from stored entries, and planning a compaction.

use super::entry::{decode_entry, EntryKind};
use crate::{DecodeError, Doc, Error, ReplicaId};

/// Something wrong found while opening; the entry named was skipped and
/// everything else was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A checkpoint that does not decode or load (torn, corrupt, foreign).
    Checkpoint {
        /// Its storage key.
        key: u64,
        /// Why.
        error: Error,
    },
    /// A record that does not decode or merge.
    Record {
        /// Its storage key.
        key: u64,
        /// Why.
        error: Error,
    },
}

/// The result of [`open`].
#[derive(Debug)]
pub struct Opened {
    /// The document, editing as the replica given to `open`.
    pub doc: Doc,
    /// Key of the newest checkpoint merged, 0 if none.
    pub covered: u64,
    /// Highest record key found (valid or not) or checkpoint key merged.
    pub last_key: u64,
    /// Keys and bytes of the records merged into `doc`: what a compaction
    /// may delete.
    pub merged_records: Vec<(u64, u64)>,
    /// Keys of the checkpoints merged into `doc`, newest first: what a
    /// compaction may delete.
    pub merged_checkpoints: Vec<u64>,
    /// Bytes of all records (for the compaction policy).
    pub journal_bytes: u64,
    /// Bytes of the checkpoints merged.
    pub checkpoint_bytes: u64,
    /// What was skipped, and why.
    pub problems: Vec<Problem>,
}

/// Opens a document from the entries a backend holds: checkpoints and
/// records as (storage key, bytes), in any order. Local edits are made as
/// `replica`, which must be new to the document (a fresh id per session
/// means no id is ever issued twice, even after a crash lost edits that
/// peers had already received).
///
/// Never fails: what cannot be read is skipped and reported in `problems`.
pub fn open<'a>(
    replica: ReplicaId,
    checkpoints: impl IntoIterator<Item = (u64, &'a [u8])>,
    records: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Opened {
    let mut problems = Vec::new();
    let checkpoints = by_key(checkpoints);
    let records = by_key(records);
    // Merging into the base needs its history. Decoding it here blames an
    // invalid one on the base checkpoint (the next one becomes the base)
    // instead of on whatever is merged next. A lone checkpoint keeps it
    // encoded until needed.
    let merges = checkpoints.len() > 1 || !records.is_empty();
    let mut doc: Option<Doc> = None;
    let mut covered = 0;
    let mut checkpoint_bytes = 0;
    let mut merged_checkpoints = Vec::new();
    // Every checkpoint that reads is merged, newest first: writers in other
    // tabs compact on their own, so an older checkpoint may hold edits a
    // newer one lacks. The newest becomes the base (loading it is cheapest).
    for &(key, bytes) in checkpoints.iter().rev() {
        let entry =
            decode_entry(bytes)
                .map_err(Error::from)
                .and_then(|e| match (e.kind, e.key == key) {
                    (EntryKind::Checkpoint, true) => Ok(e),
                    _ => Err(DecodeError::InvalidValue("checkpoint header").into()),
                });
        let merged = entry.and_then(|checkpoint| match &mut doc {
            None => checkpoint
                .load(replica)
                .and_then(|mut d| {
                    if merges {
                        d.finish_loading()?;
                    }
                    Ok(d)
                })
                .map(|d| doc = Some(d)),
            Some(d) => checkpoint.merge_into(d),
        });
        match merged {
            Ok(()) => {
                if merged_checkpoints.is_empty() {
                    covered = key;
                }
                checkpoint_bytes += bytes.len() as u64;
                merged_checkpoints.push(key);
            }
            Err(error) => problems.push(Problem::Checkpoint { key, error }),
        }
    }
    let mut doc = doc.unwrap_or_else(|| Doc::new(replica));
    let last_key = records
        .last()
        .map_or(0, |r| r.0)
        .max(merged_checkpoints.first().copied().unwrap_or(0));
    let mut journal_bytes = 0;
    let mut merged_records = Vec::new();
    // Every record is applied, even those under the checkpoint's key: another
    // tab may have written one the checkpoint does not include, and merging
    // one it does include changes nothing.
    for (key, bytes) in records {
        journal_bytes += bytes.len() as u64;
        let applied =
            decode_entry(bytes)
                .map_err(Error::from)
                .and_then(|e| match (e.kind, e.key == key) {
                    (EntryKind::Record, true) => e.merge_into(&mut doc),
                    _ => Err(DecodeError::InvalidValue("record header").into()),
                });
        match applied {
            Ok(_) => merged_records.push((key, bytes.len() as u64)),
            Err(error) => problems.push(Problem::Record { key, error }),
        }
    }
    Opened {
        doc,
        covered,
        last_key,
        merged_records,
        merged_checkpoints,
        journal_bytes,
        checkpoint_bytes,
        problems,
    }
}

/// Entries in increasing key order.
fn by_key<'a>(entries: impl IntoIterator<Item = (u64, &'a [u8])>) -> Vec<(u64, &'a [u8])> {
    let mut v: Vec<_> = entries.into_iter().collect();
    crate::radix::sort_by_u64_key(&mut v, |e| e.0);
    v
}
