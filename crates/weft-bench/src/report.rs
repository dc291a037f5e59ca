//! One row of results per implementation, printed as a table or JSON lines.

use crate::snapshot_table;
use weft_traces::Trace;

/// One snapshot encoding: its size, and whether decoding it again gave the
/// trace's final text (and, for one keeping deleted text, that text).
#[derive(Clone, Copy)]
pub struct Encoded {
    pub bytes: usize,
    pub ok: bool,
}

pub struct Row {
    pub impl_name: &'static str,
    pub trace: String,
    pub patches: usize,
    pub replay_ms: f64,
    pub retained_bytes: usize,
    pub snapshot_bytes: Option<usize>,
    pub load_ms: Option<f64>,
    pub merge_ms: Option<f64>,
    /// The text at an earlier version (a history slider's step): the
    /// slowest of those after 10, 50, 90 and 100% of the operations.
    pub at_ms: Option<f64>,
    /// The snapshot keeping the text of deleted characters (Weft's own; yrs
    /// with GC off; diamond-types' default, see `weft_bench::diamond`) and
    /// the one without it (yrs's default GC).
    pub keeping_deleted: Option<Encoded>,
    pub without_deleted: Option<Encoded>,
    /// diamond-types' encoding also storing delete operations' content: a
    /// second copy of the deleted text.
    pub with_deleted_content: Option<Encoded>,
    pub final_len_chars: usize,
    pub ok: bool,
    pub note: &'static str,
}

impl Row {
    pub fn new(impl_name: &'static str, trace: &Trace) -> Row {
        Row {
            impl_name,
            trace: trace.name.clone(),
            patches: trace.patch_count(),
            replay_ms: f64::NAN,
            retained_bytes: 0,
            snapshot_bytes: None,
            load_ms: None,
            merge_ms: None,
            at_ms: None,
            keeping_deleted: None,
            without_deleted: None,
            with_deleted_content: None,
            final_len_chars: 0,
            ok: false,
            note: "",
        }
    }

    pub fn finish(&mut self, text: &str, trace: &Trace) {
        self.final_len_chars = text.chars().count();
        self.ok = text == trace.end;
    }

    fn json(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.4}"));
        let null_or = |v: Option<String>| v.unwrap_or_else(|| "null".to_owned());
        let bytes = |e: Option<Encoded>| null_or(e.map(|e| e.bytes.to_string()));
        let ok = |e: Option<Encoded>| null_or(e.map(|e| e.ok.to_string()));
        format!(
            "{{\"impl\":\"{}\",\"trace\":\"{}\",\"patches\":{},\"replay_ms\":{},\"retained_bytes\":{},\"snapshot_bytes\":{},\"snapshot_keeping_deleted_bytes\":{},\"snapshot_keeping_deleted_ok\":{},\"snapshot_without_deleted_bytes\":{},\"snapshot_without_deleted_ok\":{},\"snapshot_with_deleted_content_bytes\":{},\"snapshot_with_deleted_content_ok\":{},\"load_ms\":{},\"merge_ms\":{},\"at_ms\":{},\"final_len_chars\":{},\"ok\":{},\"note\":\"{}\"}}",
            self.impl_name,
            self.trace,
            self.patches,
            // Not measured (NaN) is null: JSON has no NaN.
            null_or((!self.replay_ms.is_nan()).then(|| format!("{:.3}", self.replay_ms))),
            self.retained_bytes,
            null_or(self.snapshot_bytes.map(|v| v.to_string())),
            bytes(self.keeping_deleted),
            ok(self.keeping_deleted),
            bytes(self.without_deleted),
            ok(self.without_deleted),
            bytes(self.with_deleted_content),
            ok(self.with_deleted_content),
            opt(self.load_ms),
            opt(self.merge_ms),
            opt(self.at_ms),
            self.final_len_chars,
            self.ok,
            self.note
        )
    }
}

pub fn print(trace: &Trace, rows: &[Row], json: bool) {
    if json {
        for r in rows {
            println!("{}", r.json());
        }
        return;
    }
    let kind = if trace.concurrent {
        format!("concurrent, {} agents", trace.agents)
    } else {
        "sequential".into()
    };
    println!("\n{} ({} patches, {kind})", trace.name, trace.patch_count());
    println!(
        "{:<13} {:>11} {:>13} {:>13} {:>9} {:>10} {:>8} {:>9} {:>4}  note",
        "impl",
        "replay ms",
        "retained B",
        "snapshot B",
        "load ms",
        "merge ms",
        "at ms",
        "chars",
        "ok",
    );
    let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    for r in rows {
        let replay = (!r.replay_ms.is_nan()).then(|| format!("{:.2}", r.replay_ms));
        println!(
            "{:<13} {:>11} {:>13} {:>13} {:>9} {:>10} {:>8} {:>9} {:>4}  {}",
            r.impl_name,
            replay.as_deref().unwrap_or("-"),
            r.retained_bytes,
            r.snapshot_bytes.map_or("-".to_owned(), |v| v.to_string()),
            f(r.load_ms),
            f(r.merge_ms),
            f(r.at_ms),
            r.final_len_chars,
            if r.ok { "yes" } else { "NO" },
            r.note
        );
    }
    let weft = &rows[0];
    let ratio = |a: f64, b: f64| {
        if b > 0.0 && !a.is_nan() {
            let r = a / b;
            if r < 0.1 {
                format!("{r:.4}x (1/{:.0})", 1.0 / r)
            } else {
                format!("{r:.2}x")
            }
        } else {
            "-".into()
        }
    };
    for other in &rows[1..] {
        // A skipped implementation, or one measured for its snapshot alone.
        if other.replay_ms.is_nan() && other.snapshot_bytes.is_none() {
            continue;
        }
        println!(
            "weft / {:<13} replay {}  retained {}{}",
            other.impl_name,
            ratio(weft.replay_ms, other.replay_ms),
            ratio(weft.retained_bytes as f64, other.retained_bytes as f64),
            match (
                weft.snapshot_bytes,
                other.snapshot_bytes,
                weft.load_ms,
                other.load_ms
            ) {
                (Some(a), Some(b), Some(c), Some(d)) => format!(
                    "  snapshot {}  load {}",
                    ratio(a as f64, b as f64),
                    ratio(c, d)
                ),
                _ => String::new(),
            }
        );
    }
    snapshot_table::print(rows);
}
