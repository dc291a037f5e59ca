//! The server benchmark: weft-server against Hocuspocus (with its SQLite
//! extension) and the y-websocket server, on this machine in one run,
//! driven by native clients that behave like browsers (see `client/`).
//!
//! ```text
//! bash scripts/server-bench.sh [--duration SECS] [--servers weft,hocuspocus,y-websocket] ...
//! ```
//!
//! - Load: many clients over many rooms typing at a steady rate;
//!   edit-to-other-clients latency, server CPU and memory.
//! - Paper room: the automerge-paper history uploaded through a client;
//!   memory while loaded, bytes stored, time for a new client to be in
//!   sync, with the room in memory and after a restart.

mod args;
mod cpus;
mod load;
mod paper;
mod servers;
mod tables;

use paper::PaperDocs;
use servers::{Programs, Server};
use std::process::ExitCode;
use weft_bench::harness::client::Wire;
use weft_bench::harness::process::{self, free_port};
use weft_bench::impls::{WeftDoc, YrsDoc};

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let placement = cpus::Placement::split();
    if let Some(placement) = &placement {
        if let Err(e) = placement.pin_generator() {
            eprintln!("server-bench: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("{}", placement.describe());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args, placement)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts `wire`'s server for scenario `what` on a free port, its data in
/// a folder of its own under `dir`; returns it and its log file.
fn scenario(
    wire: Wire,
    programs: &Programs,
    dir: &std::path::Path,
    what: &str,
) -> Result<(Server, std::path::PathBuf), String> {
    eprintln!("{}: {what}", wire.name());
    let data = dir.join(format!("{}-{what}", wire.name()));
    let port = free_port().map_err(|e| e.to_string())?;
    let server = Server::start(wire, programs, port, &data)?;
    Ok((server, data.with_extension("log")))
}

async fn run(args: args::Args, placement: Option<cpus::Placement>) -> Result<(), String> {
    let programs = programs(&args, placement)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut docs = if args.paper {
        Some(paper_docs(&args)?)
    } else {
        None
    };
    let mut loads = Vec::new();
    let mut papers = Vec::new();
    for &wire in &args.servers {
        if args.load {
            let (server, _) = scenario(wire, &programs, dir.path(), "load")?;
            let result = load::run(wire, server.addr, server.pid(), &args.plan).await;
            let result = result.map_err(|e| format!("{e}\n{}", server.log_tail()));
            server.stop()?;
            loads.push(result);
        }
        if let Some(docs) = &mut docs {
            let (server, log) = scenario(wire, &programs, dir.path(), "paper")?;
            let result = paper::run(server, &programs, docs).await;
            papers.push(result.map_err(|e| format!("{e} (log: {})", log.display())));
        }
    }
    match &programs.placement {
        Some(placement) => println!("\nCores: {}.", placement.describe()),
        None => println!("\nCores: not pinned (one core, or no taskset)."),
    }
    if args.load {
        tables::load(&args, &mut loads).print();
    }
    if let Some(docs) = &docs {
        tables::paper(&args, docs, &papers).print();
    }
    let failures: Vec<String> = args
        .servers
        .iter()
        .zip(
            loads
                .iter()
                .map(|r| r.as_ref().err())
                .chain(papers.iter().map(|r| r.as_ref().err())),
        )
        .filter_map(|(w, e)| e.map(|e| format!("{}: {e}", w.name())))
        .collect();
    process::failed_keeping_logs(dir, &failures)
}

fn programs(args: &args::Args, placement: Option<cpus::Placement>) -> Result<Programs, String> {
    let weft_server = process::weft_server(args.weft_server.as_deref())?;
    process::peers_installed(&args.peers, "scripts/server-bench.sh")?;
    Ok(Programs {
        weft_server,
        weft_args: args.weft_args.clone(),
        peers: args.peers.clone(),
        placement,
    })
}

fn paper_docs(args: &args::Args) -> Result<PaperDocs, String> {
    eprintln!("replaying {}", args.trace.display());
    let trace = weft_traces::load(&args.trace)?;
    if trace.concurrent || trace.has_astral() {
        return Err("the paper room needs a sequential trace without astral characters".to_owned());
    }
    let weft = weft_traces::replay_sequential::<WeftDoc>(&trace).0;
    let yrs = weft_traces::replay_sequential::<YrsDoc>(&trace);
    let yjs = {
        use yrs::{ReadTxn, Transact};
        yrs.doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
    };
    if weft.to_string() != trace.end {
        return Err("the Weft replay does not end with the trace's text".to_owned());
    }
    Ok(PaperDocs {
        weft: Some(weft),
        yjs,
        text: trace.end,
    })
}
