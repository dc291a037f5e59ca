//! The snapshot sizes our issue compares, per trace: Weft's snapshot, which
//! keeps the text of deleted characters, against yrs's and diamond-types'
//! encodings keeping it too, with ratios; beside them, for scale, yrs's
//! default without it.

use crate::report::{Encoded, Row};

/// What the columns hold, once before the traces.
pub fn legend() {
    println!(
        "Snapshots keeping deleted text: yrs with skip_gc; diamond-types' default \
         encoding (ENCODE_FULL), which stores the text of every insert, deleted since \
         or not; dt +deleted content also stores it a second time, in the delete \
         operations (store_deleted_content). Without deleted text: yrs's default GC \
         (diamond-types has no such encoding). Each is decoded again and checked."
    );
}

pub fn print(rows: &[Row]) {
    let row = |name: &str| rows.iter().find(|r| r.impl_name == name);
    let dt = row("diamond-types");
    let cells = [
        ("weft", row("weft").and_then(|r| r.keeping_deleted)),
        ("yrs skip_gc", row("yrs").and_then(|r| r.keeping_deleted)),
        ("diamond-types", dt.and_then(|r| r.keeping_deleted)),
        (
            "dt +deleted content",
            dt.and_then(|r| r.with_deleted_content),
        ),
        ("yrs gc", row("yrs").and_then(|r| r.without_deleted)),
    ];
    let [weft, yrs, dt, dt_del, yrs_gc] = cells.map(|(_, e)| cell(e));
    let ratio = |other: Option<Encoded>| match (cells[0].1, other) {
        (Some(w), Some(o)) if o.bytes > 0 => format!("{:.2}x", w.bytes as f64 / o.bytes as f64),
        _ => "-".into(),
    };
    println!(
        "{:<34} {:>9} {:>12} {:>14} {:>20} {:>9} {:>9} {:>12}  | {:<21} {:>9}",
        "snapshot B, keeping deleted text:",
        "weft",
        "yrs skip_gc",
        "diamond-types",
        "dt +deleted content",
        "weft/yrs",
        "weft/dt",
        "weft/dt+del",
        "without deleted text:",
        "yrs gc",
    );
    println!(
        "{:<34} {weft:>9} {yrs:>12} {dt:>14} {dt_del:>20} {:>9} {:>9} {:>12}  | {:<21} {yrs_gc:>9}",
        "",
        ratio(cells[1].1),
        ratio(cells[2].1),
        ratio(cells[3].1),
        "",
    );
    // Sizes only count once each snapshot, decoded again, gave the final
    // text (and the deleted text, where kept): a wrong one is marked.
    let wrong: Vec<&str> = cells
        .iter()
        .filter(|(_, e)| e.is_some_and(|e| !e.ok))
        .map(|(name, _)| *name)
        .collect();
    if !wrong.is_empty() {
        println!(
            "decoded snapshots NOT as the trace's (marked !): {}",
            wrong.join(", ")
        );
    }
}

fn cell(e: Option<Encoded>) -> String {
    match e {
        Some(e) if e.ok => e.bytes.to_string(),
        Some(e) => format!("{}!", e.bytes),
        None => "-".into(),
    }
}
