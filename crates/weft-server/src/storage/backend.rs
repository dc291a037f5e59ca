//! What the storage runs on a database, written once for SQLite and
//! PostgreSQL: every query is plain SQL both take (`$1` placeholders,
//! `INSERT ... ON CONFLICT ... RETURNING`), in the provided methods of
//! [`Backend`]. A backend supplies only what differs: its schema's DDL, how
//! read and write transactions start, and which errors leave the
//! database's state unknown (`sqlite.rs`, `postgres.rs`).
//!
//! Not `sqlx::Any`: it connects by URL only, so SQLite's settings (WAL,
//! `synchronous = FULL`, the busy timeout, per-pool cache sizes) could not
//! be set, and it hides which database an error came from.

use super::writer::Writer;
use super::{Entry, Failed, GroupFailed, Job, Table, Write};
use sqlx::{
    ColumnIndex, Connection, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder,
    Row, Transaction, Type,
};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

/// The connections to one database.
pub struct Pools<DB: Database> {
    /// For loads, counts and probes.
    pub reads: Pool<DB>,
    /// For writes: one connection, kept open for good (its prepared
    /// statements, and SQLite's page cache, stay warm from one group commit
    /// to the next), never replaced unnoticed (see `writer.rs`).
    pub writer: Writer<DB>,
}

