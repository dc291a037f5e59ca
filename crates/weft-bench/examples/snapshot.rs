//! Writes the snapshot of a sequential trace's final document to a file, to
//! study its size (for example with compressors).
//!
//! ```text
//! cargo run --release -p weft-bench --example snapshot -- <trace.json.gz> <out>
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: snapshot <trace.json.gz> <out>");
    let out = args.next().expect("usage: snapshot <trace.json.gz> <out>");
    let trace = weft_traces::load(&path).expect("a trace");
    let doc = weft_traces::replay_sequential::<Replica>(&trace).0;
    let snap = doc.encode_snapshot();
    std::fs::write(&out, &snap).expect("writable");
    println!(
        "{} bytes, text {} bytes",
        snap.len(),
        doc.len(weft::IndexUnit::Utf8)
    );
}

struct Replica(weft::Doc);

impl weft_traces::ReplayDoc for Replica {
    type Mark = ();
    type Update = ();
    fn new_replica(_: usize) -> Self {
        Replica(weft::Doc::new(1))
    }
    fn apply_patch(&mut self, p: &weft_traces::Patch) {
        use weft::IndexUnit::CodePoint;
        if p.del > 0 {
            self.0.delete(p.pos, p.del, CodePoint).unwrap();
        }
        if !p.ins.is_empty() {
            self.0.insert(p.pos, &p.ins, CodePoint).unwrap();
        }
    }
    fn mark(&self) {}
    fn update_since(&self, _: &()) {}
    fn apply_update(&mut self, _: &()) {}
    fn text(&self) -> String {
        self.0.to_string()
    }
}
