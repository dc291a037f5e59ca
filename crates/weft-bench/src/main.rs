//! Replays editing traces through Weft, yrs and plain ropes in one run and
//! prints their figures side by side, with ratios; and compares snapshot
//! sizes with yrs's and diamond-types' encodings, keeping deleted text and
//! not.
//!
//! ```text
//! cargo run --release -p weft-bench -- <trace.json.gz>... [--json]
//! ```
//!
//! With `--large`, a large document instead (see `large`).

mod alloc;
mod diamond_row;
mod large;
mod report;
mod snapshot_table;
mod snapshots;
mod timing;

use report::Row;
use std::time::Duration;
use timing::{interleaved_medians, median_ms, Timed};
use weft::IndexUnit::CodePoint;
use weft_bench::impls::{WeftDoc, YrsDoc};
use weft_traces::{merge_all, replay_concurrent, replay_sequential, Patch, Trace};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

// Medians of many runs: timings on shared machines swing from run to run.
const RUNS: usize = 51;
const BUDGET: Duration = Duration::from_secs(4);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--large") {
        std::process::exit(large::run(args.into_iter()));
    }
    let json = args.iter().any(|a| a == "--json");
    // Each sequential trace is followed by a code-editing trace made from
    // it (pastes, replacements, jumps: see `weft_traces::code_editing`).
    let mixed = !args.iter().any(|a| a == "--no-mixed");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if files.is_empty() {
        eprintln!("usage: weft-bench <trace.json.gz>... [--json] [--no-mixed]");
        eprintln!("{}", large::USAGE);
        std::process::exit(2);
    }
    let mut traces = Vec::new();
    for file in files {
        match weft_traces::load(file) {
            Ok(t) => {
                if mixed && !t.concurrent {
                    let code = weft_bench::code_editing_trace(&t);
                    traces.push(t);
                    traces.push(code);
                } else {
                    traces.push(t);
                }
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    if !json {
        snapshot_table::legend();
    }
    for trace in traces {
        let rows = if trace.concurrent {
            vec![
                weft_row(&trace, None),
                yrs_row(&trace),
                diamond_row::row(&trace),
            ]
        } else {
            // Weft and the plain ropes take turns, so their ratios compare
            // like with like; yrs takes seconds a run and is timed apart.
            let crop = !trace.has_astral();
            let t = &trace;
            let mut replays: Vec<Timed> = vec![
                Box::new(move || Box::new(replay_sequential::<WeftDoc>(t))),
                Box::new(move || Box::new(replay_jumprope(t))),
            ];
            if crop {
                replays.push(Box::new(move || Box::new(replay_crop(t))));
            }
            let ms = interleaved_medians(RUNS, BUDGET, &mut replays);
            let mut rows = vec![
                weft_row(&trace, Some(ms[0])),
                yrs_row(&trace),
                diamond_row::row(&trace),
            ];
            rows.push(measure_rope(
                Row::new("jumprope", &trace),
                &trace,
                ms[1],
                || replay_jumprope(&trace),
            ));
            if crop {
                rows.push(measure_rope(
                    Row::new("crop", &trace),
                    &trace,
                    ms[2],
                    || replay_crop(&trace),
                ));
            }
            rows
        };
        report::print(&trace, &rows, json);
    }
}

/// Weft's row; `replay_ms` of a sequential trace is measured by the caller.
fn weft_row(trace: &Trace, replay_ms: Option<f64>) -> Row {
    let mut row = Row::new("weft", trace);
    let mut doc = if trace.concurrent {
        let (ms, run) = median_ms(RUNS, BUDGET, || replay_concurrent::<WeftDoc>(trace));
        row.replay_ms = ms;
        let (ms, _) = median_ms(RUNS, BUDGET, || merge_all::<WeftDoc>(&run.updates));
        row.merge_ms = Some(ms);
        let (merged, bytes) = alloc::retained(|| merge_all::<WeftDoc>(&run.updates));
        row.retained_bytes = bytes;
        merged.0
    } else {
        row.replay_ms = replay_ms.expect("timed with the plain ropes");
        let (doc, bytes) = alloc::retained(|| replay_sequential::<WeftDoc>(trace));
        row.retained_bytes = bytes;
        doc.0
    };
    let snapshot = doc.encode_snapshot().unwrap();
    row.snapshot_bytes = Some(snapshot.len());
    let (ms, _) = median_ms(50, Duration::from_secs(2), || {
        let mut d = weft::Doc::from_snapshot(&snapshot, 9).expect("own snapshot loads");
        let mid = d.len(CodePoint) / 2;
        d.insert(mid, "x", CodePoint).expect("in range");
        d.len(CodePoint)
    });
    row.load_ms = Some(ms);
    row.keeping_deleted = Some(snapshots::weft(&mut doc, &snapshot, trace));
    row.at_ms = Some(slowest_text_at(&mut doc));
    row.finish(&doc.to_string(), trace);
    row
}

/// The slowest median time to get the text at the versions after 10, 50,
/// 90 and 100% of `doc`'s operations (yrs keeps no deleted text: none).
fn slowest_text_at(doc: &mut weft::Doc) -> f64 {
    let n = doc.operation_count();
    let mut slowest = 0.0f64;
    for percent in [10, 50, 90, 100] {
        let version = doc.version_at_operation(n * percent / 100).unwrap();
        let (ms, _) = median_ms(11, Duration::from_secs(2), || {
            doc.text_at(&version).expect("a version of its own").len()
        });
        slowest = slowest.max(ms);
    }
    slowest
}

fn yrs_row(trace: &Trace) -> Row {
    let mut row = Row::new("yrs", trace);
    // Positions in UTF-16 for a sequential trace; a concurrent one replays
    // through `replay_concurrent` (`None`).
    let txns = (!trace.concurrent).then(|| utf16_txns(trace));
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
        let txns = txns.as_deref().expect("a sequential trace's");
        if trace.has_astral() {
            row.note = "positions converted to UTF-16 before timing";
        }
        let replay = || {
            let mut y = YrsDoc::new(1);
            for t in txns {
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
    row.without_deleted = Some(snapshots::yrs_gc(&update, trace));
    row.keeping_deleted = Some(snapshots::yrs_keeping(trace, txns.as_deref()));
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

fn replay_jumprope(trace: &Trace) -> jumprope::JumpRope {
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
}

/// A rope's row: its replay time (measured by the caller), what it
/// retains, and whether its text is right.
fn measure_rope<R: ToString>(mut row: Row, trace: &Trace, ms: f64, replay: impl Fn() -> R) -> Row {
    row.replay_ms = ms;
    let (r, bytes) = alloc::retained(replay);
    row.retained_bytes = bytes;
    row.finish(&r.to_string(), trace);
    row
}

/// Crop indexes UTF-16 units: equal to code points without astral characters.
fn replay_crop(trace: &Trace) -> crop::Rope {
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
}
