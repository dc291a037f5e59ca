//! The large-document figures, as a table with ratios or as JSON lines.

use super::replay::{quarter_ns_per_edit, MARKS};
use super::{Figures, Side};

/// The most a load ready to edit may take (issue 16).
const LOAD_TARGET_MS: f64 = 5.0;

pub fn print(f: &Figures, json: bool) {
    if json {
        for side in [&f.weft, &f.jumprope] {
            println!("{}", side_json(f, side));
        }
        return;
    }
    println!(
        "\n{} x{} ({} edits, each pass appended after the last): text {} chars, {} bytes",
        f.trace, f.times, f.edits, f.text_chars, f.text_bytes
    );
    let marks: Vec<String> = MARKS.iter().map(|p| format!("{p}% ms")).collect();
    println!(
        "{:<9} {:>10} {:>10} {:>10} {:>10} {:>10}   ns/edit by quarter: {:>6} {:>6} {:>6} {:>6}  q4/q1",
        "impl", marks[0], marks[1], marks[2], marks[3], marks[4], "q1", "q2", "q3", "q4"
    );
    for s in [&f.weft, &f.jumprope] {
        let q = quarter_ns_per_edit(&s.marks, f.edits);
        println!(
            "{:<9} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0}   {:>26.0} {:>6.0} {:>6.0} {:>6.0}  {:.2}",
            s.name, s.marks[0], s.marks[1], s.marks[2], s.marks[3], s.marks[4],
            q[0], q[1], q[2], q[3], q[3] / q[0]
        );
    }
    let (w, j) = (&f.weft, &f.jumprope);
    let at_marks: Vec<String> = (0..MARKS.len())
        .map(|i| format!("{:.2}x", w.marks[i] / j.marks[i]))
        .collect();
    println!(
        "weft / jumprope replay at each mark: {}",
        at_marks.join(" ")
    );
    println!(
        "snapshot {} B ({:.2} B per text byte), encoded in {:.0} ms",
        f.snapshot_bytes,
        f.snapshot_bytes as f64 / f.text_bytes as f64,
        f.encode_ms
    );
    println!(
        "ready to edit (load, insert in the middle and at the end; median): weft {:.3} ms from its snapshot ({}), jumprope {:.3} ms from the text",
        w.load_ms,
        if w.load_ms <= LOAD_TARGET_MS { "within 5 ms" } else { "OVER 5 ms" },
        j.load_ms
    );
    for (what, a, b) in [
        ("replayed", w.retained, j.retained),
        ("ready to edit", w.loaded_retained, j.loaded_retained),
    ] {
        println!(
            "retained, {what}: weft {a} B ({:.2} per text byte), jumprope {b} B ({:.2}); weft / jumprope {:.2}x",
            a as f64 / f.text_bytes as f64,
            b as f64 / f.text_bytes as f64,
            a as f64 / b as f64
        );
    }
}

fn side_json(f: &Figures, s: &Side) -> String {
    let marks: Vec<String> = s.marks.iter().map(|m| format!("{m:.3}")).collect();
    let quarters: Vec<String> = quarter_ns_per_edit(&s.marks, f.edits)
        .iter()
        .map(|q| format!("{q:.2}"))
        .collect();
    // Only Weft has a snapshot.
    let snapshot = if s.name == "weft" {
        format!(
            "\"snapshot_bytes\":{},\"encode_ms\":{:.3},",
            f.snapshot_bytes, f.encode_ms
        )
    } else {
        String::new()
    };
    format!(
        "{{\"impl\":\"{}\",\"trace\":\"{}\",\"times\":{},\"edits\":{},\"text_chars\":{},\"text_bytes\":{},\"mark_percents\":{:?},\"replay_ms_at_marks\":[{}],\"ns_per_edit_by_quarter\":[{}],\"retained_bytes\":{},{}\"ready_to_edit_ms\":{:.4},\"ready_retained_bytes\":{}}}",
        s.name,
        f.trace,
        f.times,
        f.edits,
        f.text_chars,
        f.text_bytes,
        MARKS,
        marks.join(","),
        quarters.join(","),
        s.retained,
        snapshot,
        s.load_ms,
        s.loaded_retained
    )
}
