use std::time::Instant;
use weft::{Doc, IndexUnit::Utf16};
fn main() {
    let mut a = Doc::new(1);
    let line = "The quick brown fox jumps over the lazy dog, 0123456789 ✓ 😀.\n";
    let t = Instant::now();
    while a.len(Utf16) < 1_000_000 {
        let n = a.len(Utf16) / 2;
        a.insert(n, line, Utf16).unwrap();
    }
    println!("local {:?}", t.elapsed());
    let u = a.encode_update(&Default::default());
    let s = a.encode_snapshot();
    let t = Instant::now();
    let mut b = Doc::new(2);
    b.apply_update(&u, Utf16).unwrap();
    println!("apply state {:?} {}", t.elapsed(), s.len());
    let t = Instant::now();
    let c = Doc::from_snapshot(&s, 3).unwrap();
    println!("load {:?} {}", t.elapsed(), c.len(Utf16));
}
