//! The command line.

use std::path::PathBuf;
use std::time::Duration;
use weft_bench::harness::client::Wire;
use weft_bench::harness::flags::{count as number, positive, whole};

pub const USAGE: &str = "usage: scale-bench [--sides weft,hocuspocus] [--rooms N] \
[--clients-per-room N] [--steps EDITS_PER_S,...] [--warmup SECS] [--duration SECS] \
[--ceiling-ms MS] [--recovery-rate EDITS_PER_S] [--skip-recovery] \
[--hocuspocus-debounce MS] [--hocuspocus-max-debounce MS] [--threads N] [--peers DIR] \
[--weft-server PATH] [--weft-arg ARG]... [--seed N]";

pub struct Args {
    pub sides: Vec<Wire>,
    pub rooms: usize,
    /// Clients per room, spread over the nodes in turn.
    pub per_room: usize,
    /// Edits per second over all clients, one load step each, rising.
    pub steps: Vec<f64>,
    /// Typing before each step's measured window.
    pub warmup: Duration,
    /// Each step's measured window.
    pub duration: Duration,
    /// The step passes while the cross-node p99 stays under this.
    pub ceiling: Duration,
    /// Edits per second over all clients while a node is killed.
    pub recovery_rate: f64,
    pub recovery: bool,
    /// Hocuspocus stores a document this long after its last change...
    pub debounce_ms: u64,
    /// ...and at most this long after the first change not stored.
    pub max_debounce_ms: u64,
    /// Worker threads of the load generator.
    pub threads: usize,
    /// `crates/weft-bench/server-peers`.
    pub peers: PathBuf,
    /// Another build of weft-server than the one beside this binary.
    pub weft_server: Option<PathBuf>,
    /// More flags for each weft-server node.
    pub weft_args: Vec<String>,
    pub seed: u64,
}

/// Nodes of each side.
pub const NODES: usize = 3;

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut parsed = Args {
        sides: vec![Wire::Weft, Wire::Hocuspocus],
        rooms: 100,
        per_room: 6,
        // About half again each step: the ceiling within a third.
        steps: vec![
            200.0, 300.0, 450.0, 700.0, 1000.0, 1500.0, 2200.0, 3300.0, 5000.0,
        ],
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(8),
        ceiling: Duration::from_millis(50),
        recovery_rate: 200.0,
        recovery: true,
        // Hocuspocus's defaults are 2,000 and 10,000 ms: a node that dies
        // may take up to 10 s of edits with it. A room's state at most a
        // second old in PostgreSQL is nearer what Weft stores (every edit,
        // before acknowledging it) without a store per keystroke.
        debounce_ms: 200,
        max_debounce_ms: 1000,
        // Tens of thousands of deliveries a second at the top steps: one
        // thread would queue them and add its own delay to the nodes'.
        threads: 2,
        peers: crate_dir.join("server-peers"),
        weft_server: None,
        weft_args: Vec::new(),
        seed: 15,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sides" => {
                parsed.sides = value()?
                    .split(',')
                    .map(|s| match s {
                        "weft" | "weft-server" => Ok(Wire::Weft),
                        "hocuspocus" => Ok(Wire::Hocuspocus),
                        other => Err(format!("unknown side {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--rooms" => parsed.rooms = number(&flag, &value()?)?,
            "--clients-per-room" => parsed.per_room = number(&flag, &value()?)?,
            "--steps" => {
                parsed.steps = value()?
                    .split(',')
                    .map(|s| positive(&flag, s))
                    .collect::<Result<_, _>>()?
            }
            "--warmup" => parsed.warmup = seconds(&flag, &value()?)?,
            "--duration" => parsed.duration = seconds(&flag, &value()?)?,
            "--ceiling-ms" => {
                parsed.ceiling = Duration::from_secs_f64(positive(&flag, &value()?)? / 1000.0)
            }
            "--recovery-rate" => parsed.recovery_rate = positive(&flag, &value()?)?,
            "--skip-recovery" => parsed.recovery = false,
            "--hocuspocus-debounce" => parsed.debounce_ms = whole(&flag, &value()?)?,
            "--hocuspocus-max-debounce" => parsed.max_debounce_ms = whole(&flag, &value()?)?,
            "--threads" => parsed.threads = number(&flag, &value()?)?,
            "--peers" => parsed.peers = value()?.into(),
            "--weft-server" => parsed.weft_server = Some(value()?.into()),
            "--weft-arg" => parsed.weft_args.push(value()?),
            "--seed" => parsed.seed = whole(&flag, &value()?)?,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    if parsed.per_room < 2 {
        return Err("--clients-per-room must be at least 2 (every room spans nodes)".to_owned());
    }
    if parsed.steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--steps must rise".to_owned());
    }
    Ok(parsed)
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    positive(flag, value).map(Duration::from_secs_f64)
}
