//! Arbitrary bytes merged into an empty and a non-empty document, both raw
//! and sealed in a valid envelope (so the checksum does not stop the fuzzer
//! at the door): an error changes nothing, success keeps every invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::{Doc, IndexUnit};

/// Wraps `body` in an envelope of the given kind with a correct checksum.
fn seal(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = b"WEFT".to_vec();
    v.extend_from_slice(&[1, kind]);
    v.extend_from_slice(body);
    let crc = weft::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let sealed = seal(1 + (selector & 1), body);
    let mut seeded = Doc::new(1);
    seeded.insert(0, "seed text \u{1F600}\n", IndexUnit::Utf16).unwrap();
    for input in [data, &sealed[..]] {
        for mut doc in [Doc::new(2), seeded.clone()] {
            let before = doc.encode_snapshot().unwrap();
            match doc.apply_update(input, IndexUnit::Utf16) {
                Ok(_) => doc.check_invariants(),
                Err(_) => assert!(doc.encode_snapshot().unwrap() == before),
            }
        }
        // Loading defers the history; local edits work either way, and the
        // history then decodes or is rejected without a panic.
        if let Ok(mut doc) = Doc::from_snapshot(input, 3) {
            let mid = doc.len(IndexUnit::CodePoint) / 2;
            doc.insert(mid, "x", IndexUnit::CodePoint).unwrap();
            if doc.finish_loading().is_ok() {
                doc.check_invariants();
            }
        }
    }
    let _ = weft::Version::decode(data);
    let _ = weft::StickyIndex::decode(data);
});
