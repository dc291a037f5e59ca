//! The printed figures: a table per load step, a summary, and the issue's
//! targets beside what was measured.

use crate::args::{Args, NODES};
use crate::kill::{KillResult, KILLED};
use crate::steps::StepResult;
use std::time::Duration;
use weft_bench::harness::client::Wire;
use weft_bench::harness::table::Table;

/// What one side came to; `error` if it stopped early (its figures so far
/// are kept).
pub struct SideResult {
    pub wire: Wire,
    pub steps: Vec<StepResult>,
    pub kill: Option<KillResult>,
    /// What the side holds once the steps are done.
    pub kept: Kept,
    pub error: Option<String>,
}

/// What a side holds once the steps are done (before the kill).
#[derive(Default)]
pub struct Kept {
    /// Redis's memory beyond what it used before the nodes started.
    pub redis_bytes: Option<u64>,
    /// The side's PostgreSQL database (`pg_database_size`) beyond its size
    /// when empty.
    pub database_bytes: Option<u64>,
}

impl SideResult {
    /// The highest rate of the steps passed before the first that failed.
    fn ceiling(&mut self, ceiling: Duration) -> Option<f64> {
        let mut last = None;
        for step in &mut self.steps {
            if !step.passed(ceiling) {
                break;
            }
            last = Some(step.rate);
        }
        last
    }

    fn step_at(&mut self, rate: f64) -> Option<&mut StepResult> {
        self.steps.iter_mut().find(|s| s.rate == rate)
    }
}

pub fn print(args: &Args, results: &mut [SideResult]) {
    for &rate in &args.steps {
        if results.iter_mut().any(|r| r.step_at(rate).is_some()) {
            step(args, rate, results).print();
        }
    }
    summary(args, results).print();
    kept(args, results).print();
    targets(args, results);
}

fn kept(args: &Args, results: &[SideResult]) -> Table {
    let wires: Vec<Wire> = results.iter().map(|r| r.wire).collect();
    let mut t = Table::new(
        format!(
            "Kept once the steps are done: {} rooms, the last typed at {} edits/s",
            args.rooms,
            results
                .iter()
                .filter_map(|r| r.steps.last().map(|s| s.rate))
                .fold(0.0, f64::max)
        ),
        &wires,
    );
    let mib = |b: Option<u64>| b.map(|b| b as f64 / (1024.0 * 1024.0));
    let per_room = |b: Option<u64>| b.map(|b| b as f64 / 1024.0 / args.rooms as f64);
    let col = |f: &dyn Fn(&Kept) -> Option<f64>| results.iter().map(|r| f(&r.kept)).collect();
    t.row("Redis memory used (MiB)", 2, col(&|k| mib(k.redis_bytes)));
    t.row("  per room (KiB)", 1, col(&|k| per_room(k.redis_bytes)));
    t.row(
        "PostgreSQL database (MiB)",
        2,
        col(&|k| mib(k.database_bytes)),
    );
    t.row("  per room (KiB)", 1, col(&|k| per_room(k.database_bytes)));
    t.note("Redis: beyond its memory before the nodes started; weft-server's streams keep their last minute of entries");
    t.note("PostgreSQL: the side's database beyond its size when created: tables, indexes, what is not yet vacuumed");
    t
}

fn clients(args: &Args) -> usize {
    args.rooms * args.per_room
}

