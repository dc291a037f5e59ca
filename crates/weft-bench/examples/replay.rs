//! Replays one sequential trace through Weft a number of times: a target for
//! profilers (`perf record`, `valgrind --tool=callgrind`).
//!
//! ```text
//! cargo run --release -p weft-bench --example replay -- <trace.json.gz> [times] [--code]
//! ```
//!
//! With `--code`, the code-editing trace the benchmark makes of it.

use weft::IndexUnit::CodePoint;
use weft_bench::impls::WeftDoc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: replay <trace.json.gz> [times]");
    let times: usize = args.next().map_or(10, |t| t.parse().expect("a number"));
    let mut trace = weft_traces::load(&path).expect("a trace");
    if std::env::args().any(|a| a == "--code") {
        let patches = trace.patch_count().min(40_000);
        trace = weft_traces::code_editing(&trace, 1, patches);
    }
    let start = std::time::Instant::now();
    for _ in 0..times {
        let doc = weft_traces::replay_sequential::<WeftDoc>(&trace).0;
        assert_eq!(doc.len(CodePoint), trace.end.chars().count());
    }
    println!(
        "{:.2} ms per replay",
        start.elapsed().as_secs_f64() * 1000.0 / times as f64
    );
}
