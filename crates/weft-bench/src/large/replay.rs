//! Replays of the repeated trace, timed at fractions of its edits.

use std::time::Instant;
use weft::IndexUnit::CodePoint;
use weft_bench::repeated::{Edit, Repeated};

/// Percentages of the edits at which the clock is read.
pub const MARKS: [usize; 5] = [10, 25, 50, 75, 100];

/// Milliseconds since the start at each of `MARKS`.
pub type Marks = [f64; MARKS.len()];

/// Applies every edit of `edits` to `doc`, reading the clock at each mark.
pub fn timed<D>(
    mut doc: D,
    edits: Repeated<'_>,
    mut apply: impl FnMut(&mut D, Edit),
) -> (D, Marks) {
    let total = edits.len();
    let at = MARKS.map(|percent| total * percent / 100);
    let mut marks = [0.0; MARKS.len()];
    let mut next = 0;
    let start = Instant::now();
    for (i, edit) in edits.enumerate() {
        apply(&mut doc, edit);
        // Several marks may fall on one edit in a tiny run.
        while next < at.len() && i + 1 == at[next] {
            marks[next] = start.elapsed().as_secs_f64() * 1000.0;
            next += 1;
        }
    }
    // Marks at edit 0 (no edits at all) read as the whole time.
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    for m in &mut marks[next..] {
        *m = elapsed;
    }
    (doc, marks)
}

pub fn weft(doc: &mut weft::Doc, e: Edit) {
    if e.del > 0 {
        doc.delete(e.pos, e.del, CodePoint).expect("edit in range");
    }
    if !e.ins.is_empty() {
        doc.insert(e.pos, e.ins, CodePoint).expect("edit in range");
    }
}

pub fn jumprope(rope: &mut jumprope::JumpRope, e: Edit) {
    if e.del > 0 {
        rope.remove(e.pos..e.pos + e.del);
    }
    if !e.ins.is_empty() {
        rope.insert(e.pos, e.ins);
    }
}

/// Nanoseconds per edit in each quarter of the edits, from the marks.
pub fn quarter_ns_per_edit(marks: &Marks, edits: usize) -> [f64; 4] {
    let ms_at = |percent: usize| {
        let i = MARKS.iter().position(|&p| p == percent).expect("a mark");
        marks[i]
    };
    let quarter = edits as f64 / 4.0;
    [(0, 25), (25, 50), (50, 75), (75, 100)].map(|(from, to)| {
        let from_ms = if from == 0 { 0.0 } else { ms_at(from) };
        (ms_at(to) - from_ms) * 1e6 / quarter
    })
}

/// Each mark's median over runs.
pub fn median_marks(runs: &[Marks]) -> Marks {
    std::array::from_fn(|i| {
        let mut at: Vec<f64> = runs.iter().map(|m| m[i]).collect();
        at.sort_by(f64::total_cmp);
        at[at.len() / 2]
    })
}
