//! Bytes read as a script of edits by three replicas with syncs between them:
//! no edit panics, every error is typed, and replicas that synced converge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::{Doc, IndexUnit};

fuzz_target!(|data: &[u8]| {
    let units = [IndexUnit::CodePoint, IndexUnit::Utf16, IndexUnit::Utf8];
    let mut docs: Vec<Doc> = (0..3).map(|i| Doc::new(i + 1)).collect();
    for chunk in data.chunks(4) {
        let [op, a, b, c] = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
            *chunk.get(3).unwrap_or(&0),
        ];
        let d = (op % 3) as usize;
        let unit = units[(op / 3 % 3) as usize];
        match op / 9 % 4 {
            0 => {
                let text = ["a", "\u{e9}", "\u{1F600}", "\n", "xyz"][c as usize % 5];
                let _ = docs[d].insert(a as usize, text, unit);
            }
            1 => {
                let _ = docs[d].delete(a as usize, b as usize % 8, unit);
            }
            2 => {
                let e = (d + 1 + b as usize % 2) % 3;
                let u = { let v = docs[e].version(); docs[d].encode_update(&v) }.unwrap();
                docs[e].apply_update(&u, unit).unwrap();
            }
            _ => {
                let _ = docs[d].slice(a as usize, b as usize, unit);
                let _ = docs[d].line_column(a as usize, unit);
            }
        }
    }
    for i in 0..3 {
        for j in 0..3 {
            let u = { let v = docs[j].version(); docs[i].encode_update(&v) }.unwrap();
            docs[j].apply_update(&u, IndexUnit::Utf8).unwrap();
        }
    }
    for d in &docs {
        d.check_invariants();
        assert_eq!(d.to_string(), docs[0].to_string());
    }
});
