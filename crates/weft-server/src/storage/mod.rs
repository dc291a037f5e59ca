//! Durable storage of rooms: one SQLite file, `weft.sqlite3` in a data
//! directory, holding each room's journal (see `weft::journal`) as rows.
//! Only the I/O lives here; what to write and when to compact is the
//! `Journal`'s decision, as in the browser's IndexedDB backend.
//!
//! Tables (schema version 1, kept in `meta`):
//!
//! | table | columns | what |
//! |---|---|---|
//! | `meta` | `name` (key), `value` | `schema_version`; `opens`, counted by each open (a write that proves the file writable) |
//! | `rooms` | `room` (key), `last_key` | the last entry key issued to the room |
//! | `records` | `room`, `key`, `bytes`; key `(room, key)` | `journal::encode_record` entries |
//! | `checkpoints` | `room`, `key`, `bytes`; key `(room, key)` | `Compaction::entry` entries |
//!
//! Every write is one transaction that takes its key from the room's
//! counter, so keys are never reused, and returns once committed (fsynced).
//! A room's writer then tells its `Journal`:
//!
//! ```no_run
//! # async fn edit(storage: &weft_server::storage::Storage, room: &str,
//! #     loaded: &mut weft_server::storage::LoadedRoom) -> Result<(), Box<dyn std::error::Error>> {
//! let weft_server::storage::LoadedRoom { doc, journal, .. } = loaded;
//! if let Some(unsaved) = journal.unsaved(doc)? {
//!     let (key, bytes) = storage.append(room, &unsaved).await?;
//!     journal.appended(key, bytes, unsaved);
//! }
//! if journal.should_compact() {
//!     let compaction = journal.compaction(doc)?;
//!     let (key, bytes) = storage.compact(room, &compaction).await?;
//!     journal.compacted(&compaction, key, bytes);
//! }
//! # Ok(()) }
//! ```
//!
//! SQLite specifics (settings, DDL, error codes) are in `sqlite.rs`; the
//! queries here are plain SQL.

mod error;
mod sealed;
mod sqlite;

pub use error::StorageError;
pub use sealed::SealedLoaded;

use sqlite::Refused;
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::Mutex;
use weft::journal::{self, Compaction, CompactionPolicy, Journal, Problem, Unsaved};
use weft::{Doc, ReplicaId};

/// A room as stored: its document, the journal that describes what of it is
/// stored, and the damaged entries that were skipped.
#[derive(Debug)]
pub struct LoadedRoom {
    /// The document, editing as the replica given to [`Storage::load`].
    pub doc: Doc,
    /// What is stored, for [`Storage::append`] and [`Storage::compact`].
    pub journal: Journal,
    /// Entries that could not be read, with their keys (they stay on disk,
    /// and no compaction deletes them).
    pub problems: Vec<Problem>,
    /// The [`Storage::generation`] it was loaded in: once the storage is
    /// reopened, what `journal` says is stored may not be.
    pub generation: u64,
}

/// The rooms' database. Cheap to clone: clones share the connection pool,
/// the queue of writes and the [`StorageError::Unknown`] state, so one
/// failed commit stops every clone from acknowledging until
/// [`reopen`](Storage::reopen).
///
/// Writes are taken one at a time (SQLite has one writer anyway); loads run
/// beside them and each other. A write runs to its end in a task of its own
/// even if the caller stops waiting for it, so a failure is never missed.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("file", &self.shared.file)
            .finish_non_exhaustive()
    }
}

/// What every clone shares.
struct Shared {
    /// The database file.
    file: PathBuf,
    /// Held by a write from before its transaction until after its outcome
    /// is recorded, and by `reopen`: so no write commits after another's
    /// failure without seeing it.
    writer: Arc<Mutex<()>>,
    state: RwLock<State>,
}

/// The open database, replaced by `reopen`.
struct State {
    pool: SqlitePool,
    /// Why the file's state is unknown, once a write said so.
    unknown: Option<Unknown>,
    /// Reopens so far.
    generation: u64,
}

/// The first failure that left the file's state unknown.
#[derive(Clone)]
struct Unknown {
    room: String,
    source: Arc<dyn std::error::Error + Send + Sync>,
}

/// Which table an entry goes to.
#[derive(Clone, Copy)]
enum Table {
    Records,
    Checkpoints,
}

