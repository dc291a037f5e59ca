//! Durable storage of rooms: each room's journal (see `weft::journal`) as
//! rows of a database, chosen at start-up ([`Location`]): one SQLite file,
//! `weft.sqlite3` in a data directory (the default), or a PostgreSQL
//! database (one server alone, or several that relay rooms to each other:
//! [`Storage::open_shared`]). Only the I/O lives here; what
//! to write and when to compact is the `Journal`'s decision, as in the
//! browser's IndexedDB backend.
//!
//! Tables (schema version 1, kept in `meta`; the same in both databases,
//! BLOB or BYTEA for bytes):
//!
//! | table | columns | what |
//! |---|---|---|
//! | `meta` | `name` (key), `value` | `schema_version`; `opens`, counted by each open (a write that proves the file writable) |
//! | `rooms` | `room` (key), `last_key` | the last entry key issued to the room |
//! | `records` | `room`, `key`, `bytes`; key `(room, key)` | `journal::encode_record` entries |
//! | `checkpoints` | `room`, `key`, `bytes`; key `(room, key)` | `Compaction::entry` entries |
//!
//! Every write takes its key from the room's counter in the transaction
//! that stores it, so keys are never reused, and returns once that
//! transaction is committed (fsynced). A room's writer then tells its
//! `Journal`:
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
//! # Group commit
//!
//! Writes (appends, compactions, sealed rooms' writes) from every room go
//! into one queue. One committer at a time, a task started by the write
//! that finds none running and ending once the queue is empty, takes what
//! is queued (up to [`MAX_GROUP_WRITES`] writes or about
//! [`MAX_GROUP_BYTES`] of entries), runs it as ONE transaction in queue
//! order on the storage's one write connection, commits once (one WAL
//! fsync for the whole group) and only then answers each caller with its
//! own key and bytes. Under load the next group gathers while one commits,
//! so groups grow with the load and an idle server still commits a lone
//! write at once. Writes of one room in one group get consecutive keys, in
//! queue order, exactly as one transaction each would. A group runs in
//! room order, so servers sharing a database ([`Storage::open_shared`])
//! lock rooms' counters in one order; a deadlock or serialization failure
//! all the same sends the whole group again (a few times).
//!
//! Outcomes are still per write (see [`StorageError`]):
//! - a commit, or a statement, that leaves the database's state unknown
//!   fails every write of its group, and every write queued behind it,
//!   with [`StorageError::Unknown`];
//! - a statement that the database rolled back (a constraint, a value too
//!   big, a full disk; a deadlock between servers after a few tries)
//!   fails only the write it belonged to, with
//!   [`StorageError::Write`]: the group is rolled back, that write is
//!   answered, and the others go again as a group (`Storage::commit_group`
//!   says why not savepoints). The failed write takes no key. Writes that
//!   only append a record are written in a few statements per group (all
//!   their rooms' counters in one, all their records in another); when
//!   such a statement fails, the group goes again one statement per write
//!   to find the write at fault.
//!
//! Groups start at most every 5 ms (`MIN_GROUP_GAP`): the writes that
//! arrive meanwhile share the next one.
//!
//! No write is acknowledged before the commit holding it returned; a write
//! runs to its end (in the committer) even if its caller stops waiting.
//! [`Storage::commits`] counts the commits, for comparing with the writes.
//!
//! # Backends
//!
//! The queries are written once, in plain SQL both databases take
//! (`backend.rs`); each backend's settings, DDL, transactions and error
//! codes are in `sqlite.rs` and `postgres.rs`; `connections.rs` chooses
//! between them; `writer.rs` keeps the one write connection. On PostgreSQL an acknowledgement still means committed
//! (`synchronous_commit = on`, checked at open), and a lost connection
//! leaves the state unknown like a failed fsync: the database that
//! answers next may not hold what was acknowledged, so the storage is
//! reopened (new connections) and every room loaded again.

mod backend;
mod connections;
mod error;
mod location;
mod postgres;
mod priority;
mod sealed;
mod sqlite;
mod writer;

pub use error::StorageError;
pub use location::Location;
pub use sealed::SealedLoaded;

use backend::Backend;
use connections::{on_backend, Connections};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{oneshot, Mutex};
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

