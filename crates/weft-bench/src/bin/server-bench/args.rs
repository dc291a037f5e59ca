//! The command line.

use crate::load::LoadPlan;
use std::path::PathBuf;
use std::time::Duration;
use weft_bench::harness::client::Wire;
use weft_bench::harness::flags::{count as number, positive};

pub const USAGE: &str = "usage: server-bench [--servers weft,hocuspocus,y-websocket] \
[--rooms N] [--clients-per-room N] [--rate EDITS_PER_S] [--warmup SECS] [--duration SECS] \
[--threads N] [--peers DIR] [--trace FILE] [--weft-server PATH] [--weft-arg ARG]... \
[--skip-load] [--skip-paper]";

pub struct Args {
    pub servers: Vec<Wire>,
    pub plan: LoadPlan,
    /// Worker threads of the load generator.
    pub threads: usize,
    /// `crates/weft-bench/server-peers`.
    pub peers: PathBuf,
    /// The automerge-paper trace.
    pub trace: PathBuf,
    /// Another build of weft-server than the one beside this binary.
    pub weft_server: Option<PathBuf>,
    /// More flags for weft-server (e.g. `--memory`).
    pub weft_args: Vec<String>,
    pub load: bool,
    pub paper: bool,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut parsed = Args {
        servers: vec![Wire::Weft, Wire::Hocuspocus, Wire::YWebsocket],
        plan: LoadPlan {
            rooms: 100,
            per_room: 10,
            rate: 2.0,
            warmup: Duration::from_secs(5),
            duration: Duration::from_secs(20),
            seed: 13,
        },
        threads: 1,
        peers: crate_dir.join("server-peers"),
        trace: crate_dir.join("../weft-traces/traces/automerge-paper.json.gz"),
        weft_server: None,
        weft_args: Vec::new(),
        load: true,
        paper: true,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--servers" => {
                parsed.servers = value()?
                    .split(',')
                    .map(|s| match s {
                        "weft" | "weft-server" => Ok(Wire::Weft),
                        "hocuspocus" => Ok(Wire::Hocuspocus),
                        "y-websocket" => Ok(Wire::YWebsocket),
                        other => Err(format!("unknown server {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--rooms" => parsed.plan.rooms = number(&flag, &value()?)?,
            "--clients-per-room" => parsed.plan.per_room = number(&flag, &value()?)?,
            "--rate" => parsed.plan.rate = positive(&flag, &value()?)?,
            "--warmup" => parsed.plan.warmup = Duration::from_secs_f64(positive(&flag, &value()?)?),
            "--duration" => {
                parsed.plan.duration = Duration::from_secs_f64(positive(&flag, &value()?)?)
            }
            "--threads" => parsed.threads = number(&flag, &value()?)?,
            "--peers" => parsed.peers = value()?.into(),
            "--trace" => parsed.trace = value()?.into(),
            "--weft-server" => parsed.weft_server = Some(value()?.into()),
            "--weft-arg" => parsed.weft_args.push(value()?),
            "--skip-load" => parsed.load = false,
            "--skip-paper" => parsed.paper = false,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    if parsed.plan.per_room < 2 {
        return Err("--clients-per-room must be at least 2 (latency is to the others)".to_owned());
    }
    Ok(parsed)
}