impl<DB: Database> Clone for Pools<DB> {
    fn clone(&self) -> Self {
        Pools {
            reads: self.reads.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<DB: Database> Pools<DB> {
    /// Closes both, once the calls using them are done.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reads.close().await;
    }
}

/// Why a backend's `connect` gave no pools.
pub enum Refused {
    /// The database failed, or is set up so that a commit would not be
    /// durable.
    Failed(sqlx::Error),
    /// The schema is newer than this server's: its version.
    Newer(i64),
    /// Another server is writing to the database.
    InUse,
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Failed(e)
    }
}

/// A room's rows, as read in one transaction: `(key, bytes)`.
pub struct Rows {
    pub checkpoints: Vec<(i64, Vec<u8>)>,
    pub records: Vec<(i64, Vec<u8>)>,
}

/// An encrypted room's rows past a record number, read in one
/// transaction.
pub struct SealedRows {
    /// The newest checkpoint's bytes, if any.
    pub checkpoint: Option<Vec<u8>>,
    /// The records past the number asked for, in order.
    pub records: Vec<(i64, Vec<u8>)>,
    /// The highest record key stored, if any.
    pub last_record: Option<i64>,
}

/// Rows one batched statement writes at most: 3,000 parameters, far
/// below SQLite's and PostgreSQL's limits (32,766 and 65,535).
const BATCH_ROWS: usize = 1000;

/// The newest schema version: the number of steps in each backend's
/// `MIGRATIONS`. Kept in `meta` as `schema_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// A database the rooms can be stored in. The where clauses are what the
/// shared queries bind and decode: keys as 64-bit integers, room names as
/// text, entries as bytes.
pub trait Backend: Database
where
    Self::Arguments: IntoArguments<Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    i64: Type<Self> + for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    for<'q> &'q str: Type<Self> + Encode<'q, Self>,
    for<'q> &'q [u8]: Type<Self> + Encode<'q, Self>,
    Vec<u8>: Type<Self> + for<'r> Decode<'r, Self>,
    String: Type<Self> + for<'r> Decode<'r, Self>,
    usize: ColumnIndex<Self::Row>,
{
    /// The `meta` table (`name` text key, `value` integer), created if
    /// missing before the version is read.
    const META_TABLE: &'static str;

    /// Step `i` brings the schema from version `i` to `i + 1`, in the same
    /// transaction as the version's update; one step per version, so
    /// `MIGRATIONS.len()` is [`SCHEMA_VERSION`].
    const MIGRATIONS: &'static [&'static [&'static str]];

    /// Starts a transaction whose reads all see one snapshot.
    fn begin_read(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// Starts a group commit's transaction on the write connection.
    fn begin_write(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send;

    /// Starts the migration's transaction, holding whatever lock keeps
    /// other servers out of the schema until it commits.
    fn begin_migration(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send;

    /// Whether `error`, failing BEGIN or a statement of a write
    /// transaction before its commit, leaves the database's state unknown
    /// (otherwise the transaction is known to be rolled back).
    fn leaves_state_unknown(error: &sqlx::Error) -> bool;

    /// Whether `error`, failing the COMMIT, leaves the state unknown
    /// (otherwise the database answered that it rolled back).
    fn commit_leaves_state_unknown(error: &sqlx::Error) -> bool;

    /// Brings the schema to [`SCHEMA_VERSION`] and counts the open
    /// (`opens` in `meta`), in one transaction: a real commit, so a
    /// database that cannot be written fails the open, and a reopen after
    /// a failure succeeds only once writing works again.
    ///
    /// # Errors
    /// See [`Refused`].
    async fn migrate(conn: &mut Self::Connection) -> Result<(), Refused> {
        let mut tx = Self::begin_migration(conn).await?;
        sqlx::query(Self::META_TABLE).execute(&mut *tx).await?;
        let found: Option<i64> =
            sqlx::query("SELECT value FROM meta WHERE name = 'schema_version'")
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        let found = found.unwrap_or(0);
        let Some(steps) = usize::try_from(found)
            .ok()
            .and_then(|v| Self::MIGRATIONS.get(v..))
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

    /// Every entry of `room`, read in one transaction: a compaction
    /// committing between the two reads would otherwise hide the records
    /// it deleted from both.
    async fn load(pool: &Pool<Self>, room: &str) -> Result<Rows, sqlx::Error> {
        let mut tx = Self::begin_read(pool).await?;
        let checkpoints = sqlx::query_as("SELECT key, bytes FROM checkpoints WHERE room = $1")
            .bind(room)
            .fetch_all(&mut *tx)
            .await?;
        let records = sqlx::query_as("SELECT key, bytes FROM records WHERE room = $1")
            .bind(room)
            .fetch_all(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(Rows {
            checkpoints,
            records,
        })
    }

    /// What a client of the encrypted room stored as `name` lacks past
    /// record `from`, read in one transaction.
    async fn sealed_load(
        pool: &Pool<Self>,
        name: &str,
        from: i64,
    ) -> Result<SealedRows, sqlx::Error> {
        let mut tx = Self::begin_read(pool).await?;
        let checkpoint = sqlx::query_scalar(
            "SELECT bytes FROM checkpoints WHERE room = $1 ORDER BY key DESC LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let records = sqlx::query_as(
            "SELECT key, bytes FROM records WHERE room = $1 AND key > $2 ORDER BY key",
        )
        .bind(name)
        .bind(from)
        .fetch_all(&mut *tx)
        .await?;
        let last_record = sqlx::query_scalar("SELECT MAX(key) FROM records WHERE room = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(SealedRows {
            checkpoint,
            records,
            last_record,
        })
    }

    /// Total bytes of every entry (for metrics, and for comparing with
    /// other servers' stored documents: the entries' own bytes, not the
    /// tables' and indexes' size on disk). Reads every row's length, not
    /// its bytes (PostgreSQL reads it from the row's header even when the
    /// bytes are stored apart): linear in the number of entries, which
    /// compaction keeps small.
    async fn stored_bytes(pool: &Pool<Self>) -> Result<i64, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        sqlx::query_scalar(
            "SELECT (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM records) \
                  + (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM checkpoints)",
        )
        .fetch_one(&mut *conn)
        .await
    }

    /// A round trip to the database.
    async fn probe(pool: &Pool<Self>) -> Result<(), sqlx::Error> {
        let mut conn = pool.acquire().await?;
        conn.ping().await
    }

    /// One transaction for `group`: each write in order, then one commit.
    /// Returns each write's key and entry bytes. With `batched`, writes
    /// that only append a record go in runs of a few statements each (see
    /// [`Backend::append_records`]); a failure in such a run names its
    /// first write and says it was batched, so the group can go again
    /// unbatched to find the write that failed.
    async fn transact(
        writer: &Writer<Self>,
        group: &[Job],
        batched: bool,
    ) -> Result<Vec<(u64, u64)>, GroupFailed> {
        let failed_at = |at, in_batch| {
            move |e: sqlx::Error| GroupFailed {
                at,
                in_batch,
                failed: if Self::leaves_state_unknown(&e) {
                    Failed::Unknown(Arc::new(e))
                } else {
                    Failed::RolledBack(e)
                },
            }
        };
        let mut conn = writer.connection().await.map_err(failed_at(0, false))?;
        let mut tx = Self::begin_write(&mut conn)
            .await
            .map_err(failed_at(0, false))?;
        let mut written = Vec::with_capacity(group.len());
        let mut at = 0;
        while at < group.len() {
            let run = match batched {
                true => group[at..]
                    .iter()
                    .take_while(|job| job.write.only_appends_a_record())
                    .count(),
                false => 0,
            };
            if run >= 2 {
                let run = &group[at..at + run];
                let keys = Self::append_records(&mut tx, run)
                    .await
                    .map_err(failed_at(at, true))?;
                written.extend(keys);
                at += run.len();
            } else {
                let job = &group[at];
                let key = Self::apply(&mut tx, &job.room, &job.write)
                    .await
                    .map_err(failed_at(at, false))?;
                written.push(key);
                at += 1;
            }
        }
        tx.commit().await.map_err(|e| GroupFailed {
            at: 0,
            in_batch: false,
            failed: if Self::commit_leaves_state_unknown(&e) {
                Failed::Unknown(Arc::new(e))
            } else {
                Failed::RolledBack(e)
            },
        })?;
        Ok(written)
    }

    /// Appends the record of each of `jobs` (writes that only do that), in
    /// order, in a few statements whatever their number: one advances the
    /// counters of all their rooms (each by its number of writes), one
    /// inserts all the records (per [`BATCH_ROWS`]). What `apply` does for
    /// each, with the same keys. Returns each write's key and entry bytes.
    async fn append_records(
        tx: &mut Transaction<'_, Self>,
        jobs: &[Job],
    ) -> Result<Vec<(u64, u64)>, sqlx::Error> {
        // In room order, as the rest of the group: servers sharing a
        // database then lock rooms' counters in one order, and never wait
        // for each other in a cycle (a deadlock, broken after a second).
        let mut writes: BTreeMap<&str, i64> = BTreeMap::new();
        for job in jobs {
            *writes.entry(&job.room).or_default() += 1;
        }
        let rooms: Vec<(&str, i64)> = writes.into_iter().collect();
        // The last key each room's counter issued, after these writes.
        let mut last: HashMap<String, i64> = HashMap::with_capacity(rooms.len());
        for chunk in rooms.chunks(BATCH_ROWS) {
            let mut upsert = QueryBuilder::<Self>::new("INSERT INTO rooms (room, last_key) ");
            upsert.push_values(chunk, |mut row, (room, n)| {
                row.push_bind(*room).push_bind(*n);
            });
            upsert.push(
                " ON CONFLICT (room) DO UPDATE SET last_key = rooms.last_key + excluded.last_key \
                 RETURNING room, last_key",
            );
            for row in upsert.build().fetch_all(&mut **tx).await? {
                last.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        // Keys in order: a room's first write gets the first of its keys.
        let mut next: HashMap<&str, i64> = HashMap::with_capacity(rooms.len());
        for &(room, n) in &rooms {
            // Every room's counter row is returned: one missing is an error,
            // never keys made up.
            let last = last.get(room).ok_or(sqlx::Error::RowNotFound)?;
            next.insert(room, last - n + 1);
        }
        let mut entries = Vec::with_capacity(jobs.len());
        for job in jobs {
            let key = next
                .get_mut(job.room.as_str())
                .ok_or(sqlx::Error::RowNotFound)?;
            let entry: Cow<'_, [u8]> = match &job.write.entry {
                Entry::Keyed(make) => Cow::Owned(make(super::from_sql(*key))),
                Entry::Fixed(bytes) => Cow::Borrowed(bytes),
            };
            entries.push((job.room.as_str(), *key, entry));
            *key += 1;
        }
        for chunk in entries.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Self>::new("INSERT INTO records (room, key, bytes) ");
            insert.push_values(chunk, |mut row, (room, key, entry)| {
                row.push_bind(*room).push_bind(*key).push_bind(&**entry);
            });
            insert.build().execute(&mut **tx).await?;
        }
        Ok(entries
            .iter()
            .map(|(_, key, entry)| (super::from_sql(*key), entry.len() as u64))
            .collect())
    }

    /// The statements of `write` in the transaction `tx`: key, entry,
    /// deletions. Returns the key and the entry's bytes.
    async fn apply(
        tx: &mut Transaction<'_, Self>,
        room: &str,
        write: &Write,
    ) -> Result<(u64, u64), sqlx::Error> {
        // The counter holds the last key issued; the first is 1, as in the
        // browser. Several writes to a room in one transaction get
        // consecutive keys. On PostgreSQL the upsert also locks the room's
        // counter row until the commit, so writers sharing the database
        // would take turns per room.
        let key: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (room, last_key) VALUES ($1, 1) \
             ON CONFLICT (room) DO UPDATE SET last_key = rooms.last_key + 1 \
             RETURNING last_key",
        )
        .bind(room)
        .fetch_one(&mut **tx)
        .await?;
        let key = super::from_sql(key);
        if let Some(through) = write.delete_through {
            // Servers sharing a database: another may have stored an
            // encrypted room's checkpoint covering as much or more since
            // this one was asked for (the counter's lock, taken above,
            // orders the two). It stands; this one is dropped, its key
            // spent, so no record it does not cover is lost.
            let stored: Vec<Vec<u8>> =
                sqlx::query_scalar("SELECT substr(bytes, 1, 8) FROM checkpoints WHERE room = $1")
                    .bind(room)
                    .fetch_all(&mut **tx)
                    .await?;
            let covered = stored
                .iter()
                .filter_map(|head| head.as_slice().try_into().ok().map(u64::from_le_bytes))
                .any(|covers| covers >= through);
            if covered {
                return Ok((key, 0));
            }
        }
        let entry: Cow<'_, [u8]> = match &write.entry {
            Entry::Keyed(make) => Cow::Owned(make(key)),
            Entry::Fixed(bytes) => Cow::Borrowed(bytes),
        };
        // A plain INSERT: a key already taken (a damaged counter) fails the
        // write instead of overwriting an entry.
        let insert = match write.table {
            Table::Records => "INSERT INTO records (room, key, bytes) VALUES ($1, $2, $3)",
            Table::Checkpoints => "INSERT INTO checkpoints (room, key, bytes) VALUES ($1, $2, $3)",
        };
        sqlx::query(insert)
            .bind(room)
            .bind(super::to_sql(key))
            .bind(&*entry)
            .execute(&mut **tx)
            .await?;
        for &k in &write.delete_records {
            sqlx::query("DELETE FROM records WHERE room = $1 AND key = $2")
                .bind(room)
                .bind(super::to_sql(k))
                .execute(&mut **tx)
                .await?;
        }
        for &k in &write.delete_checkpoints {
            sqlx::query("DELETE FROM checkpoints WHERE room = $1 AND key = $2")
                .bind(room)
                .bind(super::to_sql(k))
                .execute(&mut **tx)
                .await?;
        }
        if let Some(through) = write.delete_through {
            sqlx::query("DELETE FROM records WHERE room = $1 AND key <= $2")
                .bind(room)
                .bind(super::to_sql(through))
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM checkpoints WHERE room = $1 AND key <> $2")
                .bind(room)
                .bind(super::to_sql(key))
                .execute(&mut **tx)
                .await?;
        }
        Ok((key, entry.len() as u64))
    }
}
