//! Loads a trace's snapshot over and over, for `perf record`.
use weft_bench::impls::WeftDoc;
fn main() {
    let path = std::env::args().nth(1).expect("trace");
    let trace = weft_traces::load(&path).unwrap();
    let doc: WeftDoc = weft_traces::replay_sequential(&trace);
    let snap = doc.0.encode_snapshot();
    let t = std::time::Instant::now();
    let n = 2000;
    for _ in 0..n {
        let mut d = weft::Doc::from_snapshot(&snap, 7).unwrap();
        d.insert(
            d.len(weft::IndexUnit::CodePoint) / 2,
            "x",
            weft::IndexUnit::CodePoint,
        )
        .unwrap();
        std::hint::black_box(d.len(weft::IndexUnit::CodePoint));
    }
    eprintln!(
        "{:.3} ms per load",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
