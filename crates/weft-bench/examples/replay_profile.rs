//! Replays a sequential trace over and over, for `perf record`.
use weft_bench::impls::WeftDoc;
fn main() {
    let path = std::env::args().nth(1).expect("trace");
    let n: usize = std::env::args().nth(2).map_or(200, |s| s.parse().unwrap());
    let trace = weft_traces::load(&path).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        let doc: WeftDoc = weft_traces::replay_sequential(&trace);
        std::hint::black_box(doc.0.len(weft::IndexUnit::CodePoint));
    }
    eprintln!(
        "{:.3} ms per replay",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
