//! Throwaway Redis servers: `redis-server` daemonized on a free loopback
//! port with a temporary directory, no persistence, stopped when dropped
//! (also when the test panics), by its own pid only.

use crate::free_port;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long `redis-server` may take to answer, or to exit once told to.
const PATIENCE: Duration = Duration::from_secs(10);

/// A Redis server of the test's own.
pub struct Redis {
    /// Holds `pid` and `log`.
    dir: TempDir,
    port: u16,
    /// The daemon's pid while it runs.
    pid: Option<u32>,
}

impl Redis {
    /// Starts a server on a free port.
    ///
    /// # Panics
    /// `redis-server` is not installed (`scripts/setup.sh` installs it), or
    /// does not start; the message has its log.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("weft-redis-")
            .tempdir()
            .expect("a temporary directory");
        let mut redis = Redis {
            dir,
            port: free_port(),
            pid: None,
        };
        redis.start_again();
        redis
    }

    /// Starts the stopped server again on the same port, empty (nothing is
    /// persisted, as a Redis restarted without persistence).
    pub fn start_again(&mut self) {
        assert!(self.pid.is_none(), "Redis runs already");
        let dir = self.dir.path();
        let port = self.port.to_string();
        let status = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .args(["--daemonize", "yes"])
            .arg("--pidfile")
            .arg(self.pidfile())
            .arg("--logfile")
            .arg(self.logfile())
            .status()
            .unwrap_or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    panic!("redis-server is not installed: run scripts/setup.sh")
                }
                _ => panic!("redis-server does not run: {e}"),
            });
        if !status.success() {
            panic!("redis-server failed ({status}):\n{}", self.log());
        }
        let deadline = Instant::now() + PATIENCE;
        while !(self.pidfile().exists() && self.answers()) {
            if Instant::now() > deadline {
                panic!(
                    "redis-server did not start on port {}:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = std::fs::read_to_string(self.pidfile()).expect("the pid file");
        self.pid = Some(pid.trim().parse().expect("a pid"));
    }

    /// Stops the server (SIGTERM: it closes its clients' connections and
    /// keeps nothing) and waits until it exited.
    pub fn stop(&mut self) {
        let pid = self.pid.take().expect("Redis runs");
        signal(pid, "TERM");
        let deadline = Instant::now() + PATIENCE;
        while alive(pid) {
            if Instant::now() > deadline {
                signal(pid, "KILL");
                panic!("redis-server {pid} did not stop:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server and starts it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The daemon's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// `redis://127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.logfile()).unwrap_or_default()
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("pid")
    }

    fn logfile(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// Runs `command` (an inline command: words separated by spaces, none
    /// with a space in it) and returns its reply if it is a simple string,
    /// an integer, or a bulk string's text (a plain RESP exchange, no
    /// client crate).
    ///
    /// # Errors
    /// Redis cannot be reached, or answers with an error or another kind
    /// of reply.
    pub fn command(&self, command: &str) -> Result<String, String> {
        use std::io::{BufRead, BufReader, Read, Write};
        let mut socket =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        socket
            .set_read_timeout(Some(PATIENCE))
            .map_err(|e| e.to_string())?;
        socket
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(socket);
        let mut first = String::new();
        reader.read_line(&mut first).map_err(|e| e.to_string())?;
        let first = first.trim_end();
        if let Some(value) = first.strip_prefix(':').or(first.strip_prefix('+')) {
            return Ok(value.to_owned());
        }
        let Some(len) = first
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return Err(format!("{command}: {first}"));
        };
        let mut body = vec![0; len];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        String::from_utf8(body).map_err(|e| e.to_string())
    }

    /// Bytes of memory Redis uses (`used_memory` of `INFO memory`).
    ///
    /// # Errors
    /// As [`Redis::command`].
    pub fn used_memory(&self) -> Result<u64, String> {
        let info = self.command("INFO memory")?;
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("no used_memory in {info}"))
    }

    /// Whether it answers `PING` (a plain RESP exchange, no client crate).
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut socket) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0; 7];
        socket.write_all(b"PING\r\n").is_ok()
            && socket.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // Not `stop`: it panics on failure, and this may run while a test
        // panics already. A throwaway server needs no graceful shutdown.
        if let Some(pid) = self.pid.take() {
            signal(pid, "KILL");
        }
    }
}

/// Sends SIGname to `pid` (ours: read from the server's own pid file).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// Whether `pid` still runs: a daemon is not our child, so once exited it
/// is reaped by someone else, or stays a zombie where nobody reaps.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state ...`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
