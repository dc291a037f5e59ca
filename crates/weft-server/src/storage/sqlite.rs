//! Everything specific to SQLite: the file's settings, the tables' DDL,
//! how transactions start, and which errors leave the file in an unknown
//! state. The queries are shared with PostgreSQL (`backend.rs`).

use super::backend::{Backend, Pools, Refused};
use super::priority;
use super::writer::Writer;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

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

/// Opens (creating it if missing) the database file `file`: WAL, so readers
/// never block the writer; `synchronous = FULL`, so a commit returns only
/// once the WAL is fsynced (NORMAL would lose the last commits on power
/// loss). Checks that both took effect, then migrates (which counts the
/// open: see [`Backend::migrate`]).
///
/// # Errors
/// See [`Refused`].
pub async fn connect(file: &Path) -> Result<Pools<Sqlite>, Refused> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    priority::lower_sqlite_threads();
    if let Err(refused) = check(&mut conn).await {
        let _ = conn.close().await;
        return Err(refused);
    }
    let reads = match SqlitePoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .after_connect(|_, _| {
            Box::pin(async {
                priority::lower_sqlite_threads();
                Ok(())
            })
        })
        .connect_with(
            options
                .clone()
                .pragma("cache_size", format!("-{READ_CACHE_KIB}")),
        )
        .await
    {
        Ok(reads) => reads,
        Err(e) => {
            let _ = conn.close().await;
            return Err(e.into());
        }
    };
    // Kept open for good: a fresh connection starts with a cold cache. An
    // unusable one is replaced: it is the same file, so nothing is missed.
    let writer = Writer::new(conn, Some(options));
    Ok(Pools { reads, writer })
}

/// Asks the write connection to free the pages it caches (after a big
/// write, they are mostly what nobody reads again).
pub async fn release_memory(pools: &Pools<Sqlite>) -> Result<(), sqlx::Error> {
    let mut conn = pools.writer.connection().await?;
    sqlx::query("PRAGMA shrink_memory")
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Checks the settings on the connection that writes, then migrates.
async fn check(conn: &mut SqliteConnection) -> Result<(), Refused> {
    // `PRAGMA journal_mode = WAL` answers with the mode it got instead of
    // failing (some file systems cannot do WAL): check rather than trust.
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") || synchronous != 2 {
        return Err(Refused::Failed(sqlx::Error::Configuration(
            format!(
                "wanted journal_mode wal and synchronous 2 (FULL), got {mode} and {synchronous}"
            )
            .into(),
        )));
    }
    Sqlite::migrate(conn).await
}

impl Backend for Sqlite {
    const META_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS meta \
        (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT";

    /// STRICT tables refuse a value of the wrong type, so every key read
    /// back is an integer and every entry bytes.
    const MIGRATIONS: &'static [&'static [&'static str]] = &[&[
        // The last key issued per room: record and checkpoint keys come
        // from it, in the transaction that writes them, and it never goes
        // back (compaction deletes entries, never the counter), so a key
        // is never reused.
        "CREATE TABLE rooms (room TEXT PRIMARY KEY NOT NULL, last_key INTEGER NOT NULL) STRICT",
        "CREATE TABLE records (room TEXT NOT NULL, key INTEGER NOT NULL, bytes BLOB NOT NULL, \
         PRIMARY KEY (room, key)) STRICT",
        "CREATE TABLE checkpoints (room TEXT NOT NULL, key INTEGER NOT NULL, bytes BLOB NOT NULL, \
         PRIMARY KEY (room, key)) STRICT",
    ]];

    /// A deferred transaction: in WAL mode its first read takes a snapshot
    /// that later reads keep.
    async fn begin_read(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin().await
    }

    /// Holds the write lock from its first statement, so it never fails
    /// half way for want of a lock it could not upgrade to.
    async fn begin_write(
        conn: &mut SqliteConnection,
    ) -> Result<Transaction<'_, Sqlite>, sqlx::Error> {
        conn.begin_with("BEGIN IMMEDIATE").await
    }

    /// `BEGIN IMMEDIATE`: other processes on the file wait.
    async fn begin_migration(
        conn: &mut SqliteConnection,
    ) -> Result<Transaction<'_, Sqlite>, sqlx::Error> {
        conn.begin_with("BEGIN IMMEDIATE").await
    }

    /// Only failures after which SQLite is known to have rolled back
    /// cleanly say no; anything else (an I/O error, corruption, a crashed
    /// worker, an error not listed) says yes.
    fn leaves_state_unknown(error: &sqlx::Error) -> bool {
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

    /// Always: whatever made the commit fail (an fsync, above all) may have
    /// happened in part, and after a failed fsync the kernel may have
    /// dropped pages it had accepted earlier.
    fn commit_leaves_state_unknown(_: &sqlx::Error) -> bool {
        true
    }
}
