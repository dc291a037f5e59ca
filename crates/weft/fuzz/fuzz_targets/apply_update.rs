//! Arbitrary bytes merged into an empty and a non-empty document: an error
//! changes nothing, success keeps every invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::{Doc, IndexUnit};

fuzz_target!(|data: &[u8]| {
    let mut seeded = Doc::new(1);
    seeded
        .insert(0, "seed text \u{1F600}\n", IndexUnit::Utf16)
        .unwrap();
    for mut doc in [Doc::new(2), seeded] {
        let before = doc.encode_snapshot();
        match doc.apply_update(data, IndexUnit::Utf16) {
            Ok(_) => doc.check_invariants(),
            Err(_) => assert!(doc.encode_snapshot() == before),
        }
    }
    let _ = weft::Version::decode(data);
    let _ = weft::StickyIndex::decode(data);
});
