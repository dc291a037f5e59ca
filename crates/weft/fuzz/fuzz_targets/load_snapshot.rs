//! Arbitrary bytes loaded as a snapshot: success keeps every invariant and
//! the document stays editable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::{Doc, IndexUnit};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut doc) = Doc::from_snapshot(data, 3) {
        doc.check_invariants();
        let mid = doc.len(IndexUnit::CodePoint) / 2;
        doc.insert(mid, "x", IndexUnit::CodePoint).unwrap();
        doc.check_invariants();
    }
});
