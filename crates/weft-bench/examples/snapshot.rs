//! Writes the snapshot of a sequential trace's final document to a file, to
//! study its size (for example with compressors) or to profile loading it
//! (the `load` example); with `times`, of the trace replayed that many
//! times, each pass appending after the last (the large-document benchmark's
//! document).
//!
//! ```text
//! cargo run --release -p weft-bench --example snapshot -- <trace.json.gz> <out> [times]
//! ```

use weft::IndexUnit::CodePoint;
use weft_bench::repeated::Pass;

fn main() {
    const USAGE: &str = "usage: snapshot <trace.json.gz> <out> [times]";
    let mut args = std::env::args().skip(1);
    let path = args.next().expect(USAGE);
    let out = args.next().expect(USAGE);
    let times: usize = args.next().map_or(1, |t| t.parse().expect(USAGE));
    let trace = weft_traces::load(&path).expect("a trace");
    let mut doc = weft::Doc::new(0x5eed_0000);
    for e in Pass::of(&trace).repeat(times) {
        if e.del > 0 {
            doc.delete(e.pos, e.del, CodePoint).expect("edit in range");
        }
        if !e.ins.is_empty() {
            doc.insert(e.pos, e.ins, CodePoint).expect("edit in range");
        }
    }
    let snap = doc.encode_snapshot().expect("a document built by replay");
    std::fs::write(&out, &snap).expect("writable");
    println!(
        "{} bytes, text {} bytes",
        snap.len(),
        doc.len(weft::IndexUnit::Utf8)
    );
}
