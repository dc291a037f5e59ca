//! Replays one sequential trace through Weft a number of times: a target for
//! profilers (`perf record`, `valgrind --tool=callgrind`).
//!
//! ```text
//! cargo run --release -p weft-bench --example replay -- <trace.json.gz> [times] [--code]
//! ```
//!
//! With `--code`, the code-editing trace the benchmark makes of it; with
//! `--stats`, where the replayed document's heap goes.

use weft::IndexUnit::CodePoint;
use weft_bench::impls::WeftDoc;

fn main() {
    const USAGE: &str = "usage: replay <trace.json.gz> [times] [--code] [--stats]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plain = args.iter().filter(|a| !a.starts_with("--"));
    let path = plain.next().expect(USAGE);
    let times: usize = plain.next().map_or(10, |t| t.parse().expect(USAGE));
    let mut trace = weft_traces::load(path).expect("a trace");
    if args.iter().any(|a| a == "--code") {
        trace = weft_bench::code_editing_trace(&trace);
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
    if args.iter().any(|a| a == "--stats") {
        let doc = weft_traces::replay_sequential::<WeftDoc>(&trace).0;
        let stats = doc.stats();
        let heap = doc.heap_bytes();
        println!("{stats:#?}");
        println!(
            "heap {heap} B: tree {}, op log {}, deleted text {}, the rest {}",
            stats.tree_bytes,
            stats.oplog_bytes,
            stats.deleted_bytes,
            heap - stats.tree_bytes - stats.oplog_bytes - stats.deleted_bytes
        );
    }
}
