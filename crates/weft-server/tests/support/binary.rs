//! The `weft-server` binary as a child process, for tests of whole
//! servers: started with arguments and environment variables, reached at
//! the URL it prints once it listens, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Serving {
    child: Child,
    /// What the server printed: `http://host:port/`.
    pub url: String,
}

impl Serving {
    /// Starts the binary with `args` and `env`; returns once it listens.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Serving {
        let mut child = spawn(args, env, Stdio::null());
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        Serving { child, url }
    }

    /// Its process id.
    #[allow(dead_code)] // not every test crate needs it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it listens on.
    #[allow(dead_code)] // not every test crate needs it
    pub fn addr(&self) -> SocketAddr {
        let host = self.url.trim_start_matches("http://").trim_end_matches('/');
        host.parse()
            .unwrap_or_else(|_| panic!("a URL, not {:?}", self.url))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` and `env` until it exits, for a server that
/// must refuse to start; fails if it is still running after 15 s (it would
/// be serving; a PostgreSQL server lock is waited for 5 s).
#[allow(dead_code)] // not every test crate needs it
pub fn run_until_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = spawn(args, env, Stdio::piped());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("weft-server {args:?} is still running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The binary started with `args` and `env`, its output piped.
fn spawn(args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_weft-server"))
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}
