//! Throwaway PostgreSQL servers: `initdb` in a temporary directory,
//! `pg_ctl` on a free loopback port, as the `postgres` user when run as
//! root (PostgreSQL refuses to run as root).
//!
//! One [`shared`] server per process, each test in a database of its own
//! ([`Cluster::create_database`]), stopped when the process exits; a test
//! that stops and starts its server owns one ([`Cluster::start`]), stopped
//! when dropped, also when the test panics.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use tempfile::TempDir;

/// The superuser `initdb` makes (`-U`), trusted on loopback.
const USER: &str = "weft";

/// A PostgreSQL server of the test's own.
pub struct Cluster {
    /// Holds `data/` (the cluster), the socket and `log`.
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
}

impl Cluster {
    /// `initdb` and start on a free port.
    ///
    /// # Panics
    /// PostgreSQL is not installed (`scripts/setup.sh` installs it), or does
    /// not start; the message has its log.
    pub fn start() -> Cluster {
        let bin = binaries();
        let dir = tempfile::Builder::new()
            .prefix("weft-pg-")
            .tempdir()
            .expect("a temporary directory");
        give_to_postgres(dir.path());
        let data = dir.path().join("data");
        run(
            &bin,
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                USER.as_ref(),
                // A throwaway cluster: its own files need not be fsynced.
                "--no-sync".as_ref(),
            ],
        );
        let mut cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            running: false,
        };
        cluster.start_again();
        cluster
    }

    /// Starts the stopped server again, on the same data and port.
    pub fn start_again(&mut self) {
        let data = self.dir.path().join("data");
        let settings = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                settings.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        self.running = true;
    }

    /// Stops the server (fast shutdown: sessions are ended, nothing
    /// committed is lost).
    pub fn stop(&mut self) {
        let data = self.dir.path().join("data");
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        self.running = false;
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's pid while the server runs (a benchmark adds up
    /// the CPU time of it and its children, the sessions).
    pub fn pid(&self) -> Option<u32> {
        let file = self.dir.path().join("data/postmaster.pid");
        let text = std::fs::read_to_string(file).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The first column of the first row `sql` returns in `database`, as
    /// text (`psql -At`).
    ///
    /// # Errors
    /// `psql` fails: its message.
    pub fn query(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", database, "-At", "-c", sql])
            .output()
            .map_err(|e| format!("psql does not run: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.lines().next().unwrap_or("").to_owned())
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `name` (plain ASCII letters, digits and `_`) and returns
    /// its URL.
    ///
    /// # Panics
    /// The name is not plain, or `createdb` fails.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "a plain database name: {name:?}"
        );
        let port = self.port.to_string();
        run(
            &self.bin,
            "createdb",
            &[
                "-h".as_ref(),
                "127.0.0.1".as_ref(),
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                USER.as_ref(),
                name.as_ref(),
            ],
        );
        self.url(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            // Not `stop`: it panics on failure, and this may run while a
            // test panics already.
            let data = self.dir.path().join("data");
            let _ = as_postgres(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

/// The server every test of this process shares, started on first use and
/// stopped when the binary exits (a static is never dropped, so an
/// `atexit` hook stops it; the test harness exits through `exit` whether
/// tests passed or failed).
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = Cluster::start();
        let data = cluster.dir.path().join("data");
        *AT_EXIT.lock().unwrap() = Some((cluster.bin.join("pg_ctl"), data));
        // SAFETY: registers a plain function with no captured state.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(stop_shared);
        }
        cluster
    })
}

/// What `stop_shared` stops: `pg_ctl` and the data directory.
static AT_EXIT: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);

extern "C" fn stop_shared() {
    let Ok(mut at_exit) = AT_EXIT.lock() else {
        return;
    };
    if let Some((pg_ctl, data)) = at_exit.take() {
        let _ = as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        // The temporary directory is never dropped either.
        if let Some(dir) = data.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The newest PostgreSQL's `bin` directory under /usr/lib/postgresql.
fn binaries() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("PostgreSQL is not installed ({e}): run scripts/setup.sh"));
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .expect("no /usr/lib/postgresql/*/bin/initdb: run scripts/setup.sh")
}

/// `program`, run as the `postgres` user if the tests run as root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}

/// Lets the `postgres` user write `dir` when running as root.
fn give_to_postgres(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .arg("postgres")
            .arg(dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown postgres {}", dir.display());
    }
}

/// Runs `bin/tool args`; panics with its output (and the server's log) if
/// it fails.
fn run(bin: &Path, tool: &str, args: &[&std::ffi::OsStr]) {
    let out = as_postgres(&bin.join(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} does not run: {e}"));
    if !out.status.success() {
        let log = args
            .windows(2)
            .find(|w| w[0] == "-l")
            .and_then(|w| std::fs::read_to_string(w[1]).ok())
            .unwrap_or_default();
        panic!(
            "{tool} failed ({}):\n{}\n{}\n{log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
