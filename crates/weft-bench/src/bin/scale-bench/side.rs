//! One side of the comparison: three nodes of weft-server, or of
//! Hocuspocus with its Redis and Database extensions, each a child process
//! on a free loopback port, all on one PostgreSQL database and one Redis
//! of their own.

use crate::args::{Args, NODES};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use weft_bench::harness::client::Wire;
use weft_bench::harness::process::{self, free_port, Process};
use weft_services::redis::Redis;

/// Where the nodes' programs are, and how they are set up.
pub struct Programs {
    /// The release build of `weft-server`.
    pub weft_server: PathBuf,
    pub weft_args: Vec<String>,
    /// `crates/weft-bench/server-peers`, with its `node_modules`.
    pub peers: PathBuf,
    pub debounce_ms: u64,
    pub max_debounce_ms: u64,
}

impl Programs {
    pub fn new(args: &Args) -> Result<Programs, String> {
        let weft_server = if args.sides.contains(&Wire::Weft) {
            process::weft_server(args.weft_server.as_deref())?
        } else {
            PathBuf::new()
        };
        if args.sides.contains(&Wire::Hocuspocus) {
            process::peers_installed(&args.peers, "scripts/scale-bench.sh")?;
        }
        Ok(Programs {
            weft_server,
            weft_args: args.weft_args.clone(),
            peers: args.peers.clone(),
            debounce_ms: args.debounce_ms,
            max_debounce_ms: args.max_debounce_ms,
        })
    }
}

pub struct Side {
    /// Every node's address, in the order clients rotate over them.
    pub addrs: Vec<SocketAddr>,
    /// The nodes still running (a killed one is `None`).
    nodes: Vec<Option<Process>>,
    redis: Redis,
    /// Redis's memory before the nodes started.
    redis_baseline: u64,
}

impl Side {
    /// Starts a Redis of its own and the nodes on `database`, one after
    /// the other (each creates its tables on start-up), with their logs
    /// in `dir`.
    pub fn start(
        wire: Wire,
        programs: &Programs,
        database: &str,
        dir: &Path,
    ) -> Result<Side, String> {
        let redis = Redis::start();
        let redis_baseline = redis.used_memory()?;
        let mut side = Side {
            addrs: Vec::new(),
            nodes: Vec::new(),
            redis,
            redis_baseline,
        };
        for n in 0..NODES {
            let port = free_port().map_err(|e| e.to_string())?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let command = node_command(wire, programs, port, database, &side.redis.url());
            let log = dir.join(format!("{}-node{}.log", wire.name(), n + 1));
            let name = format!("{} node {}", wire.name(), n + 1);
            side.nodes
                .push(Some(Process::start(&name, command, addr, &log)?));
            side.addrs.push(addr);
        }
        Ok(side)
    }

    /// Each node's pid, `None` for a killed one.
    pub fn pids(&self) -> Vec<Option<u32>> {
        self.nodes
            .iter()
            .map(|n| n.as_ref().map(Process::pid))
            .collect()
    }

    pub fn redis_pid(&self) -> Option<u32> {
        self.redis.pid()
    }

    /// Bytes of memory Redis uses now beyond what it used before the nodes
    /// started.
    pub fn redis_bytes(&self) -> Result<u64, String> {
        Ok(self
            .redis
            .used_memory()?
            .saturating_sub(self.redis_baseline))
    }

    /// SIGKILL to `node`; returns once it is gone.
    pub fn kill(&mut self, node: usize) {
        if let Some(process) = self.nodes[node].take() {
            process.kill();
        }
    }

    /// The last lines each node wrote, for error messages.
    pub fn log_tails(&self) -> String {
        self.nodes
            .iter()
            .flatten()
            .map(|p| format!("{}:\n{}", p.log().display(), p.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops every node with SIGTERM, then Redis.
    pub fn stop(self) -> Result<(), String> {
        let mut first_error = None;
        for process in self.nodes.into_iter().flatten() {
            if let Err(e) = process.stop() {
                first_error.get_or_insert(e);
            }
        }
        drop(self.redis);
        first_error.map_or(Ok(()), Err)
    }
}

fn node_command(
    wire: Wire,
    programs: &Programs,
    port: u16,
    database: &str,
    redis: &str,
) -> Command {
    match wire {
        Wire::Weft => {
            let mut c = Command::new(&programs.weft_server);
            c.arg("--port")
                .arg(port.to_string())
                .args(["--postgres", database, "--redis", redis])
                // Every client comes from 127.0.0.1: the cap on peers of a
                // room from one address would stand for one browser.
                .args(["--max-peers-per-address", "100000"])
                .args(&programs.weft_args);
            c
        }
        _ => {
            let mut c = Command::new("node");
            c.arg(programs.peers.join("hocuspocus-cluster.mjs"))
                .current_dir(&programs.peers)
                .env("PORT", port.to_string())
                .env("REDIS", redis)
                .env("DATABASE", database)
                .env("DEBOUNCE", programs.debounce_ms.to_string())
                .env("MAX_DEBOUNCE", programs.max_debounce_ms.to_string());
            c
        }
    }
}
