//! The pieces of deleted text, in the order recorded: the newest decoded
//! (the last one grows as someone keeps deleting), older ones encoded in
//! chunks of [`CHUNK`], a few bytes a piece where a decoded one takes 16.
//! They are read in order (snapshots, the sorted index lookups go through),
//! never one by one, so a chunk is decoded whole.
//!
//! A piece is a header byte, then what the header does not imply, in this
//! order: agent, distance, length, bytes.
//! - bit 0: by the previous piece's agent (else the agent follows);
//! - bit 1: its items follow the previous piece's (else the distance of
//!   its first from the previous piece's end follows, zigzagged);
//! - bit 2: its text takes a byte a character (else its bytes follow);
//! - bits 3 to 7: its length in items, if 1 to 31 (else 0, and the length
//!   follows the distance).
//!
//! A chunk's first piece is written against agent 0 at item 0, and its
//! text's start in the buffer is kept beside the chunk.

use crate::packed;

/// Pieces per chunk: few in unit tests, so that their small documents
/// freeze pieces too.
const CHUNK: usize = if cfg!(test) { 4 } else { 64 };
/// Decoded pieces at most: past this, the oldest chunk of them is encoded.
const TAIL_MAX: usize = 3 * CHUNK;

const SAME_AGENT: u8 = 1;
const CONTINUES: u8 = 2;
const ONE_BYTE_EACH: u8 = 4;
/// The header's top five bits: the piece's length when 1 to 31 (most are),
/// else 0 and the length follows.
const SHORT_SHIFT: u32 = 3;
const SHORT_MAX: u32 = 31;
/// The header and four numbers of at most 10 bytes.
const MAX_PIECE_BYTES: usize = 41;

/// Deleted items `seq..seq + len` of `agent`, whose text starts at byte
/// `start` of the buffer and ends where the next piece's starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Piece {
    pub agent: u32,
    pub seq: u32,
    pub len: u32,
    pub start: u32,
}

impl Piece {
    /// What a chunk's first piece is written against.
    const START: Piece = Piece {
        agent: 0,
        seq: 0,
        len: 0,
        start: 0,
    };

    pub fn end_seq(&self) -> u32 {
        self.seq + self.len
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Pieces {
    /// Pieces `0..chunks.len() * CHUNK`, encoded, each chunk in a block of
    /// its own size (one growing buffer would keep up to a quarter more).
    chunks: Vec<Box<[u8]>>,
    /// Per chunk, where its first piece's text starts in the buffer.
    text_starts: Vec<u32>,
    /// The pieces after those, decoded.
    tail: Vec<Piece>,
}

impl Pieces {
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK + self.tail.len()
    }

    pub fn last_mut(&mut self) -> Option<&mut Piece> {
        self.tail.last_mut()
    }

    pub fn push(&mut self, piece: Piece) {
        if self.tail.len() == TAIL_MAX || self.tail.capacity() == 0 {
            self.make_room();
        }
        self.tail.push(piece);
    }

    /// Encodes the oldest chunk of decoded pieces, or gives the first its
    /// room. Out of line: once every 64 pieces.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) {
        if self.tail.capacity() == 0 {
            self.tail.reserve_exact(TAIL_MAX);
        }
        if self.tail.len() == TAIL_MAX {
            self.freeze();
        }
    }

