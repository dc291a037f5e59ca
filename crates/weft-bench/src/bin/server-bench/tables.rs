//! Which figures each scenario prints, one row each.

use crate::args::Args;
use crate::load::LoadResult;
use crate::paper::{PaperDocs, PaperResult};
use std::time::Duration;
use weft_bench::harness::table::Table;

pub fn load(args: &Args, results: &mut [Result<LoadResult, String>]) -> Table {
    let plan = &args.plan;
    let mut t = Table::new(
        format!(
            "Load: {} connections over {} rooms ({} each), each typing {} edits/s; {:.0} s measured after {:.0} s warm-up; generator on {} thread(s)",
            plan.rooms * plan.per_room,
            plan.rooms,
            plan.per_room,
            plan.rate,
            plan.duration.as_secs_f64(),
            plan.warmup.as_secs_f64(),
            args.threads,
        ),
        &args.servers,
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut col = |f: &mut dyn FnMut(&mut LoadResult) -> f64| -> Vec<Option<f64>> {
        results
            .iter_mut()
            .map(|r| r.as_mut().ok().map(&mut *f))
            .collect()
    };
    let p50 = col(&mut |r| r.latencies.percentile_ms(50.0));
    let p99 = col(&mut |r| r.latencies.percentile_ms(99.0));
    let max = col(&mut |r| r.latencies.percentile_ms(100.0));
    let samples = col(&mut |r| r.latencies.count() as f64);
    let missing = col(&mut |r| r.missing as f64);
    let edits = col(&mut |r| r.edits as f64);
    let failed = col(&mut |r| r.failed as f64);
    let cpu = col(&mut |r| r.server_cpu);
    let rss = col(&mut |r| mib(r.memory.rss));
    let hwm = col(&mut |r| mib(r.memory.peak));
    let gen = col(&mut |r| r.generator_cpu);
    let other = col(&mut |r| r.other_cpu);
    let connect = col(&mut |r| r.connect.as_secs_f64());
    t.row("edit to other clients p50 (ms)", 2, p50);
    t.row("edit to other clients p99 (ms)", 2, p99);
    t.row("edit to other clients max (ms)", 1, max);
    t.row("deliveries timed (inserts x others)", 0, samples);
    t.row("deliveries missing", 0, missing);
    t.row("keystrokes sent in the window", 0, edits);
    t.row("clients failed", 0, failed);
    t.row("server CPU (% of one core)", 1, cpu);
    t.row("server RSS at end (MiB)", 1, rss);
    t.row("server peak RSS, VmHWM (MiB)", 1, hwm);
    t.row("generator CPU (% of one core)", 1, gen);
    let busy = other.iter().flatten().any(|&o| o > 25.0);
    t.row("other processes' CPU (% of one core)", 1, other);
    t.row("connect + sync all clients (s)", 2, connect);
    t.note("latency: from the sender producing an insert's update to each other client having merged it");
    t.note("(deletes are sent but not timed: they do not advance a yrs state vector)");
    if busy {
        t.note("WARNING: other processes used CPU during the window; latency figures are skewed");
    }
    t
}

pub fn paper(args: &Args, docs: &PaperDocs, results: &[Result<PaperResult, String>]) -> Table {
    let mut t =
        Table::new(
            format!(
            "Paper room: {} ({} characters at the end), uploaded by a client; n/a: nothing stored",
            args.trace.file_name().map_or("", |n| n.to_str().unwrap_or("")),
            docs.text.chars().count()
        ),
            &args.servers,
        );
    let col = |f: &dyn Fn(&PaperResult) -> Option<f64>| -> Vec<Option<f64>> {
        results
            .iter()
            .map(|r| r.as_ref().ok().and_then(f))
            .collect()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    t.row(
        "upload: connect to acknowledged (ms)",
        1,
        col(&|r| r.upload.map(ms)),
    );
    t.row(
        "server RSS, room loaded (+MiB)",
        2,
        col(&|r| Some(mib(r.loaded_rss))),
    );
    t.row(
        "open, room in memory (ms)",
        1,
        col(&|r| Some(ms(r.warm_open))),
    );
    t.row(
        "stored for the room (bytes)",
        0,
        col(&|r| r.stored.map(|b| b as f64)),
    );
    t.row(
        "data files after stop (bytes)",
        0,
        col(&|r| r.stored_files.map(|b| b as f64)),
    );
    t.row(
        "cold open after restart (ms)",
        1,
        col(&|r| r.cold_open.map(ms)),
    );
    t.row(
        "server RSS after cold open (+MiB)",
        2,
        col(&|r| r.cold_rss.map(mib)),
    );
    t.note(
        "acknowledged: weft-server once stored on disk (Durable), Hocuspocus once merged in memory",
    );
    t.note("(SyncStatus); y-websocket acknowledges nothing and stores nothing (in memory only)");
    t
}
