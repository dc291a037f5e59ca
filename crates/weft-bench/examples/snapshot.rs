//! Writes the snapshot of a sequential trace's final document to a file, to
//! study its size (for example with compressors).
//!
//! ```text
//! cargo run --release -p weft-bench --example snapshot -- <trace.json.gz> <out>
//! ```

use weft_bench::impls::WeftDoc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: snapshot <trace.json.gz> <out>");
    let out = args.next().expect("usage: snapshot <trace.json.gz> <out>");
    let trace = weft_traces::load(&path).expect("a trace");
    let mut doc = weft_traces::replay_sequential::<WeftDoc>(&trace).0;
    let snap = doc.encode_snapshot().expect("a document built by replay");
    std::fs::write(&out, &snap).expect("writable");
    println!(
        "{} bytes, text {} bytes",
        snap.len(),
        doc.len(weft::IndexUnit::Utf8)
    );
}
