//! Byte-level building blocks of the binary formats (see `docs/format.md`):
//! LEB128 varints, a bounds-checked reader and CRC-32C.

mod crc;
pub(crate) mod envelope;
pub(crate) mod ops;
pub(crate) mod page_text;
pub(crate) mod pages;
mod refs;
pub(crate) mod snapshot;
pub(crate) mod tombstones;

pub use crc::crc32c;

use crate::DecodeError;

/// Columns shorter than this are stored as they are: deflating a keystroke
/// costs more than it saves.
const PACK_FROM: usize = 256;

/// Most a deflated column may inflate: its length at most this many times
/// the bytes it takes as stored (its length varint and stream). Checked
/// before anything is allocated, so a column cannot make a decoder hold
/// more than this multiple of its input. Honest columns deflate about 1.2:1
/// (runs) to 4:1 (text); the writer pads a stream that would deflate better
/// (see `Writer::column_at_least`), so everything it writes is accepted.
pub const INFLATE_RATIO: usize = 8;

/// An empty stored deflate block that is not the last: three header bits
/// (not final, type 0) padded to a byte, length 0 and its complement.
/// Prefixed to a stream to pad it; inflating it produces nothing.
const EMPTY_STORED_BLOCK: [u8; 5] = [0, 0, 0, 0xff, 0xff];

/// The ring `Reader::column_in_pieces` inflates through: a power of two
/// (the inflater's rule), at least the deflate window.
const RING: usize = 2 * WINDOW;

/// A column as stored: its bytes, or a deflate stream and what it inflates
/// to.
enum Packed<'a> {
    Stored(&'a [u8]),
    Deflated { len: usize, stream: &'a [u8] },
}

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
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Column::Borrowed(b) => b.to_vec(),
            Column::Owned(v) => v,
        }
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
        self.column_at_least(b, 0);
    }

    /// `column`, taking no fewer than `min` bytes after the tag, and when
    /// deflated no fewer than `INFLATE_RATIO` allows: a stream that would
    /// be shorter is preceded by empty stored blocks. Stored as is when
    /// that is shorter and takes `min` bytes.
    pub fn column_at_least(&mut self, b: &[u8], min: usize) {
        self.bytes(&Writer::column_bytes(b, min));
    }

    /// The column `column_at_least` writes, tag included.
    pub fn column_bytes(b: &[u8], min: usize) -> Vec<u8> {
        Writer::column_primed(b, min, &[])
    }

    /// `column_bytes`, deflated (when it is) as if `dict` came first: its
    /// matches may reach back into `dict` (its last `WINDOW` bytes count).
    pub fn column_primed(b: &[u8], min: usize, dict: &[u8]) -> Vec<u8> {
        let mut out = Writer::default();
        if b.len() >= PACK_FROM || b.len() < min {
            let c = deflate(b, dict);
            let mut head = Writer::default();
            head.uvar(b.len() as u64);
            let need = min.max(b.len().div_ceil(INFLATE_RATIO));
            let short = need.saturating_sub(head.buf.len() + c.len());
            let pads = short.div_ceil(EMPTY_STORED_BLOCK.len());
            let stored = head.buf.len() + pads * EMPTY_STORED_BLOCK.len() + c.len();
            if stored + 8 < b.len() || b.len() < min {
                out.uvar((stored as u64) << 1 | 1);
                out.bytes(&head.buf);
                for _ in 0..pads {
                    out.bytes(&EMPTY_STORED_BLOCK);
                }
                out.bytes(&c);
                return out.buf;
            }
        }
        out.uvar((b.len() as u64) << 1);
        out.bytes(b);
        out.buf
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// The deflate window: how far back a match reaches.
pub const WINDOW: usize = 32 * 1024;

/// A raw deflate stream of `b` whose matches may reach back into `dict`:
/// `dict` goes through the compressor first, its output dropped at a sync
/// flush (which ends on a byte boundary), so the stream starts there.
fn deflate(b: &[u8], dict: &[u8]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
    };
    if dict.is_empty() {
        return miniz_oxide::deflate::compress_to_vec(b, 9);
    }
    let mut c = CompressorOxide::new(create_comp_flags_from_zip_params(9, 0, 0));
    // The dictionary's own matches are dropped: searching them costs what
    // it takes to deflate it again for every page that uses it. Every
    // level but the fastest records every position for later matches.
    c.set_compression_level_raw(2);
    compress_to_output(&mut c, dict, TDEFLFlush::Sync, |_| true);
    c.set_compression_level_raw(9);
    let mut out = Vec::new();
    compress_to_output(&mut c, b, TDEFLFlush::Finish, |o| {
        out.extend_from_slice(o);
        true
    });
    out
}

