//! The scale benchmark (issue 15): three weft-server nodes on one
//! PostgreSQL and one Redis against three Hocuspocus nodes with
//! `@hocuspocus/extension-redis` and `@hocuspocus/extension-database`
//! storing into the same kind of PostgreSQL, on this machine in one run,
//! driven by native clients that behave like browsers
//! (`weft_bench::harness::client`). Every room has clients on every node.
//!
//! ```text
//! bash scripts/scale-bench.sh [--duration SECS] [--steps 300,600,...] ...
//! ```
//!
//! - Load steps: edits per second over all clients raised step by step;
//!   edit-to-remote latency between clients on different nodes, each
//!   node's CPU and memory, PostgreSQL's, Redis's and the generator's CPU;
//!   the ceiling is the highest step whose cross-node p99 stays under
//!   50 ms.
//! - Recovery: one node killed with SIGKILL; time until all its clients
//!   are on other nodes and in sync again.

mod args;
mod kill;
mod member;
mod phase;
mod recovery;
mod side;
mod steps;
mod tables;
mod usage;

use args::Args;
use side::{Programs, Side};
use std::path::Path;
use std::process::ExitCode;
use tables::SideResult;
use weft_bench::harness::process;
use weft_bench::harness::rng::Rng;
use weft_services::postgres::Cluster;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let programs = Programs::new(&args)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    eprintln!("starting PostgreSQL");
    // One server for both sides, a database each; each side starts a
    // Redis of its own.
    let postgres = Cluster::start();
    let mut results = Vec::new();
    for &wire in &args.sides {
        let database = postgres.create_database(&wire.name().replace('-', "_"));
        let mut result = SideResult {
            wire,
            steps: Vec::new(),
            kill: None,
            kept: tables::Kept::default(),
            error: None,
        };
        let run = run_side(
            &mut result,
            &programs,
            &database,
            &postgres,
            dir.path(),
            &args,
        );
        if let Err(e) = run.await {
            result.error = Some(e);
        }
        results.push(result);
    }
    tables::print(&args, &mut results);
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.wire.name())))
        .collect();
    process::failed_keeping_logs(dir, &failures)
}

/// The size of the database at `url` (`pg_database_size`).
fn database_bytes(postgres: &Cluster, url: &str) -> Option<u64> {
    let name = url.rsplit('/').next().unwrap_or(url);
    let size = postgres.query(name, "SELECT pg_database_size(current_database())");
    size.ok()?.parse().ok()
}

/// Starts `result.wire`'s nodes, runs the steps and the kill, and stops
/// them, filling `result` as it goes.
async fn run_side(
    result: &mut SideResult,
    programs: &Programs,
    database: &str,
    postgres: &Cluster,
    dir: &Path,
    args: &Args,
) -> Result<(), String> {
    let wire = result.wire;
    let empty = database_bytes(postgres, database);
    eprintln!("{}: starting {} nodes", wire.name(), args::NODES);
    let mut side = Side::start(wire, programs, database, dir)?;
    // The same seed each side: the same keystrokes at the same moments.
    let mut rng = Rng::new(args.seed);
    let clients = args.rooms * args.per_room;
    eprintln!("{}: {clients} clients joining", wire.name());
    let mut members = phase::join_all(wire, &side.addrs, args.rooms, args.per_room, &mut rng)
        .await
        .map_err(|e| format!("{e}\n{}", side.log_tails()))?;
    for &rate in &args.steps {
        let (back, mut step) =
            steps::run(members, &side, postgres.pid(), rate, args, &mut rng).await?;
        members = back;
        let passed = step.passed(args.ceiling);
        eprintln!(
            "{}: {rate} edits/s: cross-node p99 {:.2} ms, {} missing, {} failed{}",
            wire.name(),
            step.totals.latencies.percentile_ms(99.0),
            step.totals.missing,
            step.totals.failed,
            step.totals
                .first_error
                .as_ref()
                .map_or(String::new(), |e| format!(" ({e})")),
        );
        result.steps.push(step);
        if !passed {
            break;
        }
    }
    result.kept.redis_bytes = side.redis_bytes().ok();
    result.kept.database_bytes = database_bytes(postgres, database)
        .zip(empty)
        .map(|(now, empty)| now.saturating_sub(empty));
    if args.recovery {
        eprintln!("{}: killing node {}", wire.name(), kill::KILLED + 1);
        let (back, killed) = kill::run(members, &mut side, args.recovery_rate, &mut rng).await?;
        members = back;
        eprintln!(
            "{}: {} of {} victims in sync again",
            wire.name(),
            killed.figures.recovered,
            killed.figures.victims
        );
        result.kill = Some(killed);
    }
    // Clients leave before the nodes stop.
    drop(members);
    side.stop()
}
