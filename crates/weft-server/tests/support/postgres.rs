//! Throwaway PostgreSQL servers for tests: `initdb` in a temporary
//! directory, `pg_ctl` on a free loopback port, as the `postgres` user when
//! the tests run as root (PostgreSQL refuses to run as root). Never a
//! server the machine runs.
//!
//! One [`shared`] server per test binary, each test in a database of its
//! own ([`Database::create`]), stopped when the binary exits; a test that
//! stops and starts its server owns one ([`Cluster::start`]), stopped when
//! dropped, also when the test panics.

#![allow(dead_code)] // Each test binary uses part of it.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        self.url(database).parse().expect("a test URL parses")
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

/// A database of its own on a server, for one test.
pub struct Database {
    pub url: String,
    pub name: String,
}

impl Database {
    /// A fresh database on `cluster`, named after `test` and numbered.
    pub async fn create(cluster: &Cluster, test: &str) -> Database {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name: String = format!("{test}_{n}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = name.to_ascii_lowercase();
        let mut admin = PgConnection::connect_with(&cluster.options("postgres"))
            .await
            .expect("the test server takes connections");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await.unwrap();
        Database {
            url: cluster.url(&name),
            name,
        }
    }

    /// Waits until no `weft-server` session is connected to it: a killed
    /// server's session ends, and its lock is released, once the database
    /// reads the closed socket.
    #[allow(dead_code)] // not every test crate needs it
    pub async fn until_no_server(&self) {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let sessions: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'weft-server'",
            )
            .bind(&self.name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if sessions == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a session stayed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        conn.close().await.unwrap();
    }
}

/// The server every test of this binary shares, started on first use and
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

/// A port nothing listens on now (the kernel's pick for port 0).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}
