//! Starting, stopping and restarting the three servers as child
//! processes on a chosen loopback port, each with its output in a log
//! file of the run's directory.

use crate::client::Wire;
use crate::cpus::Placement;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    child: Child,
    /// Holds what the server stores (Hocuspocus: its SQLite file).
    pub data: PathBuf,
    log: PathBuf,
}

pub fn name(wire: Wire) -> &'static str {
    match wire {
        Wire::Weft => "weft-server",
        Wire::Hocuspocus => "hocuspocus",
        Wire::YWebsocket => "y-websocket",
    }
}

/// A port nobody listens on now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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
        let log = data.with_extension("log");
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
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
        let child = command
            .current_dir(&programs.peers)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", name(wire)))?;
        let mut server = Server {
            wire,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            data: data.to_owned(),
            log,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited: {status}\n{}",
                    name(self.wire),
                    self.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not listen within 30 s", name(self.wire)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM (each stores what it holds and
    /// exits), or SIGKILL after 10 s.
    pub fn stop(mut self) -> Result<(), String> {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!("{} did not stop within 10 s", name(self.wire)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Bytes Hocuspocus last stored for `document` (from its log), if any.
    pub fn hocuspocus_stored(&self, document: &str) -> Option<u64> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        log.lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["stored"] == document)
            .and_then(|v| v["bytes"].as_u64())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server left running would skew the next one's figures.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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