/// How many times a group goes again whole after a deadlock or a
/// serialization failure (servers sharing a database) before the write
/// that met it fails alone, as any rolled-back write does.
const MAX_CONFLICTS: usize = 5;

/// Whether the database rolled a transaction back because of another
/// one (PostgreSQL's serialization failure or deadlock): not the
/// write's fault, so it goes again.
fn conflicted(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40001" | "40P01")))
}

/// The most writes one group commit holds: enough to take a busy server's
/// queue in a few commits, few enough that one group's statements take
/// milliseconds, not seconds.
pub const MAX_GROUP_WRITES: usize = 256;

/// About the most entry bytes one group commit holds (at least one write,
/// however big): a group is held in memory, and its WAL frames are written
/// at once.
pub const MAX_GROUP_BYTES: usize = 4 << 20;

/// The rooms' database. Cheap to clone: clones share the connections, the
/// queue of writes and the [`StorageError::Unknown`] state, so one failed
/// commit stops every clone from acknowledging until
/// [`reopen`](Storage::reopen).
///
/// Writes are queued and committed in groups, one group at a time (SQLite
/// has one writer anyway; see the module's documentation); loads run beside
/// them and each other. A write runs to its end in the committer, a task of
/// its own, even if the caller stops waiting for it, so a failure is never
/// missed.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.shared.location)
            .finish_non_exhaustive()
    }
}

/// Whether other servers write to the same database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// One server alone.
    Exclusive,
    /// Servers relaying rooms to each other (PostgreSQL only).
    Shared,
}

/// What every clone shares.
struct Shared {
    /// The database.
    location: Location,
    sharing: Sharing,
    /// Held by the committer for each group from before its transaction
    /// until every outcome is recorded, and by `reopen` and `close`: so no
    /// write commits after another's failure without seeing it, and
    /// neither closes the connections under a group.
    writer: Mutex<()>,
    /// Writes waiting for the committer. A std mutex: held only to push or
    /// take, never across an await.
    queue: std::sync::Mutex<Queue>,
    /// Group transactions committed, over every generation.
    commits: AtomicU64,
    /// Group transactions that another server's won (a deadlock or a
    /// serialization failure), and went again.
    conflicts: AtomicU64,
    state: RwLock<State>,
}

/// The writes waiting, and whether a committer runs to take them.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Set by the write that starts the committer, cleared by the
    /// committer when it finds `jobs` empty (both under the queue's lock, so
    /// a write is never left without a committer).
    committing: bool,
}

/// A queued write and where its outcome goes.
struct Job {
    room: String,
    write: Write,
    /// Nobody listens any more if the caller stopped waiting; the write is
    /// done all the same.
    reply: oneshot::Sender<Result<(u64, u64), StorageError>>,
}

/// The open database, replaced by `reopen`.
struct State {
    pools: Connections,
    /// Why the database's state is unknown, once a write said so.
    unknown: Option<Unknown>,
    /// Reopens so far.
    generation: u64,
}

/// The first failure that left the database's state unknown.
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

/// An entry's bytes.
enum Entry {
    /// Made for its key (a journal entry holds it); made again if the
    /// write goes again after its group was rolled back, maybe under
    /// another key.
    Keyed(Box<dyn Fn(u64) -> Vec<u8> + Send + Sync>),
    /// The same under any key (a sealed room's).
    Fixed(Vec<u8>),
}

/// One write: an entry under a fresh key, and the keys to delete.
struct Write {
    table: Table,
    entry: Entry,
    /// About the entry's bytes, before it is made: what a group counts
    /// against [`MAX_GROUP_BYTES`].
    size: usize,
    delete_records: Vec<u64>,
    delete_checkpoints: Vec<u64>,
    /// Also deletes every record with a key up to this one, and every
    /// checkpoint but the new one (a sealed room's compaction); unless a
    /// stored checkpoint covers as much already: then nothing is written.
    delete_through: Option<u64>,
}

impl Write {
    /// Whether it appends a record and deletes nothing: such writes are
    /// batched (see `Backend::append_records`).
    fn only_appends_a_record(&self) -> bool {
        matches!(self.table, Table::Records)
            && self.delete_records.is_empty()
            && self.delete_checkpoints.is_empty()
            && self.delete_through.is_none()
    }
}