/// One write transaction: an entry under a fresh key, and the keys to
/// delete.
struct Write {
    table: Table,
    /// The entry's bytes under the key.
    entry: Box<dyn FnOnce(u64) -> Vec<u8> + Send>,
    delete_records: Vec<u64>,
    delete_checkpoints: Vec<u64>,
    /// Also deletes every record with a key up to this one, and every
    /// checkpoint but the new one (a sealed room's compaction).
    delete_through: Option<u64>,
}

impl Storage {
    /// Opens the database in `dir` (`weft.sqlite3`), creating the directory
    /// and the file if missing and bringing its schema up to date.
    ///
    /// # Errors
    /// [`StorageError::Open`] if the directory or the file cannot be created
    /// or opened, or WAL mode is refused;
    /// [`StorageError::UnsupportedSchema`] if a newer server wrote it.
    pub async fn open(dir: &Path) -> Result<Storage, StorageError> {
        // Blocking, but once at start-up and short.
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Open {
            path: dir.to_owned(),
            source: sqlx::Error::Io(e),
        })?;
        let file = dir.join(sqlite::FILE_NAME);
        let pool = connect(&file).await?;
        Ok(Storage {
            shared: Arc::new(Shared {
                file,
                writer: Arc::new(Mutex::new(())),
                state: RwLock::new(State {
                    pool,
                    unknown: None,
                    generation: 0,
                }),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.file
    }

    /// Closes the connections and opens the file again, waiting for the
    /// write in progress, if any; clears the [`StorageError::Unknown`]
    /// state and starts the next [`generation`](Storage::generation). Then
    /// load every room again (see [`StorageError`]).
    ///
    /// # Errors
    /// As [`Storage::open`]; the storage stays as it was (still refusing
    /// writes if its state was unknown), and reopening may be tried again.
    pub async fn reopen(&self) -> Result<(), StorageError> {
        let _writer = self.shared.writer.lock().await;
        // The new pool first: if it cannot be had, the old state stays.
        let pool = connect(&self.shared.file).await?;
        let old = {
            let mut state = self
                .shared
                .state
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let generation = state.generation + 1;
            std::mem::replace(
                &mut *state,
                State {
                    pool,
                    unknown: None,
                    generation,
                },
            )
        };
        old.pool.close().await;
        Ok(())
    }

    /// How many times the storage was reopened: a room loaded in an
    /// earlier generation ([`LoadedRoom::generation`]) must be loaded again
    /// before its journal is trusted, since the file's state was unknown in
    /// between. Shared by every clone.
    ///
    /// # Errors
    /// [`StorageError::Unknown`] while the file's state is unknown: nothing
    /// loaded or written before can be trusted until [`reopen`](Storage::reopen).
    pub fn generation(&self) -> Result<u64, StorageError> {
        self.usable().map(|(_, generation)| generation)
    }

    /// Closes the connections once the calls using them are done (SQLite
    /// then folds the WAL into the file). Every later call fails with
    /// [`StorageError::Read`] or [`StorageError::Write`] until
    /// [`reopen`](Storage::reopen).
    pub async fn close(&self) {
        let _writer = self.shared.writer.lock().await;
        let pool = self
            .shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .pool
            .clone();
        pool.close().await;
    }

    /// Loads `room`, editing as `replica` (a fresh id per load: see
    /// `weft::journal::open`), from every entry it has, read in one
    /// transaction. A room never stored loads as an empty document.
    /// Damaged entries are skipped and listed in `problems`.
    ///
    /// # Errors
    /// [`StorageError::Read`], or [`StorageError::Unknown`] while the file's
    /// state is unknown (what it would load may not be on disk).
    pub async fn load(
        &self,
        room: &str,
        replica: ReplicaId,
        policy: CompactionPolicy,
    ) -> Result<LoadedRoom, StorageError> {
        let (pool, generation) = self.usable()?;
        let read = |source| StorageError::Read {
            room: Some(room.to_owned()),
            source,
        };
        // One transaction: a compaction committing between the two reads
        // would otherwise hide the records it deleted from both.
        let mut tx = pool.begin().await.map_err(read)?;
        let checkpoints: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT key, bytes FROM checkpoints WHERE room = $1")
                .bind(room)
                .fetch_all(&mut *tx)
                .await
                .map_err(read)?;
        let records: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT key, bytes FROM records WHERE room = $1")
                .bind(room)
                .fetch_all(&mut *tx)
                .await
                .map_err(read)?;
        tx.rollback().await.map_err(read)?;
        let opened = journal::open(
            replica,
            checkpoints.iter().map(|(k, b)| (from_sql(*k), &b[..])),
            records.iter().map(|(k, b)| (from_sql(*k), &b[..])),
        );
        let journal = Journal::opened(&opened, policy);
        Ok(LoadedRoom {
            doc: opened.doc,
            journal,
            problems: opened.problems,
            generation,
        })
    }

    /// Appends `unsaved.update` as `room`'s next record, in one transaction
    /// that also advances the room's key counter. Returns the record's key
    /// and entry bytes once committed and fsynced; then call
    /// `journal.appended(key, bytes, unsaved)`.
    ///
    /// # Errors
    /// [`StorageError::Write`] (nothing written) or
    /// [`StorageError::Unknown`]; either way nothing is acknowledged. See
    /// [`StorageError`] for what to do.
    ///
    /// # Panics
    /// Outside a tokio runtime (the transaction runs in a task of its own).
    pub async fn append(&self, room: &str, unsaved: &Unsaved) -> Result<(u64, u64), StorageError> {
        let update = unsaved.update.clone();
        let write = Write {
            table: Table::Records,
            entry: Box::new(move |key| journal::encode_record(key, &update)),
            delete_records: Vec::new(),
            delete_checkpoints: Vec::new(),
            delete_through: None,
        };
        self.write(room, write).await
    }

    /// Carries out `compaction` for `room` in one transaction: its
    /// checkpoint under a fresh key from the room's counter, and the
    /// deletion of exactly the records and checkpoints it includes (records
    /// appended since it was planned stay). Returns the checkpoint's key and
    /// entry bytes once committed; then call
    /// `journal.compacted(&compaction, key, bytes)`.
    ///
    /// # Errors
    /// As [`Storage::append`]; nothing is deleted unless the checkpoint is
    /// written.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn compact(
        &self,
        room: &str,
        compaction: &Compaction,
    ) -> Result<(u64, u64), StorageError> {
        let mut planned = compaction.clone();
        let write = Write {
            table: Table::Checkpoints,
            delete_records: std::mem::take(&mut planned.records),
            delete_checkpoints: std::mem::take(&mut planned.checkpoints),
            entry: Box::new(move |key| planned.entry(key)),
            delete_through: None,
        };
        self.write(room, write).await
    }

    /// Total bytes of every room's records and checkpoints (for metrics).
    /// Reads every row's length (not its bytes): linear in the number of
    /// entries, which compaction keeps small.
    ///
    /// # Errors
    /// [`StorageError::Read`], or [`StorageError::Unknown`].
    pub async fn stored_bytes(&self) -> Result<u64, StorageError> {
        let (pool, _) = self.usable()?;
        let total: i64 = sqlx::query_scalar(
            "SELECT (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM records) \
                  + (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM checkpoints)",
        )
        .fetch_one(&pool)
        .await
        .map_err(|source| StorageError::Read { room: None, source })?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// The pool and its generation, or the error to return while the
    /// file's state is unknown.
    fn usable(&self) -> Result<(SqlitePool, u64), StorageError> {
        let state = self
            .shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match &state.unknown {
            None => Ok((state.pool.clone(), state.generation)),
            Some(unknown) => Err(self.unknown_error(unknown.clone())),
        }
    }

    fn unknown_error(&self, unknown: Unknown) -> StorageError {
        StorageError::Unknown {
            path: self.shared.file.clone(),
            room: unknown.room,
            source: unknown.source,
        }
    }

    /// Runs `write` in a task of its own, one write at a time, and records
    /// a failure that leaves the file's state unknown before the next write
    /// can start.
    async fn write(&self, room: &str, write: Write) -> Result<(u64, u64), StorageError> {
        let writer = self.shared.writer.clone().lock_owned().await;
        let (pool, _) = self.usable()?;
        let this = self.clone();
        let name = room.to_owned();
        let task = tokio::spawn(async move {
            let outcome = transact(&pool, &name, write).await;
            let result = outcome.map_err(|failed| match failed {
                Failed::RolledBack(source) => StorageError::Write { room: name, source },
                Failed::Unknown(source) => this.mark_unknown(name, source),
            });
            drop(writer);
            result
        });
        match task.await {
            Ok(result) => result,
            // Panicked, or cancelled by the runtime shutting down, half way:
            // nobody knows whether it committed.
            Err(e) => Err(self.mark_unknown(room.to_owned(), Arc::new(e))),
        }
    }

    /// Records that the file's state is unknown since writing `room` failed
    /// with `source`, unless it already was; returns the error of the first
    /// such failure, which every caller gets until `reopen`.
    fn mark_unknown(
        &self,
        room: String,
        source: Arc<dyn std::error::Error + Send + Sync>,
    ) -> StorageError {
        let first = self
            .shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .unknown
            .get_or_insert(Unknown { room, source })
            .clone();
        self.unknown_error(first)
    }
}

/// Why a write transaction failed.
enum Failed {
    /// Before the commit, and SQLite rolled it back: nothing written.
    RolledBack(sqlx::Error),
    /// The commit, or the I/O under a statement, failed.
    Unknown(Arc<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for Failed {
    fn from(e: sqlx::Error) -> Self {
        if sqlite::leaves_state_unknown(&e) {
            Failed::Unknown(Arc::new(e))
        } else {
            Failed::RolledBack(e)
        }
    }
}

/// The transaction of `write`: key, entry, deletions, commit.
async fn transact(pool: &SqlitePool, room: &str, write: Write) -> Result<(u64, u64), Failed> {
    let mut tx = sqlite::begin_write(pool).await?;
    // The counter holds the last key issued; the first is 1, as in the
    // browser.
    let key: i64 = sqlx::query_scalar(
        "INSERT INTO rooms (room, last_key) VALUES ($1, 1) \
         ON CONFLICT (room) DO UPDATE SET last_key = rooms.last_key + 1 \
         RETURNING last_key",
    )
    .bind(room)
    .fetch_one(&mut *tx)
    .await?;
    let key = from_sql(key);
    let entry = (write.entry)(key);
    // A plain INSERT: a key already taken (a damaged counter) fails the
    // write instead of overwriting an entry.
    let insert = match write.table {
        Table::Records => "INSERT INTO records (room, key, bytes) VALUES ($1, $2, $3)",
        Table::Checkpoints => "INSERT INTO checkpoints (room, key, bytes) VALUES ($1, $2, $3)",
    };
    sqlx::query(insert)
        .bind(room)
        .bind(to_sql(key))
        .bind(&entry)
        .execute(&mut *tx)
        .await?;
    for &k in &write.delete_records {
        sqlx::query("DELETE FROM records WHERE room = $1 AND key = $2")
            .bind(room)
            .bind(to_sql(k))
            .execute(&mut *tx)
            .await?;
    }
    for &k in &write.delete_checkpoints {
        sqlx::query("DELETE FROM checkpoints WHERE room = $1 AND key = $2")
            .bind(room)
            .bind(to_sql(k))
            .execute(&mut *tx)
            .await?;
    }
    if let Some(through) = write.delete_through {
        sqlx::query("DELETE FROM records WHERE room = $1 AND key <= $2")
            .bind(room)
            .bind(to_sql(through))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM checkpoints WHERE room = $1 AND key <> $2")
            .bind(room)
            .bind(to_sql(key))
            .execute(&mut *tx)
            .await?;
    }
    // Whatever made the commit fail, it may have happened in part.
    tx.commit()
        .await
        .map_err(|e| Failed::Unknown(Arc::new(e)))?;
    Ok((key, entry.len() as u64))
}

/// Opens the file, mapping why not to the error for `file`.
async fn connect(file: &Path) -> Result<SqlitePool, StorageError> {
    sqlite::connect(file)
        .await
        .map_err(|refused| match refused {
            Refused::Failed(source) => StorageError::Open {
                path: file.to_owned(),
                source,
            },
            Refused::Newer(found) => StorageError::UnsupportedSchema {
                path: file.to_owned(),
                found,
                supported: sqlite::SCHEMA_VERSION,
            },
        })
}

/// A key as SQL's signed 64-bit integer: the same bits, so every `u64` has
/// one and the mapping back is exact (keys stay far below 2^63 anyway).
fn to_sql(key: u64) -> i64 {
    key as i64
}

/// A key read from the file: the same bits as [`to_sql`] stored, so a
/// damaged (negative) one still names its row and fails its entry's own key
/// check instead of panicking.
fn from_sql(key: i64) -> u64 {
    key as u64
}
