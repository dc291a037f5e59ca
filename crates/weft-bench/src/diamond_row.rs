//! diamond-types' row: for snapshot sizes, so its replay is not timed; what
//! it retains, its default encoding's size and load time, and both its
//! encodings checked (see `snapshots`).

use crate::report::Row;
use crate::timing::median_ms;
use crate::{alloc, snapshots};
use diamond_types::list::ListCRDT;
use std::time::Duration;
use weft_bench::diamond;
use weft_traces::Trace;

pub fn row(trace: &Trace) -> Row {
    let mut row = Row::new("diamond-types", trace);
    row.note = "replay not timed (snapshot sizes)";
    let (dt, bytes) = alloc::retained(|| diamond::replay(trace));
    row.retained_bytes = bytes;
    // Its default encoding keeps the deleted text (in its insert
    // operations); there is none without it.
    let (default, with_deleted_content) = snapshots::diamond(&dt, trace);
    row.keeping_deleted = Some(default);
    row.with_deleted_content = Some(with_deleted_content);
    let encoded = dt.oplog.encode(diamond::DEFAULT);
    row.snapshot_bytes = Some(encoded.len());
    let (ms, _) = median_ms(50, Duration::from_secs(2), || {
        let mut d = ListCRDT::load_from(&encoded).expect("own encoding loads");
        let agent = d.get_or_create_agent_id("loader");
        d.insert(agent, d.len() / 2, "x");
        d.len()
    });
    row.load_ms = Some(ms);
    row.finish(&dt.branch.content().to_string(), trace);
    row
}
