//! Opening a document from stored entries, and planning a compaction.

use super::entry::{decode_entry, encode_checkpoint, EntryKind};
use crate::{DecodeError, Doc, Error, IndexUnit, ReplicaId};

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
    /// Key of the checkpoint loaded (the last record it covers), 0 if none.
    pub covered: u64,
    /// Highest record key found, valid or not: the next record's key must be
    /// higher.
    pub last_key: u64,
    /// Keys of the records merged into `doc`: what a compaction may delete.
    pub merged_keys: Vec<u64>,
    /// Bytes of all records (for the compaction policy).
    pub journal_bytes: u64,
    /// Bytes of the checkpoint loaded.
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
    let mut checkpoints: Vec<(u64, &[u8])> = checkpoints.into_iter().collect();
    checkpoints.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    let mut doc = None;
    let mut covered = 0;
    let mut checkpoint_bytes = 0;
    for (key, bytes) in checkpoints {
        let loaded =
            decode_entry(bytes)
                .map_err(Error::from)
                .and_then(|e| match (e.kind, e.key == key) {
                    (EntryKind::Checkpoint, true) => Doc::from_snapshot(e.payload, replica),
                    _ => Err(DecodeError::InvalidValue("checkpoint header").into()),
                });
        match loaded {
            Ok(d) => {
                doc = Some(d);
                covered = key;
                checkpoint_bytes = bytes.len() as u64;
                break;
            }
            Err(error) => problems.push(Problem::Checkpoint { key, error }),
        }
    }
    let mut doc = doc.unwrap_or_else(|| Doc::new(replica));
    let mut records: Vec<(u64, &[u8])> = records.into_iter().collect();
    records.sort_unstable_by_key(|r| r.0);
    let last_key = records.last().map_or(covered, |r| r.0.max(covered));
    let mut journal_bytes = 0;
    let mut merged_keys = Vec::new();
    // Every record is applied, even those under the checkpoint's key: another
    // tab may have written one the checkpoint does not include, and merging
    // one it does include changes nothing.
    for (key, bytes) in records {
        journal_bytes += bytes.len() as u64;
        let applied =
            decode_entry(bytes)
                .map_err(Error::from)
                .and_then(|e| match (e.kind, e.key == key) {
                    (EntryKind::Record, true) => doc.apply_update(e.payload, IndexUnit::Utf16),
                    _ => Err(DecodeError::InvalidValue("record header").into()),
                });
        match applied {
            Ok(_) => merged_keys.push(key),
            Err(error) => problems.push(Problem::Record { key, error }),
        }
    }
    Opened {
        doc,
        covered,
        last_key,
        merged_keys,
        journal_bytes,
        checkpoint_bytes,
        problems,
    }
}

/// A compaction to carry out, in this order: store `checkpoint` under
/// `key`; delete the records `covers` lists; delete other checkpoints with
/// lower keys. Done in one transaction where the backend has them; in order
/// otherwise, so a crash between steps loses nothing. Only the records the
/// document includes are deleted, so records another writer added meanwhile
/// survive (and are merged on the next open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The highest key among `covers`: the checkpoint's key.
    pub key: u64,
    /// The checkpoint entry's bytes.
    pub checkpoint: Vec<u8>,
    /// Keys of the records the checkpoint includes.
    pub covers: Vec<u64>,
}

/// Plans a compaction of `doc`, which includes the records keyed `covers`
/// (those it was opened with or that were written from it).
pub fn compaction(doc: &Doc, covers: Vec<u64>) -> Compaction {
    let key = covers.iter().copied().max().unwrap_or(0);
    Compaction {
        key,
        checkpoint: encode_checkpoint(key, &doc.encode_snapshot()),
        covers,
    }
}
