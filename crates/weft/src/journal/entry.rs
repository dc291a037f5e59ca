//! Journal entries: a record (one update) or a checkpoint (one snapshot),
//! each with its own header and checksum so a torn write is detected.

use crate::encoding::crc32c;
use crate::DecodeError;

const MAGIC: &[u8; 4] = b"WFTJ";
const VERSION: u8 = 1;
/// Magic, version, kind, key (u64), payload length (u32).
const HEADER: usize = 4 + 1 + 1 + 8 + 4;

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An update (see [`crate::Doc::encode_update`]).
    Record = 1,
    /// A snapshot (see [`crate::Doc::encode_snapshot`]).
    Checkpoint = 2,
}

/// A decoded entry, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Record or checkpoint.
    pub kind: EntryKind,
    /// The record's key, or the key of the last record a checkpoint covers.
    pub key: u64,
    /// The update or snapshot.
    pub payload: &'a [u8],
}

fn encode(kind: EntryKind, key: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len() + 4);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&key.to_le_bytes());
    // Payloads are documents of at most 2^31 bytes.
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The bytes to store for the record of `update` under `key`.
pub fn encode_record(key: u64, update: &[u8]) -> Vec<u8> {
    encode(EntryKind::Record, key, update)
}

/// The bytes to store for a checkpoint covering records up to `key`.
pub fn encode_checkpoint(key: u64, snapshot: &[u8]) -> Vec<u8> {
    encode(EntryKind::Checkpoint, key, snapshot)
}

/// Decodes an entry, checking its length and checksum.
///
/// # Errors
/// A [`DecodeError`] for a torn, truncated or foreign entry.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry<'_>, DecodeError> {
    if bytes.len() >= 4 && &bytes[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
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
    Ok(Entry {
        kind,
        key,
        payload: &content[HEADER..],
    })
}
