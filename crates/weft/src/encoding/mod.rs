//! Byte-level building blocks of the binary formats (see `docs/format.md`):
//! LEB128 varints, a bounds-checked reader and CRC-32C.

mod crc;
pub(crate) mod envelope;
pub(crate) mod ops;
pub(crate) mod pages;
pub(crate) mod snapshot;

pub use crc::crc32c;

use crate::DecodeError;

/// Columns shorter than this are stored as they are: deflating a keystroke
/// costs more than it saves.
const PACK_FROM: usize = 256;

/// Deflate expands at most about 1032:1; a column claiming more is corrupt.
const MAX_RATIO: usize = 1100;

/// The bytes of a decoded column: borrowed from the input, or inflated.
pub enum Column<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Column<'_> {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Column::Borrowed(b) => b,
            Column::Owned(v) => v,
        }
    }
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(self.bytes())
    }
}

#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn uvar(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// Zigzag-encoded signed varint.
    pub fn svar(&mut self, v: i64) {
        self.uvar(((v << 1) ^ (v >> 63)) as u64);
    }
    pub fn u64_le(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// A column: a block that is deflated when that pays. The length varint
    /// carries the choice in its low bit, so small stored columns cost
    /// nothing extra.
    pub fn column(&mut self, b: &[u8]) {
        let packed = (b.len() >= PACK_FROM)
            .then(|| miniz_oxide::deflate::compress_to_vec(b, 9))
            .filter(|c| c.len() + 8 < b.len());
        match packed {
            Some(c) => {
                let mut head = Writer::default();
                head.uvar(b.len() as u64);
                self.uvar(((head.buf.len() + c.len()) as u64) << 1 | 1);
                self.bytes(&head.buf);
                self.bytes(&c);
            }
            None => {
                self.uvar((b.len() as u64) << 1);
                self.bytes(b);
            }
        }
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads from a byte slice; every method checks bounds and returns
/// `DecodeError` instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(DecodeError::UnexpectedEnd)?;
        self.buf = rest;
        Ok(b)
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    /// A LEB128 varint. Most take one or two bytes (lengths and deltas):
    /// those cases are inlined into the decoding loops, the rest is a call.
    #[inline]
    pub fn uvar(&mut self) -> Result<u64, DecodeError> {
        match *self.buf {
            [b, ref rest @ ..] if b < 0x80 => {
                self.buf = rest;
                Ok(u64::from(b))
            }
            [b0, b1, ref rest @ ..] if b1 < 0x80 => {
                self.buf = rest;
                Ok(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
            }
            _ => self.uvar_long(),
        }
    }
    fn uvar_long(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintOverflow)
    }
    #[inline]
    pub fn svar(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvar()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    #[inline]
    pub fn u32var(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uvar()?).map_err(|_| DecodeError::VarintOverflow)
    }
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    /// A count of items each taking at least `min_bytes` bytes: rejected when
    /// the rest of the input could not hold that many, which bounds every
    /// allocation by the input size.
    pub fn len_prefix(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.uvar()?;
        let max = (self.buf.len() / min_bytes.max(1)) as u64;
        if n > max {
            return Err(DecodeError::LengthTooLarge { declared: n, max });
        }
        Ok(n as usize)
    }
    /// Passes over a column written by `Writer::column` without reading it.
    pub fn skip_column(&mut self) -> Result<(), DecodeError> {
        let n = usize::try_from(self.uvar()? >> 1).map_err(|_| DecodeError::VarintOverflow)?;
        self.take(n).map(drop)
    }
    /// The next column as stored (tag included), not inflated.
    pub fn raw_column(&mut self) -> Result<&'a [u8], DecodeError> {
        let start = self.buf;
        self.skip_column()?;
        Ok(&start[..start.len() - self.buf.len()])
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }
    /// A column written by `Writer::column`, inflated if it was deflated.
    pub fn column(&mut self) -> Result<Column<'a>, DecodeError> {
        let tag = self.uvar()?;
        let n = usize::try_from(tag >> 1).map_err(|_| DecodeError::VarintOverflow)?;
        if n > self.buf.len() {
            return Err(DecodeError::LengthTooLarge {
                declared: n as u64,
                max: self.buf.len() as u64,
            });
        }
        let mut inner = Reader::new(self.take(n)?);
        if tag & 1 == 0 {
            return Ok(Column::Borrowed(inner.buf));
        }
        let len = inner.uvar()?;
        let packed = inner.take(inner.remaining())?;
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
        // The length is known: inflate into a buffer of exactly that size (a
        // stream that would overflow it fails) instead of growing one.
        let mut v = vec![0; len as usize];
        let n = miniz_oxide::inflate::decompress_slice_iter_to_slice(
            &mut v,
            std::iter::once(packed),
            false,
            false,
        )
        .map_err(|_| DecodeError::InvalidValue("compressed column"))?;
        if n != v.len() {
            return Err(DecodeError::InvalidValue("compressed column length"));
        }
        Ok(Column::Owned(v))
    }
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_overflow_is_rejected() {
        let mut w = Writer::default();
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            w.uvar(v);
        }
        w.svar(-5);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(r.uvar().unwrap(), v);
        }
        assert_eq!(r.svar().unwrap(), -5);
        assert!(r.finish().is_ok());
        let too_long = [0xffu8; 11];
        assert_eq!(
            Reader::new(&too_long).uvar(),
            Err(DecodeError::VarintOverflow)
        );
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&too_big).uvar(),
            Err(DecodeError::VarintOverflow)
        );
    }

    #[test]
    fn columns_deflate_when_it_pays_and_round_trip() {
        let big: Vec<u8> = b"the quick brown fox "
            .iter()
            .cycle()
            .take(5000)
            .copied()
            .collect();
        let small = b"tiny".to_vec();
        let mut x = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..400)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut w = Writer::default();
        for c in [&big, &small, &noise] {
            w.column(c);
        }
        let bytes = w.into_bytes();
        assert!(
            bytes.len() < 200 + small.len() + noise.len() + 8,
            "the repetitive column was deflated"
        );
        assert_eq!(
            bytes[bytes.len() - noise.len() - 2 - small.len() - 1] & 1,
            0,
            "small columns are stored"
        );
        let mut r = Reader::new(&bytes);
        for c in [&big, &small, &noise] {
            assert_eq!(r.column().unwrap().bytes(), &c[..]);
        }
        assert!(r.finish().is_ok());
    }
}
