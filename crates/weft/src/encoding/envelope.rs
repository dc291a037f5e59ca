//! The envelope around updates and snapshots: magic, format version, kind,
//! compression, body, CRC-32C.

use super::{crc32c, Reader, Writer};
use crate::DecodeError;

pub const MAGIC: &[u8; 4] = b"WEFT";
pub const FORMAT_VERSION: u8 = 1;
const HEADER: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Update = 1,
    Snapshot = 2,
}

const STORED: u8 = 0;
const DEFLATE: u8 = 1;

/// Bodies smaller than this are stored as they are: compressing a keystroke
/// costs more than it saves.
const COMPRESS_FROM: usize = 1024;

/// Deflate expands at most about 1032:1; anything claiming more is corrupt.
const MAX_RATIO: usize = 1100;

pub fn seal(kind: Kind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 2 + 16);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind as u8);
    let packed = (body.len() >= COMPRESS_FROM)
        .then(|| miniz_oxide::deflate::compress_to_vec(body, 6))
        .filter(|c| c.len() + 5 < body.len());
    match packed {
        Some(c) => {
            out.push(DEFLATE);
            let mut w = Writer::default();
            w.uvar(body.len() as u64);
            out.extend_from_slice(&w.into_bytes());
            out.extend_from_slice(&c);
        }
        None => {
            out.push(STORED);
            out.extend_from_slice(body);
        }
    }
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A checked, uncompressed body.
pub enum Body<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Body<'_> {
    pub fn reader(&self) -> Reader<'_> {
        match self {
            Body::Borrowed(b) => Reader::new(b),
            Body::Owned(v) => Reader::new(v),
        }
    }
}

/// Checks magic, version and checksum, and inflates the body if compressed.
pub fn open(bytes: &[u8]) -> Result<(Kind, Body<'_>), DecodeError> {
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
        k => return Err(DecodeError::WrongKind(k)),
    };
    let body = &content[HEADER..];
    let body = match bytes[6] {
        STORED => Body::Borrowed(body),
        DEFLATE => {
            let mut r = Reader::new(body);
            let len = r.uvar()?;
            let packed = r.take(r.remaining())?;
            let max = packed
                .len()
                .saturating_mul(MAX_RATIO)
                .min(crate::content::MAX_SPAN_LEN as usize);
            if len > max as u64 {
                return Err(DecodeError::LengthTooLarge {
                    declared: len,
                    max: max as u64,
                });
            }
            let v = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, len as usize)
                .map_err(|_| DecodeError::InvalidValue("compressed body"))?;
            if v.len() as u64 != len {
                return Err(DecodeError::InvalidValue("compressed body length"));
            }
            Body::Owned(v)
        }
        _ => return Err(DecodeError::InvalidValue("compression method")),
    };
    Ok((kind, body))
}
