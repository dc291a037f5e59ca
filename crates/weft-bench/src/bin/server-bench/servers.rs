//! Starting, stopping and restarting the three servers as child
//! processes on a chosen loopback port, each with its output in a log
//! file of the run's directory.

use crate::cpus::Placement;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use weft_bench::harness::client::Wire;
use weft_bench::harness::process::Process;

/// Where the servers' programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The release build of `weft-server`.
    pub weft_server: PathBuf,
    /// Flags given to it besides port, data and the per-address cap.
    pub weft_args: Vec<String>,
    /// `crates/weft-bench/server-peers`, with its `node_modules`.
    pub peers: PathBuf,
    /// The servers' cores, if pinned.
    pub placement: Option<Placement>,
}

impl Programs {
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match &self.placement {
            Some(placement) => placement.server_command(program.as_ref()),
            None => Command::new(program),
        }
    }
}

pub struct Server {
    pub wire: Wire,
    pub addr: SocketAddr,
    process: Process,
    /// Holds what the server stores (Hocuspocus: its SQLite file).
    pub data: PathBuf,
}

impl Server {
    /// Starts the server on `port` with `data` as its storage directory
    /// (created if missing) and waits until it accepts connections.
    pub fn start(
        wire: Wire,
        programs: &Programs,
        port: u16,
        data: &Path,
    ) -> Result<Server, String> {
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        let mut command = match wire {
            Wire::Weft => {
                let mut c = programs.command(&programs.weft_server);
                c.arg("--port").arg(port.to_string());
                if !programs.weft_args.iter().any(|a| a == "--memory") {
                    c.arg("--data").arg(data);
                }
                // Every client comes from 127.0.0.1: the cap on peers of a
                // room from one address would stand for one browser.
                c.args(["--max-peers-per-address", "100000"]);
                c.args(&programs.weft_args);
                c
            }
            Wire::Hocuspocus => {
                let mut c = programs.command("node");
                c.arg(programs.peers.join("hocuspocus.mjs"))
                    .env("PORT", port.to_string())
                    .env("DATABASE", data.join("hocuspocus.sqlite"));
                c
            }
            Wire::YWebsocket => {
                let mut c = programs.command("node");
                c.arg(
                    programs
                        .peers
                        .join("node_modules/@y/websocket-server/src/server.js"),
                )
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string());
                c
            }
        };
        command.current_dir(&programs.peers);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let process = Process::start(wire.name(), command, addr, &data.with_extension("log"))?;
        Ok(Server {
            wire,
            addr,
            process,
            data: data.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Stops the server with SIGTERM (each stores what it holds and
    /// exits), or SIGKILL after 10 s.
    pub fn stop(self) -> Result<(), String> {
        self.process.stop()
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Bytes Hocuspocus last stored for `document` (from its log), if any.
    pub fn hocuspocus_stored(&self, document: &str) -> Option<u64> {
        let log = std::fs::read_to_string(self.process.log()).ok()?;
        log.lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["stored"] == document)
            .and_then(|v| v["bytes"].as_u64())
    }
}

/// Bytes of the files in `dir` (not recursing).
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
