//! Numbers packed into bytes the document keeps in memory (the op log's
//! old runs, the deleted text's old pieces): LEB128, pushed a byte at a
//! time into a store with room reserved. These bytes never come from
//! outside, so reading them trusts them.

/// Appends `n` to `out`, to a buffer whose capacity the caller reserved
/// (a push a byte: a record copied in cost more).
pub(crate) fn push_number(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends `n` zigzagged: small either side of zero stays small.
pub(crate) fn push_signed(out: &mut Vec<u8>, n: i64) {
    push_number(out, (n << 1 ^ n >> 63) as u64);
}

/// Reads what [`push_number`] wrote at `bytes[*at..]`, moving `at` past it.
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

/// Reads what [`push_signed`] wrote.
pub(crate) fn signed(bytes: &[u8], at: &mut usize) -> i64 {
    let z = number(bytes, at) as i64;
    z >> 1 ^ -(z & 1)
}