impl Storage {
    /// Opens the database at `location` and brings its schema up to date:
    /// for SQLite, creating the directory and the file if missing; for
    /// PostgreSQL, creating the tables if missing (servers starting at
    /// once on one database take turns).
    ///
    /// # Errors
    /// [`StorageError::Open`] if the directory or the file cannot be created
    /// or opened, the database cannot be reached or logged into, or it
    /// would not make commits durable (SQLite's WAL mode refused,
    /// PostgreSQL's `fsync` off); [`StorageError::UnsupportedSchema`] if a
    /// newer server wrote it.
    pub async fn open(location: &Location) -> Result<Storage, StorageError> {
        Storage::open_with(location, Sharing::Exclusive).await
    }

    /// [`Storage::open`] for one of several servers that share `location`
    /// (a PostgreSQL database) and relay rooms to each other: each room's
    /// records may come from any of them, and each compacts only what it
    /// loaded or wrote (see `weft::journal`). A server alone on the
    /// database ([`Storage::open`]) and these exclude each other.
    ///
    /// # Errors
    /// As [`Storage::open`]; [`StorageError::Open`] for a SQLite location.
    pub async fn open_shared(location: &Location) -> Result<Storage, StorageError> {
        Storage::open_with(location, Sharing::Shared).await
    }

    async fn open_with(location: &Location, sharing: Sharing) -> Result<Storage, StorageError> {
        let pools = Connections::open(location, sharing).await?;
        Ok(Storage {
            shared: Arc::new(Shared {
                location: location.clone(),
                sharing,
                writer: Mutex::new(()),
                queue: std::sync::Mutex::default(),
                commits: AtomicU64::new(0),
                conflicts: AtomicU64::new(0),
                state: RwLock::new(State {
                    pools,
                    unknown: None,
                    generation: 0,
                }),
            }),
        })
    }

    /// Where the rooms are stored.
    pub fn location(&self) -> &Location {
        &self.shared.location
    }

    /// Closes the connections and opens the database again, waiting for
    /// the group commit in progress, if any; clears the
    /// [`StorageError::Unknown`] state and starts the next
    /// [`generation`](Storage::generation). Then load every room again
    /// (see [`StorageError`]).
    ///
    /// The old connections are closed first: on PostgreSQL the write
    /// connection holds the lock that keeps other servers out, and the new
    /// one must take it.
    ///
    /// # Errors
    /// As [`Storage::open`]. The storage stays closed (still refusing
    /// writes with [`StorageError::Unknown`] if its state was unknown), and
    /// reopening may be tried again.
    pub async fn reopen(&self) -> Result<(), StorageError> {
        let _writer = self.shared.writer.lock().await;
        let old = self.state().pools.clone();
        old.close().await;
        let pools = Connections::open(&self.shared.location, self.shared.sharing).await?;
        let mut state = self
            .shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let generation = state.generation + 1;
        *state = State {
            pools,
            unknown: None,
            generation,
        };
        Ok(())
    }

    /// How many times the storage was reopened: a room loaded in an
    /// earlier generation ([`LoadedRoom::generation`]) must be loaded again
    /// before its journal is trusted, since the database's state was unknown in
    /// between. Shared by every clone.
    ///
    /// # Errors
    /// [`StorageError::Unknown`] while the database's state is unknown: nothing
    /// loaded or written before can be trusted until [`reopen`](Storage::reopen).
    pub fn generation(&self) -> Result<u64, StorageError> {
        self.usable().map(|(_, generation)| generation)
    }

    /// Closes the connections once the calls using them are done (SQLite
    /// then folds the WAL into the file), waiting for the group commit in
    /// progress, if any. Every later call, and every write still queued,
    /// fails with [`StorageError::Read`] or [`StorageError::Write`] until
    /// [`reopen`](Storage::reopen).
    pub async fn close(&self) {
        let _writer = self.shared.writer.lock().await;
        let pools = self.state().pools.clone();
        pools.close().await;
    }

    /// Frees the pages the write connection caches: after a big write or
    /// compaction they are mostly what nobody reads again. Best effort:
    /// nothing happens while the database's state is unknown.
    pub async fn release_memory(&self) {
        let pools = {
            let state = self.state();
            if state.unknown.is_some() {
                return;
            }
            state.pools.clone()
        };
        if let Err(e) = pools.release_memory().await {
            crate::log!(Debug, "storage: freeing the page cache failed: {e}");
        }
    }

