//! The envelope around updates, snapshots and journal entries: magic,
//! format version, kind, body, CRC-32C. Compression happens per column
//! inside the body.

use super::{crc32c, Reader};
use crate::DecodeError;

pub const MAGIC: &[u8; 4] = b"WEFT";
pub const FORMAT_VERSION: u8 = 1;
const HEADER: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Update = 1,
    Snapshot = 2,
    /// A journal record: its key, then an update's body.
    Record = 3,
    /// A journal checkpoint: its key, then a snapshot's body.
    Checkpoint = 4,
}

pub fn seal(kind: Kind, body: &[u8]) -> Vec<u8> {
    seal_parts(kind, &[], body)
}

/// Seals `prefix` then `body` as one body (a journal entry's key, then what
/// it stores), copying each once.
pub fn seal_parts(kind: Kind, prefix: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + body.len() + HEADER + 4);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(prefix);
    out.extend_from_slice(body);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The body of sealed `bytes` known to be well formed (made by this
/// crate), without checking anything again.
pub fn body_of(bytes: &[u8]) -> &[u8] {
    &bytes[HEADER..bytes.len() - 4]
}

/// Checks magic, version and checksum; returns the kind and the body.
/// Whether `bytes` say they are a snapshot, by their header alone
/// (nothing is checked: `open` does that).
pub fn is_snapshot(bytes: &[u8]) -> bool {
    bytes.len() > HEADER
        && bytes[..4] == *MAGIC
        && bytes[4] == FORMAT_VERSION
        && bytes[5] == Kind::Snapshot as u8
}

pub fn open(bytes: &[u8]) -> Result<(Kind, Reader<'_>), DecodeError> {
    if bytes.len() >= 4 && &bytes[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if bytes.len() < HEADER + 4 {
        return Err(DecodeError::UnexpectedEnd);
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(bytes[4]));
    }
    let (content, tail) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(tail.try_into().expect("4 bytes"));
    let computed = crc32c(content);
    if stored != computed {
        return Err(DecodeError::ChecksumMismatch { stored, computed });
    }
    let kind = match bytes[5] {
        1 => Kind::Update,
        2 => Kind::Snapshot,
        3 => Kind::Record,
        4 => Kind::Checkpoint,
        k => return Err(DecodeError::WrongKind(k)),
    };
    Ok((kind, Reader::new(&content[HEADER..])))
}
