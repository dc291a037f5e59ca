//! Everything specific to PostgreSQL: the session's settings, the tables'
//! DDL, how transactions start, and which errors leave the database's
//! state unknown. The queries are shared with SQLite (`backend.rs`).
//!
//! Several servers may share one database (each keeps its own replicas
//! and commits its own groups): migrations take an advisory lock, and
//! writes to one room take turns on the room's counter row.

use super::backend::{Backend, Pools, Refused};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres, Transaction};
use std::time::Duration;

/// How long opening waits for the first connection before giving up (a
/// refused connection is an error at once).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a call waits for a pooled connection, connecting included.
/// Past it the call fails: a write then leaves the state unknown (see
/// [`Backend::leaves_state_unknown`]), a load or count is refused.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections for loads, counts and `/health`'s probe; writes have one
/// of their own.
const READ_CONNECTIONS: u32 = 4;

/// The advisory lock migrations hold, so servers starting at once on one
/// database migrate one after the other ("weft" in ASCII).
const MIGRATION_LOCK: i64 = 0x7765_6674;

/// Connects to the database: one connection of its own first, so that a
/// refused connection, a failed authentication or a missing database is
/// reported as it is (a pool would retry until it timed out); checks
/// that commits are durable, migrates (which counts the open, a real
/// commit: see [`Backend::migrate`]), then opens the pools.
///
/// Every session runs with `synchronous_commit = on`, whatever the
/// server's default: a commit returns only once its WAL is flushed.
///
/// # Errors
/// See [`Refused`].
pub async fn connect(options: &PgConnectOptions) -> Result<Pools<Postgres>, Refused> {
    let options = options
        .clone()
        .application_name("weft-server")
        .options([("synchronous_commit", "on")]);
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {CONNECT_TIMEOUT:?}"),
            ))
        })??;
    let checked = match check(&mut conn).await {
        Ok(()) => Postgres::migrate(&mut conn).await,
        Err(refused) => Err(refused),
    };
    // Best effort: the pools open their own connections.
    let _ = conn.close().await;
    checked?;
    let writes = PgPoolOptions::new()
        .max_connections(1)
        // One connection for the pool's life: never closed for being idle
        // or old, and not pinged before each group (a round trip each). So
        // a connection that was lost fails the next write's BEGIN instead
        // of being replaced unnoticed, and the storage is reopened and
        // every room reloaded: the server that answers now may not hold
        // what the lost one acknowledged (a failover to a replica that
        // lacked the last commits).
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await?;
    let reads = PgPoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(Pools { reads, writes })
}

/// Refuses a server that would acknowledge a commit before it is durable.
async fn check(conn: &mut PgConnection) -> Result<(), Refused> {
    let synchronous: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&mut *conn)
        .await?;
    let fsync: String = sqlx::query_scalar("SHOW fsync")
        .fetch_one(&mut *conn)
        .await?;
    if synchronous != "on" || fsync != "on" {
        return Err(Refused::Failed(sqlx::Error::Configuration(
            format!("wanted synchronous_commit on and fsync on, got {synchronous} and {fsync}")
                .into(),
        )));
    }
    Ok(())
}

/// Whether the server's answer `code` (a SQLSTATE) says the session ended
/// or the server itself failed, rather than that it rolled the
/// transaction back: a connection exception (08), an operator or crash
/// shutdown (57P), a system error such as an I/O error (58), an internal
/// error such as corruption (XX).
fn session_failed(code: &str) -> bool {
    ["08", "57P", "58", "XX"]
        .iter()
        .any(|c| code.starts_with(c))
}

impl Backend for Postgres {
    const META_TABLE: &'static str = "CREATE TABLE IF NOT EXISTS meta \
        (name TEXT COLLATE \"C\" PRIMARY KEY, value BIGINT NOT NULL)";

    /// Room names compare byte by byte (`COLLATE "C"`): no locale to
    /// change under the indexes when the operating system's collation
    /// does.
    const MIGRATIONS: &'static [&'static [&'static str]] = &[&[
        // The last key issued per room: see the SQLite schema.
        "CREATE TABLE rooms (room TEXT COLLATE \"C\" PRIMARY KEY, last_key BIGINT NOT NULL)",
        "CREATE TABLE records (room TEXT COLLATE \"C\" NOT NULL, key BIGINT NOT NULL, \
         bytes BYTEA NOT NULL, PRIMARY KEY (room, key))",
        "CREATE TABLE checkpoints (room TEXT COLLATE \"C\" NOT NULL, key BIGINT NOT NULL, \
         bytes BYTEA NOT NULL, PRIMARY KEY (room, key))",
    ]];

    /// REPEATABLE READ: every statement sees the snapshot of the first
    /// (READ COMMITTED, the default, takes one per statement, and another
    /// server's compaction could commit between two).
    async fn begin_read(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
    }

    /// READ COMMITTED: each write's counter upsert locks its room's row,
    /// which is all the writes need.
    async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin().await
    }

    /// Waits for any other server's migration to commit first (the lock is
    /// released with the transaction, also if the connection is lost).
    async fn begin_migration(
        conn: &mut PgConnection,
    ) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Nothing is committed before COMMIT, so any error the server
    /// answered with left its transaction rolled back, except those
    /// saying the session or the server failed. A lost connection
    /// (an I/O error, a pool that could not connect in time) says yes too:
    /// the database that answers next may not be the one that acknowledged
    /// the last commits, so every room must be loaded again.
    fn leaves_state_unknown(error: &sqlx::Error) -> bool {
        match error {
            // The storage is being closed: nothing was sent.
            sqlx::Error::PoolClosed => false,
            sqlx::Error::Database(e) => e.code().is_none_or(|code| session_failed(&code)),
            _ => true,
        }
    }

    /// An error the server answered COMMIT with (a deferred constraint, a
    /// serialization failure) means it rolled back, unless it says the
    /// session or the server failed; a commit whose answer was lost may
    /// have committed or not.
    fn commit_leaves_state_unknown(error: &sqlx::Error) -> bool {
        Self::leaves_state_unknown(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_session_leaves_the_state_unknown() {
        let io = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(Postgres::leaves_state_unknown(&io));
        assert!(Postgres::leaves_state_unknown(&sqlx::Error::PoolTimedOut));
        assert!(!Postgres::leaves_state_unknown(&sqlx::Error::PoolClosed));
        for code in ["08006", "57P01", "57P02", "58030", "XX001"] {
            assert!(session_failed(code), "{code}");
        }
        // Rolled back: a unique violation, a serialization failure, a
        // deadlock, a statement timeout, a full disk.
        for code in ["23505", "40001", "40P01", "57014", "53100"] {
            assert!(!session_failed(code), "{code}");
        }
    }
}