    /// How many write transactions were committed, over every generation.
    /// Each holds a group of writes, so under load this grows much more
    /// slowly than the writes acknowledged (for metrics).
    pub fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    /// Group transactions lost to another server's (sharing the database)
    /// and tried again. Servers lock rooms in one order, so this stays 0
    /// unless something else holds their rows.
    pub fn conflicts(&self) -> u64 {
        self.shared.conflicts.load(Ordering::Relaxed)
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
        let (pools, generation) = self.usable()?;
        let read = |source| StorageError::Read {
            room: Some(room.to_owned()),
            source,
        };
        let rows = on_backend!(&pools, p => Backend::load(&p.reads, room).await).map_err(read)?;
        let (checkpoints, records) = (rows.checkpoints, rows.records);
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

    /// Appends `unsaved.update` as `room`'s next record, in the transaction
    /// (a group commit, maybe with other writes) that also advances the
    /// room's key counter. Returns the record's key and entry bytes once
    /// committed and fsynced; then call `journal.appended(key, bytes,
    /// unsaved)`.
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
            size: update.len(),
            entry: Entry::Keyed(Box::new(move |key| journal::encode_record(key, &update))),
            delete_records: Vec::new(),
            delete_checkpoints: Vec::new(),
            delete_through: None,
        };
        self.write(room, write).await
    }

    /// Carries out `compaction` for `room` in one transaction (maybe a
    /// group commit's): its checkpoint under a fresh key from the room's
    /// counter, and the deletion of exactly the records and checkpoints it
    /// includes (records appended since it was planned stay). Returns the
    /// checkpoint's key and entry bytes once committed; then call
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
            size: planned.snapshot.len(),
            entry: Entry::Keyed(Box::new(move |key| planned.entry(key))),
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
        let (pools, _) = self.usable()?;
        let total = on_backend!(&pools, p => Backend::stored_bytes(&p.reads).await)
            .map_err(|source| StorageError::Read { room: None, source })?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// Asks the database for a round trip, waiting at most `timeout` (for
    /// `/health`: a server that cannot reach its database says so even
    /// while nothing is written).
    ///
    /// # Errors
    /// [`StorageError::Read`] if the database did not answer in time, or
    /// [`StorageError::Unknown`].
    pub async fn probe(&self, timeout: std::time::Duration) -> Result<(), StorageError> {
        let (pools, _) = self.usable()?;
        let probe = async { on_backend!(&pools, p => Backend::probe(&p.reads).await) };
        let source = match tokio::time::timeout(timeout, probe).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the database did not answer within {timeout:?}"),
            )),
        };
        Err(StorageError::Read { room: None, source })
    }

    /// The pool and its generation, or the error to return while the
    /// database's state is unknown.
    fn usable(&self) -> Result<(Connections, u64), StorageError> {
        let state = self.state();
        match &state.unknown {
            None => Ok((state.pools.clone(), state.generation)),
            Some(unknown) => Err(self.unknown_error(unknown.clone())),
        }
    }

    /// The pool of the one write connection, or why the database's state is
    /// unknown.
    fn writable(&self) -> Result<Connections, Unknown> {
        let state = self.state();
        match &state.unknown {
            None => Ok(state.pools.clone()),
            Some(unknown) => Err(unknown.clone()),
        }
    }

    /// The open database (a panic while it was replaced left it whole).
    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn unknown_error(&self, unknown: Unknown) -> StorageError {
        StorageError::Unknown {
            location: self.shared.location.clone(),
            room: unknown.room,
            source: unknown.source,
        }
    }

    /// Queues `write` for the committer, starting one if none runs, and
    /// waits for its outcome.
    async fn write(&self, room: &str, write: Write) -> Result<(u64, u64), StorageError> {
        // Refused at once while the state is unknown. Only a fast path: the
        // committer checks again before each group, holding the writer lock
        // as `reopen` does.
        self.usable()?;
        // Panics outside a runtime before queueing anything, so no write is
        // left queued without a committer.
        let runtime = tokio::runtime::Handle::current();
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut queue = self.queue();
            queue.jobs.push_back(Job {
                room: room.to_owned(),
                write,
                reply,
            });
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            let committer = Committer {
                storage: self.clone(),
                group_room: None,
                finished: false,
            };
            runtime.spawn(committer.run());
        }
        match outcome.await {
            Ok(result) => result,
            // The committer panicked, or was cancelled by the runtime
            // shutting down, before answering: nobody knows whether the
            // write committed.
            Err(_) => Err(self.mark_unknown(room.to_owned(), Arc::new(Interrupted))),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `group` in one transaction and answers each of its writes.
    ///
    /// A write that SQLite rolled back fails alone: it is answered with its
    /// error, and the rest of the group (rolled back with it) goes again,
    /// as a group, until a transaction commits or none is left. Each
    /// attempt answers at least one write, so a group of n takes at most n
    /// attempts, and usually one. A failure before any write ran (the
    /// connection, or BEGIN busy past the timeout) is the first write's:
    /// each write still gets an error of its own, and waits no longer than
    /// it would have with a transaction of its own.
    ///
    /// Not savepoints: on some of the errors taken as rolled back
    /// (SQLITE_FULL, SQLITE_INTERRUPT) SQLite may roll back the whole
    /// transaction by itself, savepoints and all, and the writes before
    /// would then be lost from under their savepoints without an error; a
    /// transaction that starts again knows what it holds.
    async fn commit_group(&self, mut group: Vec<Job>) {
        let pools = match self.writable() {
            Ok(pools) => pools,
            Err(unknown) => return self.refuse(group, &unknown),
        };
        // Room order (stable: a room's writes stay in queue order), so
        // servers sharing a database lock rooms' counters in one order.
        group.sort_by(|a, b| a.room.cmp(&b.room));
        let mut conflicts = 0;
        let mut batched = true;
        loop {
            let outcome =
                on_backend!(&pools, p => Backend::transact(&p.writer, &group, batched).await);
            match outcome {
                Ok(written) => {
                    self.shared.commits.fetch_add(1, Ordering::Relaxed);
                    for (job, written) in group.into_iter().zip(written) {
                        // Ignored if the caller stopped waiting.
                        let _ = job.reply.send(Ok(written));
                    }
                    return;
                }
                Err(GroupFailed {
                    failed: Failed::RolledBack(source),
                    ..
                }) if conflicts < MAX_CONFLICTS && conflicted(&source) => {
                    // Another server's transaction won: the whole group again.
                    conflicts += 1;
                    self.shared.conflicts.fetch_add(1, Ordering::Relaxed);
                }
                Err(GroupFailed {
                    in_batch: true,
                    failed: Failed::RolledBack(_),
                    ..
                }) if batched => {
                    // Again one write at a time, to find the one that fails.
                    batched = false;
                }
                Err(GroupFailed {
                    at,
                    failed: Failed::RolledBack(source),
                    ..
                }) => {
                    let job = group.remove(at);
                    let _ = job.reply.send(Err(StorageError::Write {
                        room: job.room,
                        source,
                    }));
                    if group.is_empty() {
                        return;
                    }
                }
                Err(GroupFailed {
                    at,
                    failed: Failed::Unknown(source),
                    ..
                }) => {
                    let unknown = self.first_unknown(group[at].room.clone(), source);
                    return self.refuse(group, &unknown);
                }
            }
        }
    }

    /// Answers `group`, and every write queued behind it, with the file's
    /// unknown state: nothing queued before the failure was known may
    /// commit after it (the caller holds the writer lock, so no `reopen`
    /// comes between).
    fn refuse(&self, group: Vec<Job>, unknown: &Unknown) {
        let queued = std::mem::take(&mut self.queue().jobs);
        for job in group.into_iter().chain(queued) {
            let _ = job.reply.send(Err(self.unknown_error(unknown.clone())));
        }
    }

    /// Records that the database's state is unknown since writing `room` failed
    /// with `source`, unless it already was; returns the error of the first
    /// such failure, which every caller gets until `reopen`.
    fn mark_unknown(
        &self,
        room: String,
        source: Arc<dyn std::error::Error + Send + Sync>,
    ) -> StorageError {
        self.unknown_error(self.first_unknown(room, source))
    }

    /// As [`mark_unknown`](Self::mark_unknown), returning the first failure.
    fn first_unknown(
        &self,
        room: String,
        source: Arc<dyn std::error::Error + Send + Sync>,
    ) -> Unknown {
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .unknown
            .get_or_insert(Unknown { room, source })
            .clone()
    }
}

