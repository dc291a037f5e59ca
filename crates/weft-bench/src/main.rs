//! Replays editing traces through Weft, yrs and plain ropes in one run and
//! prints their figures side by side, with ratios.
//!
//! ```text
//! cargo run --release -p weft-bench -- <trace.json.gz>... [--json]
//! ```

mod alloc;
mod report;
mod timing;

use report::Row;
use std::time::Duration;
use timing::median_ms;
use weft::IndexUnit::CodePoint;
use weft_bench::impls::{WeftDoc, YrsDoc};
use weft_traces::{merge_all, replay_concurrent, replay_sequential, Patch, Trace};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

// Medians of many runs: timings on shared machines swing from run to run.
const RUNS: usize = 15;
const BUDGET: Duration = Duration::from_secs(4);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if files.is_empty() {
        eprintln!("usage: weft-bench <trace.json.gz>... [--json]");
        std::process::exit(2);
    }
    for file in files {
        let trace = match weft_traces::load(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let mut rows = vec![weft_row(&trace), yrs_row(&trace)];
        if !trace.concurrent {
            rows.push(jumprope_row(&trace));
            if !trace.has_astral() {
                rows.push(crop_row(&trace));
            }
        }
        report::print(&trace, &rows, json);
    }
}

fn weft_row(trace: &Trace) -> Row {
    let mut row = Row::new("weft", trace);
    let doc = if trace.concurrent {
        let (ms, run) = median_ms(RUNS, BUDGET, || replay_concurrent::<WeftDoc>(trace));
        row.replay_ms = ms;
        let (ms, _) = median_ms(RUNS, BUDGET, || merge_all::<WeftDoc>(&run.updates));
        row.merge_ms = Some(ms);
        let (merged, bytes) = alloc::retained(|| merge_all::<WeftDoc>(&run.updates));
        row.retained_bytes = bytes;
        merged.0
    } else {
        let (ms, _) = median_ms(RUNS, BUDGET, || replay_sequential::<WeftDoc>(trace));
        row.replay_ms = ms;
        let (doc, bytes) = alloc::retained(|| replay_sequential::<WeftDoc>(trace));
        row.retained_bytes = bytes;
        doc.0
    };
    let snapshot = doc.encode_snapshot();
    row.snapshot_bytes = Some(snapshot.len());
    let (ms, _) = median_ms(50, Duration::from_secs(2), || {
        let mut d = weft::Doc::from_snapshot(&snapshot, 9).expect("own snapshot loads");
        let mid = d.len(CodePoint) / 2;
        d.insert(mid, "x", CodePoint).expect("in range");
        d.len(CodePoint)
    });
    row.load_ms = Some(ms);
    row.finish(&doc.to_string(), trace);
    row
}

fn yrs_row(trace: &Trace) -> Row {
    let mut row = Row::new("yrs", trace);
    let y = if trace.concurrent {
        if trace.has_astral() {
            row.note = "skipped: astral characters in a concurrent trace";
            return row;
        }
        let (ms, run) = median_ms(RUNS, BUDGET, || replay_concurrent::<YrsDoc>(trace));
        row.replay_ms = ms;
        let (ms, _) = median_ms(RUNS, BUDGET, || merge_all::<YrsDoc>(&run.updates));
        row.merge_ms = Some(ms);
        alloc::retained(|| merge_all::<YrsDoc>(&run.updates))
    } else {
        let txns = utf16_txns(trace);
        if trace.has_astral() {
            row.note = "positions converted to UTF-16 before timing";
        }
        let replay = || {
            let mut y = YrsDoc::new(1);
            for t in &txns {
                y.apply_txn(t);
            }
            y
        };
        let (ms, _) = median_ms(RUNS, BUDGET, replay);
        row.replay_ms = ms;
        alloc::retained(replay)
    };
    let (y, bytes) = y;
    row.retained_bytes = bytes;
    let update = y.encode_v2();
    row.snapshot_bytes = Some(update.len());
    let (ms, _) = median_ms(50, Duration::from_secs(2), || {
        let d = YrsDoc::load_v2(&update);
        let mid = d.text_len() / 2;
        yrs::Text::insert(&d.text, &mut yrs::Transact::transact_mut(&d.doc), mid, "x");
        d.text_len()
    });
    row.load_ms = Some(ms);
    row.finish(&weft_traces::ReplayDoc::text(&y), trace);
    row
}

/// The trace's transactions with positions in UTF-16 units (what yrs takes).
fn utf16_txns(trace: &Trace) -> Vec<Vec<Patch>> {
    if !trace.has_astral() {
        return trace.txns.iter().map(|t| t.patches.clone()).collect();
    }
    let mut shadow = jumprope::JumpRopeBuf::new();
    shadow.insert(0, &trace.start);
    trace
        .txns
        .iter()
        .map(|t| {
            t.patches
                .iter()
                .map(|p| {
                    let rope = shadow.borrow();
                    let pos = rope.chars_to_wchars(p.pos);
                    let del = rope.chars_to_wchars(p.pos + p.del) - pos;
                    drop(rope);
                    shadow.remove(p.pos..p.pos + p.del);
                    shadow.insert(p.pos, &p.ins);
                    Patch {
                        pos,
                        del,
                        ins: p.ins.clone(),
                    }
                })
                .collect()
        })
        .collect()
}

fn jumprope_row(trace: &Trace) -> Row {
    let row = Row::new("jumprope", trace);
    let replay = || {
        let mut r = jumprope::JumpRope::new();
        r.insert(0, &trace.start);
        for p in trace.txns.iter().flat_map(|t| &t.patches) {
            if p.del > 0 {
                r.remove(p.pos..p.pos + p.del);
            }
            if !p.ins.is_empty() {
                r.insert(p.pos, &p.ins);
            }
        }
        r
    };
    measure_rope(row, trace, replay)
}

/// Times a rope's replay, measures what it retains and checks its text.
fn measure_rope<R: ToString>(mut row: Row, trace: &Trace, replay: impl Fn() -> R) -> Row {
    let (ms, _) = median_ms(RUNS, BUDGET, &replay);
    row.replay_ms = ms;
    let (r, bytes) = alloc::retained(replay);
    row.retained_bytes = bytes;
    row.finish(&r.to_string(), trace);
    row
}

fn crop_row(trace: &Trace) -> Row {
    let row = Row::new("crop", trace);
    // Without astral characters code points equal UTF-16 units, which crop indexes.
    let replay = || {
        let mut r = crop::Rope::from(trace.start.as_str());
        for p in trace.txns.iter().flat_map(|t| &t.patches) {
            let start = r.byte_of_utf16_code_unit(p.pos);
            if p.del > 0 {
                let end = r.byte_of_utf16_code_unit(p.pos + p.del);
                r.delete(start..end);
            }
            if !p.ins.is_empty() {
                r.insert(start, &p.ins);
            }
        }
        r
    };
    measure_rope(row, trace, replay)
}
