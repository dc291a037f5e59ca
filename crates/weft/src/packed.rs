//! Numbers packed into bytes the document keeps in memory (the op log's
//! old runs, the deleted text's old pieces): LEB128, written to a stack
//! buffer first so a record costs one copy into its store, not a capacity
//! check per byte. These bytes never come from outside, so reading them
//! trusts them.

/// A record being written: at most `N` bytes.
pub(crate) struct Record<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Record<N> {
    pub fn new(first: u8) -> Self {
        let mut buf = [0; N];
        buf[0] = first;
        Record { buf, len: 1 }
    }

    pub fn number(&mut self, mut n: u64) {
        if n < 0x80 {
            // Most numbers: one byte.
            self.buf[self.len] = n as u8;
            self.len += 1;
            return;
        }
        while n >= 0x80 {
            self.buf[self.len] = n as u8 | 0x80;
            n >>= 7;
            self.len += 1;
        }
        self.buf[self.len] = n as u8;
        self.len += 1;
    }

    /// `n` zigzagged: small either side of zero stays small.
    pub fn signed(&mut self, n: i64) {
        self.number((n << 1 ^ n >> 63) as u64);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Appends `n` as [`Record::number`] writes it, to a buffer whose capacity
/// the caller reserved (a push a byte, no copy a record).
pub(crate) fn push_number(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads what [`Record::number`] wrote at `bytes[*at..]`, moving `at` past it.
pub(crate) fn number(bytes: &[u8], at: &mut usize) -> u64 {
    let mut n = 0;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Reads what [`Record::signed`] wrote.
pub(crate) fn signed(bytes: &[u8], at: &mut usize) -> i64 {
    let z = number(bytes, at) as i64;
    z >> 1 ^ -(z & 1)
}
