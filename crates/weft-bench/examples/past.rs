//! Times `Doc::text_at` and `Doc::diff` at versions spread over a trace's
//! history, after replay and after a reload from the snapshot.
//!
//! ```text
//! cargo run --release -p weft-bench --example past -- <trace.json.gz>
//! ```

use std::time::Instant;
use weft::{Doc, IndexUnit::Utf16, Version};
use weft_bench::impls::WeftDoc;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: past <trace.json.gz>");
    let trace = weft_traces::load(&path).expect("a trace");
    let mut doc = weft_traces::replay_sequential::<WeftDoc>(&trace).0;
    let mut loaded =
        Doc::from_snapshot(&doc.encode_snapshot().expect("snapshot"), 99).expect("load");
    let replica = doc.replica();
    let ops = doc.version().get(replica);
    for (name, doc) in [("replayed", &mut doc), ("reloaded", &mut loaded)] {
        for share in [0.1, 0.5, 0.9, 1.0] {
            let mut v = Version::new();
            v.set(replica, (f64::from(ops) * share) as u32);
            let t = Instant::now();
            let text = doc.text_at(&v).expect("text at");
            let at = t.elapsed();
            let t = Instant::now();
            let patches = doc.diff(&v, &doc.version(), Utf16).expect("diff");
            println!(
                "{name}: at {:>3}% of history: text_at {:.2} ms ({} chars), diff to now {:.2} ms ({} patches)",
                (share * 100.0) as u32,
                at.as_secs_f64() * 1e3,
                text.chars().count(),
                t.elapsed().as_secs_f64() * 1e3,
                patches.len()
            );
        }
    }
}
