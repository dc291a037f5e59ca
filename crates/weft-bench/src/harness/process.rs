//! A server under test as a child process: started with its output in a
//! log file, ready once its port accepts connections, stopped with
//! SIGTERM or killed with SIGKILL, and never left running.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to listen, or to exit once told to.
const PATIENCE: Duration = Duration::from_secs(30);
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// A port nobody listens on now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct Process {
    /// What the server is, in messages.
    name: String,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Runs `command` (its output appended to `log`) and waits until it
    /// accepts connections on `addr`.
    pub fn start(
        name: &str,
        mut command: Command,
        addr: SocketAddr,
        log: &Path,
    ) -> Result<Process, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let mut process = Process {
            name: name.to_owned(),
            addr,
            child,
            log: log.to_owned(),
        };
        process.wait_ready()?;
        Ok(process)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(self.addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited: {status}\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not listen within {PATIENCE:?}", self.name));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM (it stores what it holds and exits),
    /// or SIGKILL after 10 s.
    pub fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_PATIENCE;
        loop {
            if self.child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "{} did not stop within {STOP_PATIENCE:?}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a machine or process dying: nothing is stored or sent
    /// on the way out. Returns once the process is gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A server left running would skew the next one's figures.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `weft-server` as given, or the release build beside this benchmark's
/// binary (built by the same `cargo build --release`).
pub fn weft_server(given: Option<&Path>) -> Result<PathBuf, String> {
    let path = match given {
        Some(path) => path.to_owned(),
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            exe.with_file_name("weft-server")
        }
    };
    if !path.exists() {
        return Err(format!(
            "{} is missing: cargo build --release -p weft-server",
            path.display()
        ));
    }
    Ok(path)
}

/// Checks that the peer servers' npm packages are installed in `peers`
/// (`script` installs them).
pub fn peers_installed(peers: &Path, script: &str) -> Result<(), String> {
    if peers.join("node_modules").exists() {
        Ok(())
    } else {
        Err(format!(
            "{}/node_modules is missing: run {script}",
            peers.display()
        ))
    }
}

/// `Ok` without `failures`; else an error listing them that keeps `dir`
/// (the run's folder, with the servers' logs) for reading.
pub fn failed_keeping_logs(dir: tempfile::TempDir, failures: &[String]) -> Result<(), String> {
    if failures.is_empty() {
        return Ok(());
    }
    let kept = dir.keep();
    Err(format!(
        "{}\n(logs in {})",
        failures.join("\n"),
        kept.display()
    ))
}
