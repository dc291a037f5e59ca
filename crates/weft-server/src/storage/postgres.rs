//! Everything specific to PostgreSQL: the session's settings, the tables'
//! DDL, how transactions start, and which errors leave the database's
//! state unknown. The queries are shared with SQLite (`backend.rs`).
//!
//! A server holds an advisory lock for as long as its write connection
//! lives: exclusive for a server alone on the database (a second one would
//! serve rooms the first does not see), shared for servers that relay rooms
//! to each other ([`Sharing::Shared`]), so the two kinds never mix.

use super::backend::{Backend, Pools, Refused};
use super::writer::Writer;
use super::Sharing;
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

/// The advisory lock a server writing to a database holds for its write
/// connection's life, exclusive or shared ("weft" in ASCII, plus one).
const SERVER_LOCK: i64 = 0x7765_6675;

/// How long opening waits for [`SERVER_LOCK`] before reporting the
/// database in use: a server restarted right after its predecessor was
/// killed finds the lock held until the database notices the old
/// connection closed, a moment later.
const LOCK_GRACE: Duration = Duration::from_secs(5);

/// Session settings, whatever the server's defaults: a commit returns only
/// once its WAL is flushed; an idle session is never ended by the server
/// (it holds [`SERVER_LOCK`]); and the server notices within about 30 s
/// that this process is gone (keepalives), so the lock of a server that
/// lost its network is not held for hours.
const SESSION: &[(&str, &str)] = &[
    ("synchronous_commit", "on"),
    ("idle_session_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"),
    ("tcp_keepalives_idle", "10"),
    ("tcp_keepalives_interval", "5"),
    ("tcp_keepalives_count", "4"),
];

/// The advisory lock migrations hold, so servers starting at once on one
/// database migrate one after the other ("weft" in ASCII).
const MIGRATION_LOCK: i64 = 0x7765_6674;

/// Connects to the database: the write connection first, so that a
/// refused connection, a failed authentication or a missing database is
/// reported as it is (a pool would retry until it timed out); checks
/// that commits are durable, takes [`SERVER_LOCK`], migrates (which counts
/// the open, a real commit: see [`Backend::migrate`]), then opens the read
/// pool.
///
/// # Errors
/// See [`Refused`].
pub async fn connect(
    options: &PgConnectOptions,
    sharing: Sharing,
) -> Result<Pools<Postgres>, Refused> {
    let options = options
        .clone()
        .application_name("weft-server")
        .options(SESSION.iter().copied());
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {CONNECT_TIMEOUT:?}"),
            ))
        })??;
    if let Err(refused) = prepare(&mut conn, sharing).await {
        // Best effort: closing also releases the lock, if taken.
        let _ = conn.close().await;
        return Err(refused);
    }
    let reads = PgPoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    // Never replaced: a connection that was lost fails the next write's
    // BEGIN, and the storage is reopened and every room reloaded (the
    // server that answers now may not hold what the lost one acknowledged,
    // after a failover to a replica that lacked the last commits).
    let writer = Writer::new(conn, None);
    Ok(Pools { reads, writer })
}

/// Readies the write connection: checks durability, takes the server
/// lock (shared or not, as `sharing` says), migrates.
async fn prepare(conn: &mut PgConnection, sharing: Sharing) -> Result<(), Refused> {
    check(conn).await?;
    let take = match sharing {
        Sharing::Exclusive => "SELECT pg_try_advisory_lock($1)",
        Sharing::Shared => "SELECT pg_try_advisory_lock_shared($1)",
    };
    let deadline = tokio::time::Instant::now() + LOCK_GRACE;
    loop {
        let locked: bool = sqlx::query_scalar(take)
            .bind(SERVER_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if locked {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Refused::InUse);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Postgres::migrate(conn).await
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

    /// READ COMMITTED, whatever the database's default: each write's
    /// counter upsert locks its room's row, which is all the writes need
    /// (REPEATABLE READ or SERIALIZABLE would fail writes that raced a
    /// concurrent one instead of waiting).
    async fn begin_write(
        conn: &mut PgConnection,
    ) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        conn.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE")
            .await
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
