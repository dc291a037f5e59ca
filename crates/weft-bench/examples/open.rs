//! Opens a journal repeatedly: a checkpoint of a sequential trace taken at a
//! fraction of its edits, then records of 1,000 edits each for the rest (as
//! the storage benchmark writes them). Prints the time of a whole open, of
//! the checkpoint alone and of the records alone: a target for profilers.
//!
//! ```text
//! cargo run --release -p weft-bench --example open -- <trace.json.gz> [fraction] [times]
//! ```

use std::time::Instant;
use weft::journal;
use weft::IndexUnit::CodePoint;

const EDITS_PER_RECORD: usize = 1000;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: open <trace.json.gz> [fraction] [times]");
    let fraction: f64 = args.next().map_or(0.9, |f| f.parse().expect("a number"));
    let times: usize = args.next().map_or(200, |t| t.parse().expect("a number"));
    let trace = weft_traces::load(&path).expect("a trace");
    let patches: Vec<_> = trace.txns.iter().flat_map(|t| &t.patches).collect();
    let cut = (patches.len() as f64 * fraction) as usize;

    let mut doc = weft::Doc::new(1);
    let mut checkpoint = journal::encode_checkpoint(1, &doc.encode_snapshot().unwrap());
    let mut updates = Vec::new();
    let mut mark = doc.version();
    for (i, p) in patches.iter().enumerate() {
        if p.del > 0 {
            doc.delete(p.pos, p.del, CodePoint).expect("in range");
        }
        if !p.ins.is_empty() {
            doc.insert(p.pos, &p.ins, CodePoint).expect("in range");
        }
        let done = i + 1;
        if done == cut {
            checkpoint = journal::encode_checkpoint(1, &doc.encode_snapshot().unwrap());
            mark = doc.version();
        } else if done > cut
            && ((done - cut).is_multiple_of(EDITS_PER_RECORD) || done == patches.len())
        {
            updates.push(doc.encode_update(&mark).unwrap());
            mark = doc.version();
        }
    }
    let records: Vec<(u64, Vec<u8>)> = updates
        .iter()
        .enumerate()
        .map(|(i, u)| (i as u64 + 2, journal::encode_record(i as u64 + 2, u)))
        .collect();
    let record_bytes: usize = records.iter().map(|r| r.1.len()).sum();
    println!(
        "checkpoint {} B, {} records {record_bytes} B",
        checkpoint.len(),
        records.len()
    );

    let per = |spent: f64| spent * 1000.0 / times as f64;
    let start = Instant::now();
    for _ in 0..times {
        let entries = records.iter().map(|(k, r)| (*k, &r[..]));
        let opened = journal::open(9, [(1, &checkpoint[..])], entries);
        assert!(opened.problems.is_empty());
    }
    println!("{:.3} ms per open", per(start.elapsed().as_secs_f64()));

    let start = Instant::now();
    for _ in 0..times {
        journal::open(9, [(1, &checkpoint[..])], std::iter::empty());
    }
    println!(
        "{:.3} ms for the checkpoint alone",
        per(start.elapsed().as_secs_f64())
    );

    let base = journal::open(9, [(1, &checkpoint[..])], std::iter::empty()).doc;
    let mut spent = 0.0;
    for _ in 0..times {
        let mut d = base.clone();
        let start = Instant::now();
        for u in &updates {
            d.apply_update(u, CodePoint).expect("valid update");
        }
        spent += start.elapsed().as_secs_f64();
    }
    println!("{:.3} ms for the records alone", per(spent));
}