/// Takes the next group off the front of `jobs`: at least one write (if
/// any), at most [`MAX_GROUP_WRITES`], and no more than
/// [`MAX_GROUP_BYTES`] unless the first alone is bigger.
fn take_group(jobs: &mut VecDeque<Job>) -> Vec<Job> {
    let mut group = Vec::new();
    let mut bytes = 0usize;
    while let Some(next) = jobs.front() {
        let full = group.len() == MAX_GROUP_WRITES
            || bytes.saturating_add(next.write.size) > MAX_GROUP_BYTES;
        if full && !group.is_empty() {
            break;
        }
        bytes = bytes.saturating_add(next.write.size);
        group.extend(jobs.pop_front());
    }
    group
}

/// The committer: commits the queue group by group until it is empty,
/// then ends. It holds a clone of the storage only while there is work, so
/// a dropped storage's last writes still finish and nothing is left
/// running after them.
///
/// Dropped before it finished (a panic, or the runtime shutting down with
/// it, maybe before it even started, or in the middle of a group's
/// commit), it makes sure nobody waits for it in vain: see its `Drop`.
struct Committer {
    storage: Storage,
    /// The first room of the group in progress, if any.
    group_room: Option<String>,
    /// Set once the queue was found empty.
    finished: bool,
}

/// The shortest time from one group's start to the next's: writes that
/// arrive meanwhile wait for the next group. Each commit costs an fsync and
/// the WAL pages of its rooms whatever it holds, so at most 200 a second
/// leaves the cores to the clients (a busy server's edit-to-others tail
/// shrinks), and an acknowledgement waits 5 ms more at most.
const MIN_GROUP_GAP: std::time::Duration = std::time::Duration::from_millis(5);

