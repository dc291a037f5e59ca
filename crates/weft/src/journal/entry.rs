//! Journal entries: a record (one update) or a checkpoint (one snapshot),
//! sealed in the same envelope as updates and snapshots (kinds `Record` and
//! `Checkpoint`, the key first in the body), so one checksum detects a torn
//! write. Entries of the first journal format (`WFTJ`, an envelope inside a
//! header of its own) are still read.

use crate::encoding::envelope::{self, Kind};
use crate::encoding::{crc32c, Reader};
use crate::{DecodeError, Doc, Error, ReplicaId};

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An update (see [`crate::Doc::encode_update`]).
    Record = 1,
    /// A snapshot (see [`crate::Doc::encode_snapshot`]).
    Checkpoint = 2,
}

/// A decoded entry, borrowing what it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Record or checkpoint.
    pub kind: EntryKind,
    /// The record's key, or the key of the last record a checkpoint covers.
    pub key: u64,
    /// The body of the update or snapshot (without an envelope of its own).
    body: &'a [u8],
}

impl<'a> Entry<'a> {
    /// The body of the update (record) or snapshot (checkpoint) it stores.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Merges what it stores into `doc` (no patches: nobody watches a
    /// journal being replayed).
    pub(crate) fn merge_into(&self, doc: &mut Doc) -> Result<(), Error> {
        let kind = match self.kind {
            EntryKind::Record => Kind::Update,
            EntryKind::Checkpoint => Kind::Snapshot,
        };
        doc.apply_body(kind, Reader::new(self.body), None, false)
            .map(drop)
    }

    /// The document a checkpoint stores, editing as `replica`.
    pub(crate) fn load(&self, replica: ReplicaId) -> Result<Doc, Error> {
        if self.kind != EntryKind::Checkpoint {
            return Err(DecodeError::WrongKind(self.kind as u8).into());
        }
        Doc::decode_snapshot_body(Reader::new(self.body), replica)
    }
}

/// The bytes to store for the record of `update` (made by
/// [`crate::Doc::encode_update`]) under `key`.
pub fn encode_record(key: u64, update: &[u8]) -> Vec<u8> {
    envelope::seal_parts(Kind::Record, &key.to_le_bytes(), envelope::body_of(update))
}

/// The bytes to store for a checkpoint of `snapshot` (made by
/// [`crate::Doc::encode_snapshot`]) covering records up to `key`.
pub fn encode_checkpoint(key: u64, snapshot: &[u8]) -> Vec<u8> {
    envelope::seal_parts(
        Kind::Checkpoint,
        &key.to_le_bytes(),
        envelope::body_of(snapshot),
    )
}

/// Decodes an entry, checking its envelope (length and checksum).
///
/// # Errors
/// A [`DecodeError`] for a torn, truncated or foreign entry.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry<'_>, DecodeError> {
    if bytes.starts_with(legacy::MAGIC) {
        return legacy::decode(bytes);
    }
    let (kind, mut r) = envelope::open(bytes)?;
    let kind = match kind {
        Kind::Record => EntryKind::Record,
        Kind::Checkpoint => EntryKind::Checkpoint,
        other => return Err(DecodeError::WrongKind(other as u8)),
    };
    let key = u64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes"));
    Ok(Entry {
        kind,
        key,
        body: r.rest(),
    })
}

/// The first journal format: a header of its own (magic `WFTJ`, version,
/// kind, key, length) and checksum around an enveloped update or snapshot.
mod legacy {
    use super::*;

    pub const MAGIC: &[u8; 4] = b"WFTJ";
    const VERSION: u8 = 1;
    /// Magic, version, kind, key (u64), payload length (u32).
    const HEADER: usize = 4 + 1 + 1 + 8 + 4;

    pub fn decode(bytes: &[u8]) -> Result<Entry<'_>, DecodeError> {
        if bytes.len() < HEADER + 4 {
            return Err(DecodeError::UnexpectedEnd);
        }
        if bytes[4] != VERSION {
            return Err(DecodeError::UnsupportedVersion(bytes[4]));
        }
        let kind = match bytes[5] {
            1 => EntryKind::Record,
            2 => EntryKind::Checkpoint,
            k => return Err(DecodeError::WrongKind(k)),
        };
        let key = u64::from_le_bytes(bytes[6..14].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(bytes[14..18].try_into().expect("4 bytes")) as usize;
        if bytes.len() != HEADER + len + 4 {
            return Err(if bytes.len() < HEADER + len + 4 {
                DecodeError::UnexpectedEnd
            } else {
                DecodeError::TrailingBytes
            });
        }
        let (content, tail) = bytes.split_at(HEADER + len);
        let stored = u32::from_le_bytes(tail.try_into().expect("4 bytes"));
        let computed = crc32c(content);
        if stored != computed {
            return Err(DecodeError::ChecksumMismatch { stored, computed });
        }
        let (inner, r) = envelope::open(&content[HEADER..])?;
        let expected = match kind {
            EntryKind::Record => Kind::Update,
            EntryKind::Checkpoint => Kind::Snapshot,
        };
        if inner != expected {
            return Err(DecodeError::WrongKind(inner as u8));
        }
        Ok(Entry {
            kind,
            key,
            body: r.rest(),
        })
    }

    /// An entry in this format, for tests that read old journals.
    #[cfg(test)]
    pub fn encode(kind: EntryKind, key: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + payload.len() + 4);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(kind as u8);
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        let crc = crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

#[cfg(test)]
pub(crate) use legacy::encode as encode_legacy;
