//! Everything specific to SQLite: the file, its settings, the tables' DDL,
//! how a write transaction starts, and which errors leave the file in an
//! unknown state. The queries in the parent module are plain SQL that
//! PostgreSQL runs too; a PostgreSQL backend would replace this file.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

/// The database type the storage runs on.
pub type Db = Sqlite;

/// The database file's name in the data directory.
pub const FILE_NAME: &str = "weft.sqlite3";

/// How long a statement waits for another process's lock before failing
/// with `SQLITE_BUSY` (writers of this process wait their turn in memory).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections for loads: they read in parallel (WAL lets readers run
/// beside the one writer). Writes have a connection of their own.
const READ_CONNECTIONS: u32 = 4;

/// The page cache of each read connection, in KiB: a load reads each page
/// of its room once, so a big cache would only keep what nobody reads
/// again (the write connection keeps SQLite's default of 2 MiB).
const READ_CACHE_KIB: u32 = 256;

/// The newest schema version: the number of steps in [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = 1;

/// Step `i` brings the schema from version `i` to `i + 1`, in the same
/// transaction as the version's update. STRICT tables refuse a value of the
/// wrong type, so every key read back is an integer and every entry bytes.
const MIGRATIONS: &[&[&str]] = &[&[
    // The last key issued per room: record and checkpoint keys come from it,
    // in the transaction that writes them, and it never goes back (compaction
    // deletes entries, never the counter), so a key is never reused.
    "CREATE TABLE rooms (room TEXT PRIMARY KEY NOT NULL, last_key INTEGER NOT NULL) STRICT",
    "CREATE TABLE records (room TEXT NOT NULL, key INTEGER NOT NULL, bytes BLOB NOT NULL, \
     PRIMARY KEY (room, key)) STRICT",
    "CREATE TABLE checkpoints (room TEXT NOT NULL, key INTEGER NOT NULL, bytes BLOB NOT NULL, \
     PRIMARY KEY (room, key)) STRICT",
]];

/// The connections to one file.
#[derive(Clone)]
pub struct Pools {
    /// For loads and counts.
    pub reads: SqlitePool,
    /// For writes: one connection, kept open for good. SQLite drops a
    /// connection's page cache whenever another connection has written the
    /// file; only this one writes, so its cache (and its prepared
    /// statements) stay warm from one group commit to the next.
    pub writes: SqlitePool,
}

impl Pools {
    /// Closes both, once the calls using them are done.
    pub async fn close(&self) {
        self.writes.close().await;
        self.reads.close().await;
    }
}

/// Opens (creating it if missing) the database file `file`: WAL, so readers
/// never block the writer; `synchronous = FULL`, so a commit returns only
/// once the WAL is fsynced (NORMAL would lose the last commits on power
/// loss). Checks that both took effect, brings the schema up to date and
/// counts the open in `meta` (`opens`): a real commit, so a file that
/// cannot be written (disk full, read-only) fails the open, and a reopen
/// after a failed commit succeeds only once writing works again.
///
/// # Errors
/// See [`Refused`].
pub async fn connect(file: &Path) -> Result<Pools, Refused> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT);
    let writes = SqlitePoolOptions::new()
        .max_connections(1)
        // Never closed for being idle or old: a fresh connection starts
        // with a cold cache.
        .idle_timeout(None)
        .max_lifetime(None)
        // A connection whose ROLLBACK failed (SQLite had already rolled
        // back by itself, as it may on SQLITE_FULL) still counts as in a
        // transaction, and would refuse every `BEGIN IMMEDIATE`: replace it.
        // The ping before this hook has run any rollback still queued.
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(options.clone())
        .await?;
    if let Err(refused) = check(&writes).await {
        writes.close().await;
        return Err(refused);
    }
    let reads = match SqlitePoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .connect_with(options.pragma("cache_size", format!("-{READ_CACHE_KIB}")))
        .await
    {
        Ok(reads) => reads,
        Err(e) => {
            writes.close().await;
            return Err(e.into());
        }
    };
    Ok(Pools { reads, writes })
}

/// Asks the write connection to free the pages it caches (after a big
/// write, they are mostly what nobody reads again).
pub async fn release_memory(pools: &Pools) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA shrink_memory")
        .execute(&pools.writes)
        .await
        .map(|_| ())
}

/// Checks the settings on the connection that writes, then migrates.
async fn check(pool: &SqlitePool) -> Result<(), Refused> {
    // `PRAGMA journal_mode = WAL` answers with the mode it got instead of
    // failing (some file systems cannot do WAL): check rather than trust.
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") || synchronous != 2 {
        return Err(Refused::Failed(sqlx::Error::Configuration(
            format!(
                "wanted journal_mode wal and synchronous 2 (FULL), got {mode} and {synchronous}"
            )
            .into(),
        )));
    }
    migrate(pool).await
}

/// Why [`connect`] gave no pools.
pub enum Refused {
    /// SQLite failed.
    Failed(sqlx::Error),
    /// The schema is newer than this server's: its version.
    Newer(i64),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Failed(e)
    }
}

/// Brings the schema to [`SCHEMA_VERSION`] and counts the open, in one
/// transaction.
async fn migrate(pool: &SqlitePool) -> Result<(), Refused> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT",
    )
    .execute(&mut *tx)
    .await?;
    let found: Option<i64> = sqlx::query("SELECT value FROM meta WHERE name = 'schema_version'")
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let found = found.unwrap_or(0);
    let Some(steps) = usize::try_from(found)
        .ok()
        .and_then(|v| MIGRATIONS.get(v..))
    else {
        return Err(Refused::Newer(found));
    };
    for step in steps {
        for &statement in *step {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
    }
    sqlx::query(
        "INSERT INTO meta (name, value) VALUES ('schema_version', $1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(SCHEMA_VERSION)
    .execute(&mut *tx)
    .await?;
    // Changes a row every time: rewriting a row unchanged writes nothing.
    sqlx::query(
        "INSERT INTO meta (name, value) VALUES ('opens', 1) \
         ON CONFLICT (name) DO UPDATE SET value = meta.value + 1",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a write transaction holding the write lock from its first
/// statement, so it never fails half way for want of a lock it could not
/// upgrade to.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether `error`, failing a statement of a write transaction before its
/// commit, leaves the file in an unknown state. Only failures after which
/// SQLite is known to have rolled back cleanly say no; anything else (an
/// I/O error, corruption, a crashed worker, an error not listed) says yes.
pub fn leaves_state_unknown(error: &sqlx::Error) -> bool {
    // Primary result codes (the low byte of an extended code).
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const READONLY: i32 = 8;
    const INTERRUPT: i32 = 9;
    const FULL: i32 = 13;
    const TOOBIG: i32 = 18;
    const CONSTRAINT: i32 = 19;
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => false,
        sqlx::Error::Database(e) => {
            let code = e.code().and_then(|c| c.parse::<i32>().ok());
            !matches!(
                code.map(|c| c & 0xff),
                Some(BUSY | LOCKED | READONLY | INTERRUPT | FULL | TOOBIG | CONSTRAINT)
            )
        }
        _ => true,
    }
}