fn step(args: &Args, rate: f64, results: &mut [SideResult]) -> Table {
    let wires: Vec<Wire> = results.iter().map(|r| r.wire).collect();
    let mut t = Table::new(
        format!(
            "Step: {rate} edits/s over {} clients ({:.2} each) in {} rooms over {NODES} nodes; {:.0} s measured after {:.0} s",
            clients(args),
            rate / clients(args) as f64,
            args.rooms,
            args.duration.as_secs_f64(),
            args.warmup.as_secs_f64(),
        ),
        &wires,
    );
    let mut col = |f: &mut dyn FnMut(&mut StepResult) -> Option<f64>| -> Vec<Option<f64>> {
        results
            .iter_mut()
            .map(|r| r.step_at(rate).and_then(&mut *f))
            .collect()
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    t.row(
        "cross-node edit to remote p50 (ms)",
        2,
        col(&mut |s| Some(s.totals.latencies.percentile_ms(50.0))),
    );
    t.row(
        "cross-node edit to remote p99 (ms)",
        2,
        col(&mut |s| Some(s.totals.latencies.percentile_ms(99.0))),
    );
    t.row(
        "cross-node edit to remote max (ms)",
        1,
        col(&mut |s| Some(s.totals.latencies.percentile_ms(100.0))),
    );
    let under = col(&mut |s| Some(f64::from(u8::from(s.passed(args.ceiling)))));
    t.row(
        "cross-node deliveries timed",
        0,
        col(&mut |s| Some(s.totals.latencies.count() as f64)),
    );
    t.row(
        "deliveries missing",
        0,
        col(&mut |s| Some(s.totals.missing as f64)),
    );
    t.row(
        "clients not acknowledged as stored at the end",
        0,
        col(&mut |s| s.totals.unstored.map(|n| n as f64)),
    );
    t.row(
        "keystrokes sent in the window",
        0,
        col(&mut |s| Some(s.totals.edits as f64)),
    );
    t.row(
        "clients reconnected",
        0,
        col(&mut |s| Some(s.totals.reconnects as f64)),
    );
    t.row(
        "clients that gave up",
        0,
        col(&mut |s| Some(s.totals.failed as f64)),
    );
    for n in 0..NODES {
        t.row(
            &format!("node {} CPU (% of one core)", n + 1),
            1,
            col(&mut |s| s.usage.node_cpu[n]),
        );
    }
    for n in 0..NODES {
        t.row(
            &format!("node {} RSS at end (MiB)", n + 1),
            1,
            col(&mut |s| s.usage.node_rss[n].map(mib)),
        );
    }
    t.row(
        "PostgreSQL CPU, all sessions (%)",
        1,
        col(&mut |s| s.usage.postgres_cpu),
    );
    t.row("Redis CPU (%)", 1, col(&mut |s| s.usage.redis_cpu));
    let generator = col(&mut |s| Some(s.usage.generator_cpu));
    let saturated = generator
        .iter()
        .flatten()
        .any(|&g| g > 85.0 * args.threads as f64);
    t.row("load generator CPU (%)", 1, generator);
    let other = col(&mut |s| Some(s.usage.other_cpu));
    let busy = other.iter().flatten().any(|&o| o > 25.0);
    t.row("other processes' CPU (%)", 1, other);
    let verdicts: Vec<String> = results
        .iter()
        .zip(&under)
        .filter_map(|(r, u)| {
            u.map(|u| {
                let word = if u > 0.0 {
                    "passed"
                } else {
                    "failed: not raised further"
                };
                format!("{} {word}", r.wire.name())
            })
        })
        .collect();
    t.note(&format!(
        "p99 under {} ms, nothing missing, all acknowledged as stored: {}",
        args.ceiling.as_millis(),
        verdicts.join(", ")
    ));
    if saturated {
        t.note("WARNING: the load generator was near its threads' capacity: latency includes its queueing");
    }
    if busy {
        t.note("WARNING: other processes used CPU during the window; the figures are skewed");
    }
    t
}

fn summary(args: &Args, results: &mut [SideResult]) -> Table {
    let wires: Vec<Wire> = results.iter().map(|r| r.wire).collect();
    let mut t = Table::new(
        format!(
            "Summary: {NODES} nodes each side, {} clients in {} rooms, every room on every node",
            clients(args),
            args.rooms
        ),
        &wires,
    );
    let ceilings: Vec<Option<f64>> = results
        .iter_mut()
        .map(|r| r.ceiling(args.ceiling))
        .collect();
    t.row("throughput ceiling (edits/s)", 0, ceilings.clone());
    if let Some(rate) = hocuspocus_ceiling(results, args.ceiling) {
        for p in [50.0, 99.0] {
            t.row(
                &format!("cross-node p{p} at {rate} edits/s (ms)"),
                2,
                results
                    .iter_mut()
                    .map(|r| r.step_at(rate).map(|s| s.totals.latencies.percentile_ms(p)))
                    .collect(),
            );
        }
    }
    if args.recovery {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let kill = |f: &dyn Fn(&KillResult) -> Option<f64>| -> Vec<Option<f64>> {
            results
                .iter()
                .map(|r| r.kill.as_ref().and_then(f))
                .collect()
        };
        t.row(
            "recovery, last victim in sync (s)",
            2,
            kill(&|k| secs(k.figures.all)),
        );
        t.row(
            "recovery, median victim (s)",
            2,
            kill(&|k| secs(k.figures.median)),
        );
        t.row(
            "recovery, last handshake done (s)",
            2,
            kill(&|k| secs(k.figures.resynced)),
        );
        t.row(
            &format!("victims (node {}'s clients)", KILLED + 1),
            0,
            kill(&|k| Some(k.figures.victims as f64)),
        );
        t.row(
            "victims recovered",
            0,
            kill(&|k| Some(k.figures.recovered as f64)),
        );
        t.row(
            "reconnections",
            0,
            kill(&|k| Some(k.totals.reconnects as f64)),
        );
        t.row(
            "clients that gave up",
            0,
            kill(&|k| Some(k.totals.failed as f64)),
        );
        t.row(
            "rooms with differing replicas",
            0,
            kill(&|k| Some(k.diverged as f64)),
        );
        t.note(&format!(
            "recovery: node {} SIGKILLed while all type {} edits/s; its clients move to the next node; a victim is in sync",
            KILLED + 1,
            args.recovery_rate
        ));
        t.note("once it holds a letter every other member typed after the kill, and they hold its letters typed just before and after");
    }
    t.note(&format!(
        "throughput ceiling: the highest step whose cross-node p99 stayed under {} ms with nothing missing and, for weft-server, every client acknowledged as stored (steps rise until",
        args.ceiling.as_millis()
    ));
    t.note("one fails; n/a: the first failed); latency: from the sender producing an insert's update to a client on another");
    t.note(
        "node having merged it (raw updates, a count per author; deletes are sent but not timed)",
    );
    t.note("weft-server acknowledges an edit (Durable) once the PostgreSQL transaction holding it committed (synchronous_commit on),");
    t.note("and relays it to the other nodes through a Redis stream per room");
    t.note(&format!(
        "hocuspocus acknowledges (SyncStatus) once merged in memory, and stores a room's whole state debounced: {} ms after a change,",
        args.debounce_ms
    ));
    t.note(&format!(
        "at most {} ms after the first not stored (its defaults: 2000 and 10000), one node at a time under a Redis lock; a change",
        args.max_debounce_ms
    ));
    t.note("reaches another node as the third message over Redis pub/sub (SyncStep1 published, SyncStep1 back, SyncStep2 with it)");
    t
}

/// Hocuspocus's ceiling, if it was measured and it passed a step.
fn hocuspocus_ceiling(results: &mut [SideResult], ceiling: Duration) -> Option<f64> {
    results
        .iter_mut()
        .find(|r| r.wire == Wire::Hocuspocus)?
        .ceiling(ceiling)
}

fn targets(args: &Args, results: &mut [SideResult]) {
    println!("\nIssue 15's targets beside what was measured (nothing is tuned to them):");
    let verdict = |met: Option<bool>| match met {
        Some(true) => "met",
        Some(false) => "not met",
        None => "not measured",
    };
    let rate = hocuspocus_ceiling(results, args.ceiling);
    let weft = results.iter_mut().position(|r| r.wire == Wire::Weft);
    let weft_p99 = rate.zip(weft).and_then(|(rate, w)| {
        results[w]
            .step_at(rate)
            .map(|s| s.totals.latencies.percentile_ms(99.0))
    });
    println!(
        "- weft-server's cross-node p99 under 25 ms at the load where Hocuspocus's stays under {} ms ({}): {}: {}",
        args.ceiling.as_millis(),
        rate.map_or("no such step".to_owned(), |r| format!("{r} edits/s")),
        weft_p99.map_or("n/a".to_owned(), |p| format!("{p:.2} ms")),
        verdict(weft_p99.map(|p| p < 25.0)),
    );
    let ceilings: Vec<(Wire, Option<f64>)> = results
        .iter_mut()
        .map(|r| (r.wire, r.ceiling(args.ceiling)))
        .collect();
    let of = |wire| ceilings.iter().find(|(w, _)| *w == wire).map(|(_, c)| *c);
    let higher = match (of(Wire::Weft), of(Wire::Hocuspocus)) {
        (Some(w), Some(h)) => Some(w.unwrap_or(0.0) > h.unwrap_or(0.0)),
        _ => None,
    };
    let show = |c: Option<Option<f64>>| match c {
        Some(Some(c)) => format!("{c} edits/s"),
        Some(None) => "no step passed".to_owned(),
        None => "n/a".to_owned(),
    };
    println!(
        "- a higher ceiling than Hocuspocus: {} against {}: {}{}",
        show(of(Wire::Weft)),
        show(of(Wire::Hocuspocus)),
        verdict(higher),
        if of(Wire::Weft).flatten() == args.steps.last().copied() {
            " (weft-server passed the top step: raise --steps to find its own)"
        } else {
            ""
        }
    );
    let recovery = weft
        .and_then(|w| results[w].kill.as_ref())
        .map(|k| k.figures.all);
    println!(
        "- recovery under 3 s: {}: {}",
        match recovery {
            Some(Some(d)) => format!("{:.2} s", d.as_secs_f64()),
            Some(None) => "not every victim recovered".to_owned(),
            None => "n/a".to_owned(),
        },
        verdict(recovery.map(|r| r.is_some_and(|d| d < Duration::from_secs(3)))),
    );
}
