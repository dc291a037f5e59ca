//! Issue 16's large document: a trace replayed many times end to end (by
//! default automerge-paper 100 times, 26 million edits, 10 MB of text),
//! made on the fly. Weft and jumprope (the floor: a rope with no history)
//! replay the same edits in turns; the run prints their replay times at
//! fractions of the edits (is the time linear in the edits?), what each
//! retains, Weft's snapshot, and the time to load it ready to edit.
//!
//! ```text
//! cargo run --release -p weft-bench -- --large [--trace FILE] [--times N] [--runs N] [--json]
//! ```

mod args;
mod replay;
mod report;

pub use args::USAGE;

use crate::alloc;
use crate::timing::median_ms;
use replay::Marks;
use std::time::Duration;
use weft::IndexUnit::CodePoint;
use weft_bench::repeated::Pass;

/// The figures of one run.
pub struct Figures {
    pub trace: String,
    pub times: usize,
    pub edits: usize,
    pub text_chars: usize,
    pub text_bytes: usize,
    pub weft: Side,
    pub jumprope: Side,
    pub snapshot_bytes: usize,
    pub encode_ms: f64,
}

/// One implementation's figures.
pub struct Side {
    pub name: &'static str,
    /// Median over the runs of the time at each of `replay::MARKS`.
    pub marks: Marks,
    /// Heap the replayed document holds.
    pub retained: usize,
    /// Ready to edit: Weft loads its snapshot, jumprope its text (all it
    /// keeps); then one insert in the middle and one at the end.
    pub load_ms: f64,
    /// Heap the document ready to edit holds.
    pub loaded_retained: usize,
}

/// Runs the benchmark with the flags after `--large`; the exit code.
pub fn run(args: impl Iterator<Item = String>) -> i32 {
    let args = match args::parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let trace = match weft_traces::load(&args.trace) {
        Ok(t) if !t.concurrent => t,
        Ok(t) => {
            eprintln!("{}: concurrent; only a sequential trace repeats", t.name);
            return 2;
        }
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let pass = Pass::of(&trace);
    let edits = || pass.repeat(args.times);
    let (mut doc, weft_marks, weft_retained, rope, rope_marks, rope_retained) = {
        let (mut weft_runs, mut rope_runs) = (Vec::new(), Vec::new());
        let (mut doc, mut rope) = (None, None);
        let (mut weft_retained, mut rope_retained) = (0, 0);
        // In turns, so both see the same machine; the previous run's
        // document is freed before the next replay starts.
        for _ in 0..args.runs {
            drop(doc.take());
            let ((d, marks), bytes) =
                alloc::retained(|| replay::timed(weft::Doc::new(1), edits(), replay::weft));
            (doc, weft_retained) = (Some(d), bytes);
            weft_runs.push(marks);
            drop(rope.take());
            let ((r, marks), bytes) = alloc::retained(|| {
                replay::timed(jumprope::JumpRope::new(), edits(), replay::jumprope)
            });
            (rope, rope_retained) = (Some(r), bytes);
            rope_runs.push(marks);
        }
        (
            doc.expect("at least one run"),
            replay::median_marks(&weft_runs),
            weft_retained,
            rope.expect("at least one run"),
            replay::median_marks(&rope_runs),
            rope_retained,
        )
    };
    let text = rope.to_string();
    drop(rope);
    if doc.to_string() != text || text != trace.end.repeat(args.times) {
        eprintln!("FAILED: Weft's text differs from jumprope's or from the trace's");
        return 1;
    }
    let (encode_ms, snapshot) = median_ms(5, Duration::from_secs(30), || {
        doc.encode_snapshot().expect("a document built by replay")
    });
    drop(doc);
    let loaded = weft::Doc::from_snapshot(&snapshot, 9).expect("own snapshot loads");
    if loaded.to_string() != text {
        eprintln!("FAILED: the loaded snapshot's text differs");
        return 1;
    }
    drop(loaded);
    let (load_ms, _) = median_ms(21, Duration::from_secs(20), || weft_ready(&snapshot));
    let (_, loaded_retained) = alloc::retained(|| weft_ready(&snapshot));
    let (rope_load_ms, _) = median_ms(21, Duration::from_secs(20), || rope_ready(&text));
    let (_, rope_loaded_retained) = alloc::retained(|| rope_ready(&text));
    let figures = Figures {
        trace: trace.name.clone(),
        times: args.times,
        edits: edits().len(),
        text_chars: text.chars().count(),
        text_bytes: text.len(),
        weft: Side {
            name: "weft",
            marks: weft_marks,
            retained: weft_retained,
            load_ms,
            loaded_retained,
        },
        jumprope: Side {
            name: "jumprope",
            marks: rope_marks,
            retained: rope_retained,
            load_ms: rope_load_ms,
            loaded_retained: rope_loaded_retained,
        },
        snapshot_bytes: snapshot.len(),
        encode_ms,
    };
    report::print(&figures, args.json);
    0
}

/// What a user does first: open the document, type in the middle and at
/// the end.
fn weft_ready(snapshot: &[u8]) -> weft::Doc {
    let mut d = weft::Doc::from_snapshot(snapshot, 9).expect("own snapshot loads");
    d.insert(d.len(CodePoint) / 2, "x", CodePoint)
        .expect("in range");
    d.insert(d.len(CodePoint), "x", CodePoint)
        .expect("in range");
    d
}

/// The same for a rope, which keeps only the text.
fn rope_ready(text: &str) -> jumprope::JumpRope {
    let mut r = jumprope::JumpRope::from(text);
    r.insert(r.len_chars() / 2, "x");
    r.insert(r.len_chars(), "x");
    r
}
