//! Loads a snapshot file repeatedly (decode, one insert in the middle, read
//! the length): a target for profilers. With `WEFT_STATS` set it first
//! prints the loaded document's statistics (pages still cold show as leaves
//! without spans).
//!
//! ```text
//! cargo run --release -p weft-bench --example load -- <snapshot> [times]
//! ```

use weft::IndexUnit::CodePoint;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: load <snapshot> [times]");
    let times: usize = args.next().map_or(200, |t| t.parse().expect("a number"));
    let bytes = std::fs::read(path).expect("readable");
    if std::env::var_os("WEFT_STATS").is_some() {
        println!(
            "{:?}",
            weft::Doc::from_snapshot(&bytes, 9)
                .expect("a snapshot")
                .stats()
        );
        let mut d = weft::Doc::from_snapshot(&bytes, 9).expect("a snapshot");
        let start = std::time::Instant::now();
        d.finish_loading().expect("valid");
        println!("decoded in {:?}: {:?}", start.elapsed(), d.stats());
    }
    let start = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..times {
        let mut d = weft::Doc::from_snapshot(&bytes, 9).expect("a snapshot");
        let mid = d.len(CodePoint) / 2;
        d.insert(mid, "x", CodePoint).unwrap();
        total += d.len(CodePoint);
    }
    println!(
        "{:.3} ms per load ({total})",
        start.elapsed().as_secs_f64() * 1000.0 / times as f64
    );
}
