//! Arbitrary bytes as journal entries: raw, and sealed as records and
//! checkpoints with a correct checksum and key (so the fuzzer gets past the
//! door). Opening never fails: what does not read is reported, what loads
//! keeps every invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::journal;

/// `body` as an entry of `kind` (3 record, 4 checkpoint) under `key`.
fn seal(kind: u8, key: u64, body: &[u8]) -> Vec<u8> {
    let mut v = b"WEFT".to_vec();
    v.extend_from_slice(&[1, kind]);
    v.extend_from_slice(&key.to_le_bytes());
    v.extend_from_slice(body);
    let crc = weft::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fuzz_target!(|data: &[u8]| {
    // Entries split at 0xFE bytes; each one's first byte picks how it is stored.
    let mut checkpoints = Vec::new();
    let mut records = Vec::new();
    for (key, part) in data.split(|&b| b == 0xFE).enumerate() {
        let key = key as u64 + 1;
        let Some((&selector, body)) = part.split_first() else { continue };
        let checkpoint = selector & 1 == 1;
        let bytes = if selector & 2 == 2 {
            part.to_vec()
        } else {
            seal(if checkpoint { 4 } else { 3 }, key, body)
        };
        if checkpoint { checkpoints.push((key, bytes)) } else { records.push((key, bytes)) }
    }
    let mut opened = journal::open(
        7,
        checkpoints.iter().map(|(k, b)| (*k, &b[..])),
        records.iter().map(|(k, b)| (*k, &b[..])),
    );
    if opened.doc.finish_loading().is_ok() {
        opened.doc.check_invariants();
    }
});