/// Columns (tags included) taking at least `min` bytes between them: when
/// they would take fewer, the largest is padded (see `column_at_least`).
pub fn columns_of_at_least(raw: &[&[u8]], min: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = raw.iter().map(|b| Writer::column_bytes(b, 0)).collect();
    let total: usize = out.iter().map(Vec::len).sum();
    if let (Some(short @ 1..), Some(i)) = (
        min.checked_sub(total),
        (0..raw.len()).max_by_key(|&i| raw[i].len()),
    ) {
        // A tag never shrinks as its content grows: asking the content for
        // `short` more bytes than the whole column took is enough.
        out[i] = Writer::column_bytes(raw[i], out[i].len() + short);
    }
    debug_assert!(out.iter().map(Vec::len).sum::<usize>() >= min);
    out
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
        self.column_primed(&[])
    }

    /// A column written by `Writer::column_primed` with `dict`.
    pub fn column_primed(&mut self, dict: &[u8]) -> Result<Column<'a>, DecodeError> {
        let (len, packed) = match self.column_parts()? {
            Packed::Stored(b) => return Ok(Column::Borrowed(b)),
            Packed::Deflated { len, stream } => (len, stream),
        };
        // The length is known: inflate into a buffer of exactly that size
        // after the dictionary (a stream that would overflow it fails)
        // instead of growing one.
        use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
        use miniz_oxide::inflate::TINFLStatus;
        let mut v = Vec::with_capacity(dict.len() + len);
        v.extend_from_slice(dict);
        v.resize(dict.len() + len, 0);
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let mut d = DecompressorOxide::new();
        match decompress(&mut d, packed, &mut v, dict.len(), flags) {
            (TINFLStatus::Done, _, n) if n == len => {}
            (TINFLStatus::Done, _, _) => {
                return Err(DecodeError::InvalidValue("compressed column length"))
            }
            _ => return Err(DecodeError::InvalidValue("compressed column")),
        }
        v.drain(..dict.len());
        Ok(Column::Owned(v))
    }

    /// A column written by `Writer::column`, handed to `sink` piece by
    /// piece as it inflates through a ring of `RING` bytes, so a large
    /// column (a big snapshot's text) is never held whole: its bytes are
    /// written to memory once, where the sink puts them. Errors as
    /// `column`'s, or the sink's.
    pub fn column_in_pieces(
        &mut self,
        mut sink: impl FnMut(&[u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let (len, mut stream) = match self.column_parts()? {
            Packed::Stored(b) => return sink(b),
            Packed::Deflated { len, stream } => (len, stream),
        };
        use miniz_oxide::inflate::core::DecompressorOxide;
        use miniz_oxide::inflate::{core::decompress, TINFLStatus};
        // Without the non-wrapping flag the output buffer is a ring: matches
        // reach back across its end.
        let mut ring = vec![0u8; RING];
        let (mut at, mut total) = (0, 0);
        let mut d = DecompressorOxide::new();
        loop {
            let (status, read, wrote) = decompress(&mut d, stream, &mut ring, at, 0);
            stream = &stream[read..];
            total += wrote;
            if total > len {
                return Err(DecodeError::InvalidValue("compressed column length"));
            }
            sink(&ring[at..at + wrote])?;
            at = (at + wrote) & (RING - 1);
            match status {
                TINFLStatus::Done if total == len => return Ok(()),
                TINFLStatus::Done => {
                    return Err(DecodeError::InvalidValue("compressed column length"))
                }
                TINFLStatus::HasMoreOutput => {}
                _ => return Err(DecodeError::InvalidValue("compressed column")),
            }
        }
    }

    /// A column's bytes as stored, or its declared length and deflate
    /// stream, the length checked against the stored bytes before anything
    /// is allocated for it.
    fn column_parts(&mut self) -> Result<Packed<'a>, DecodeError> {
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
            return Ok(Packed::Stored(inner.buf));
        }
        let len = inner.uvar()?;
        // At most `INFLATE_RATIO` times the bytes stored, whatever the
        // stream would produce.
        let max = n
            .saturating_mul(INFLATE_RATIO)
            .min(crate::content::MAX_SPAN_LEN as usize);
        if len > max as u64 {
            return Err(DecodeError::LengthTooLarge {
                declared: len,
                max: max as u64,
            });
        }
        Ok(Packed::Deflated {
            len: len as usize,
            stream: inner.buf,
        })
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
            bytes.len() < big.len() / INFLATE_RATIO + 10 + small.len() + noise.len() + 8,
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

    /// Every column the writer deflates is within the reader's ratio,
    /// however well it compresses, and a column claiming more is refused
    /// before anything is allocated.
    #[test]
    fn deflated_columns_never_exceed_the_inflate_ratio() {
        for len in [256, 300, 4096, 100_000, 1 << 20] {
            for byte in [0u8, b'a'] {
                let b = vec![byte; len];
                for min in [0, len / 10, len / 2] {
                    let c = Writer::column_bytes(&b, min);
                    let mut r = Reader::new(&c);
                    let tag = r.uvar().unwrap() as usize;
                    assert!(
                        tag & 1 == 0 || len <= (tag >> 1) * INFLATE_RATIO,
                        "{len} bytes in {}",
                        tag >> 1
                    );
                    assert!(tag & 1 == 0 || (tag >> 1) >= min, "padded to {min}");
                    assert!(c.len() <= len / INFLATE_RATIO.min(len / min.max(1)) + 16);
                    assert_eq!(Reader::new(&c).column().unwrap().bytes(), &b[..]);
                }
            }
        }
        // Deflated, claiming a byte more than its 4 stored bytes allow.
        let declared = (4 * INFLATE_RATIO + 1) as u8;
        let bomb = [9, declared, 0x03, 0x00, 0x00];
        assert_eq!(
            Reader::new(&bomb).column().err(),
            Some(DecodeError::LengthTooLarge {
                declared: u64::from(declared),
                max: 4 * INFLATE_RATIO as u64
            })
        );
    }

    /// A column through `column_in_pieces`, joined again.
    fn in_pieces(c: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let mut r = Reader::new(c);
        r.column_in_pieces(|p| {
            out.extend_from_slice(p);
            Ok(())
        })?;
        r.finish().map(|()| out)
    }

    #[test]
    fn columns_in_pieces_are_the_columns() {
        // Matches reaching back across the ring's end, many times over.
        let mut x = 0x2545_f491_u32;
        let words = ["tree ", "leaf ", "span ", "page ", "x", "\n"];
        let text: Vec<u8> = (0..20 * RING / 4)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                words[x as usize % words.len()].bytes()
            })
            .collect();
        for b in [&text[..], &text[..300], b"tiny", b""] {
            let c = Writer::column_bytes(b, 0);
            assert_eq!(in_pieces(&c).unwrap(), b, "{} bytes", b.len());
        }
        // Declared a byte longer or shorter than the stream inflates to.
        let c = Writer::column_bytes(&text[..1000], 0);
        let mut r = Reader::new(&c);
        let tag = r.uvar().unwrap();
        assert_eq!(tag & 1, 1, "deflated");
        let stream = &r.rest()[2..];
        let deflated = |len: u64, stream: &[u8]| {
            let mut inner = Writer::default();
            inner.uvar(len);
            inner.bytes(stream);
            let inner = inner.into_bytes();
            let mut w = Writer::default();
            w.uvar((inner.len() as u64) << 1 | 1);
            w.bytes(&inner);
            w.into_bytes()
        };
        assert_eq!(in_pieces(&deflated(1000, stream)).unwrap(), &text[..1000]);
        for len in [999, 1001] {
            let err = DecodeError::InvalidValue("compressed column length");
            assert_eq!(in_pieces(&deflated(len, stream)), Err(err), "{len}");
        }
        // Cut short, and corrupt.
        let cut = deflated(1000, &stream[..stream.len() - 8]);
        assert_eq!(
            in_pieces(&cut),
            Err(DecodeError::InvalidValue("compressed column"))
        );
        let mut corrupt = stream.to_vec();
        corrupt[4] ^= 0xff;
        let corrupt = deflated(1000, &corrupt);
        assert!(in_pieces(&corrupt).is_err());
    }
}