    /// Encodes the oldest chunk of decoded pieces (the one after them gives
    /// the last one's end).
    fn freeze(&mut self) {
        let mut out = Vec::with_capacity(CHUNK * MAX_PIECE_BYTES);
        let mut prev = Piece::START;
        for w in self.tail[..=CHUNK].windows(2) {
            let (p, bytes) = (w[0], w[1].start - w[0].start);
            let mut header = 0;
            if p.agent == prev.agent {
                header |= SAME_AGENT;
            }
            if p.agent == prev.agent && p.seq == prev.end_seq() {
                header |= CONTINUES;
            }
            if bytes == p.len {
                header |= ONE_BYTE_EACH;
            }
            if p.len <= SHORT_MAX {
                header |= (p.len as u8) << SHORT_SHIFT;
            }
            // Pushed a byte at a time: within the capacity reserved.
            out.push(header);
            if header & SAME_AGENT == 0 {
                packed::push_number(&mut out, u64::from(p.agent));
            }
            if header & CONTINUES == 0 {
                let d = i64::from(p.seq) - i64::from(prev.end_seq());
                packed::push_number(&mut out, (d << 1 ^ d >> 63) as u64);
            }
            if p.len > SHORT_MAX {
                packed::push_number(&mut out, u64::from(p.len));
            }
            if header & ONE_BYTE_EACH == 0 {
                packed::push_number(&mut out, u64::from(bytes));
            }
            prev = p;
        }
        crate::grow::vec(&mut self.chunks, 1);
        self.chunks.push(out.into_boxed_slice());
        crate::grow::vec(&mut self.text_starts, 1);
        self.text_starts.push(self.tail[0].start);
        self.tail.drain(..CHUNK);
    }

    /// Every piece in order, with where its text ends (`text_end` for the
    /// last).
    pub fn iter(&self, text_end: u32) -> impl Iterator<Item = (Piece, u32)> + '_ {
        let frozen = (0..self.chunks.len()).flat_map(move |k| {
            let mut chunk = Vec::with_capacity(CHUNK);
            self.decode_chunk(k, &mut chunk);
            chunk
        });
        let tail = self.tail.iter().copied();
        let mut all = frozen.chain(tail).peekable();
        std::iter::from_fn(move || {
            let p = all.next()?;
            let end = all.peek().map_or(text_end, |n| n.start);
            Some((p, end))
        })
    }

    /// Chunk `k`'s pieces, into `out` (cleared first).
    fn decode_chunk(&self, k: usize, out: &mut Vec<Piece>) {
        out.clear();
        let (bytes, mut at, mut start) = (&self.chunks[k], 0, self.text_starts[k]);
        let mut prev = Piece::START;
        for _ in 0..CHUNK {
            let header = bytes[at];
            at += 1;
            let agent = match header & SAME_AGENT {
                0 => packed::number(bytes, &mut at) as u32,
                _ => prev.agent,
            };
            let seq = match header & CONTINUES {
                0 => (i64::from(prev.end_seq()) + packed::signed(bytes, &mut at)) as u32,
                _ => prev.end_seq(),
            };
            let len = match u32::from(header >> SHORT_SHIFT) {
                0 => packed::number(bytes, &mut at) as u32,
                short => short,
            };
            let size = match header & ONE_BYTE_EACH {
                0 => packed::number(bytes, &mut at) as u32,
                _ => len,
            };
            prev = Piece {
                agent,
                seq,
                len,
                start,
            };
            out.push(prev);
            start += size;
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.text_starts.capacity() * 4
            + self.tail.capacity() * std::mem::size_of::<Piece>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    /// Pieces of every shape come back in order, with their text's ends.
    #[test]
    fn frozen_pieces_read_as_written() {
        let mut rng = Rng::new(5);
        let mut pieces = Pieces::default();
        let mut all = Vec::new();
        let mut start = 0u32;
        for _ in 0..CHUNK * 7 + 3 {
            let last = all.last().copied().unwrap_or(Piece::START);
            let agent = (rng.next() % 3) as u32;
            let seq = match rng.next() % 3 {
                0 if agent == last.agent => last.end_seq(),
                1 => u32::MAX - 100,
                _ => (rng.next() % 100_000) as u32,
            };
            let len = 1 + (rng.next() % 70) as u32;
            let piece = Piece {
                agent,
                seq,
                len,
                start,
            };
            start += len * (1 + (rng.next() % 4) as u32 % 3);
            all.push(piece);
            pieces.push(piece);
        }
        assert_eq!(pieces.len(), all.len());
        assert!(pieces.chunks.len() >= 5);
        let read: Vec<(Piece, u32)> = pieces.iter(start).collect();
        let ends = all.iter().skip(1).map(|p| p.start).chain([start]);
        let expected: Vec<(Piece, u32)> = all.iter().copied().zip(ends).collect();
        assert_eq!(read, expected);
    }
}
