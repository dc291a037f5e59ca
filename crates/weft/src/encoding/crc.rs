//! CRC-32C (Castagnoli), the checksum of every encoded update, snapshot and
//! journal record. Slicing-by-8: about eight times the speed of the
//! byte-at-a-time loop, without `unsafe` or CPU-specific instructions (the
//! same code runs in wasm). The 8 KiB of tables are built on first use, not
//! at compile time: as data they would add about 7 KB to the gzipped wasm.
//!
//! Long inputs (a large snapshot is checked whole before it loads) run as
//! three lanes over thirds of the input in one loop: each step waits on the
//! table loads of the one before, so independent lanes fill those waits.
//! The lanes' checksums are then joined by polynomial arithmetic (`join`).

use std::sync::OnceLock;

const POLY: u32 = 0x82F6_3B78; // reversed Castagnoli polynomial

type Tables = [[u32; 256]; 8];

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build_tables)
}

fn build_tables() -> Tables {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

/// Inputs at least this long run as three lanes (shorter ones gain less
/// than the join costs).
const LANES_FROM: usize = 16 * 1024;

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let t = tables();
    if bytes.len() >= LANES_FROM {
        !three_lanes(t, !0, bytes)
    } else {
        !update(t, !0, bytes)
    }
}

/// The register after `bytes`, from register `c` (no inversions).
fn update(t: &Tables, mut c: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        c = step8(t, c, chunk);
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    c
}

/// The register after eight bytes.
#[inline(always)]
fn step8(t: &Tables, c: u32, chunk: &[u8]) -> u32 {
    let lo = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ c;
    let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
    t[7][(lo & 0xff) as usize]
        ^ t[6][((lo >> 8) & 0xff) as usize]
        ^ t[5][((lo >> 16) & 0xff) as usize]
        ^ t[4][(lo >> 24) as usize]
        ^ t[3][(hi & 0xff) as usize]
        ^ t[2][((hi >> 8) & 0xff) as usize]
        ^ t[1][((hi >> 16) & 0xff) as usize]
        ^ t[0][(hi >> 24) as usize]
}

/// `update` over three equal lanes at once, then the rest. The first lane
/// starts from `c`, the others from 0: the register is linear in its start
/// and in the bytes, so the others' starts are put back by `join`.
fn three_lanes(t: &Tables, c: u32, bytes: &[u8]) -> u32 {
    let lane = bytes.len() / 3 / 8 * 8;
    let (a, rest) = bytes.split_at(lane);
    let (b, rest) = rest.split_at(lane);
    let (z, tail) = rest.split_at(lane);
    let (mut ca, mut cb, mut cz) = (c, 0, 0);
    let lanes = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .zip(z.chunks_exact(8));
    for ((x, y), w) in lanes {
        ca = step8(t, ca, x);
        cb = step8(t, cb, y);
        cz = step8(t, cz, w);
    }
    let shift = x_to_8n(lane as u64);
    let joined = times(times(ca, shift) ^ cb, shift) ^ cz;
    update(t, joined, tail)
}

// Registers are polynomials over GF(2) modulo the CRC's, reflected: bit 31
// is the coefficient of x^0, bit 0 that of x^31. Running the register over
// n zero bytes multiplies it by x^(8n); so the register after `A` then `B`
// is the register after `A` times x^(8 |B|), plus the register after `B`
// from 0.

/// `p` times x.
fn times_x(p: u32) -> u32 {
    if p & 1 != 0 {
        (p >> 1) ^ POLY
    } else {
        p >> 1
    }
}

/// `a` times `b`.
fn times(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    for power in 0..32 {
        if a & (1 << (31 - power)) != 0 {
            product ^= b;
        }
        b = times_x(b);
    }
    product
}

/// x^(8n), by squaring.
fn x_to_8n(mut n: u64) -> u32 {
    let (mut result, mut square) = (1 << 31, 1 << (31 - 8));
    while n > 0 {
        if n & 1 != 0 {
            result = times(result, square);
        }
        square = times(square, square);
        n >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::crc32c;

    /// The byte-at-a-time definition, to check the fast path against.
    fn slow(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ super::POLY
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn fast_path_matches_the_definition_at_every_length() {
        let data: Vec<u8> = (0..100u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for n in 0..data.len() {
            assert_eq!(crc32c(&data[..n]), slow(&data[..n]), "length {n}");
        }
    }

    #[test]
    fn three_lanes_match_the_definition() {
        let data: Vec<u8> = (0..40_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        // Lanes of 0 and several bytes, with and without a tail; and the
        // length where `crc32c` takes them.
        for n in [0, 7, 23, 24, 25, 100, 1001, super::LANES_FROM, data.len()] {
            let lanes = !super::three_lanes(super::tables(), !0, &data[..n]);
            assert_eq!(lanes, slow(&data[..n]), "length {n}");
            assert_eq!(crc32c(&data[..n]), slow(&data[..n]), "length {n}");
        }
    }
}