impl Committer {
    async fn run(mut self) {
        loop {
            // Per group, not for the whole run: `reopen` and `close` wait
            // for the group in progress only (tokio's mutex is fair, so
            // they go before the next group).
            let started = tokio::time::Instant::now();
            let writer = self.storage.shared.writer.lock().await;
            let group = {
                let mut queue = self.storage.queue();
                let group = take_group(&mut queue.jobs);
                if group.is_empty() {
                    queue.committing = false;
                }
                group
            };
            let Some(first) = group.first() else { break };
            self.group_room = Some(first.room.clone());
            self.storage.commit_group(group).await;
            self.group_room = None;
            drop(writer);
            tokio::time::sleep_until(started + MIN_GROUP_GAP).await;
        }
        self.finished = true;
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The next write starts a new committer; the writes queued now are
        // answered rather than left waiting for one.
        let queued = {
            let mut queue = self.storage.queue();
            queue.committing = false;
            std::mem::take(&mut queue.jobs)
        };
        match self.group_room.take() {
            // The group in progress may have committed or not (its own
            // callers see their replies dropped): so is everything until
            // `reopen`.
            Some(room) => {
                let unknown = self.storage.first_unknown(room, Arc::new(Interrupted));
                for job in queued {
                    let _ = job
                        .reply
                        .send(Err(self.storage.unknown_error(unknown.clone())));
                }
            }
            // Between groups (or before the first): the queued writes never
            // started, so nothing of theirs was written.
            None => {
                for job in queued {
                    let source = sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        Interrupted,
                    ));
                    let _ = job.reply.send(Err(StorageError::Write {
                        room: job.room,
                        source,
                    }));
                }
            }
        }
    }
}

/// Why the committer answered no more: it panicked, or the runtime it ran
/// on shut down.
#[derive(Debug, thiserror::Error)]
#[error("the writes' task stopped (a panic, or the runtime shutting down)")]
struct Interrupted;

/// Why a write transaction failed.
enum Failed {
    /// Before the commit, and SQLite rolled it back: nothing written.
    RolledBack(sqlx::Error),
    /// The commit, or the I/O under a statement, failed.
    Unknown(Arc<dyn std::error::Error + Send + Sync>),
}

/// Why a group's transaction failed, and in which write.
struct GroupFailed {
    /// The write whose statement failed; the first for a failure that is
    /// no write's in particular (BEGIN, COMMIT), or of a batch.
    at: usize,
    /// The statement wrote a batch of writes (so which one failed is not
    /// known).
    in_batch: bool,
    failed: Failed,
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
