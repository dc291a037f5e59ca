//! What can go wrong with the database, sorted by what the caller must do.

use super::Location;
use std::sync::Arc;

/// A storage failure. Each kind says what is known about the database, and so
/// what the caller must do:
///
/// - [`Open`](Self::Open), [`UnsupportedSchema`](Self::UnsupportedSchema),
///   [`InUse`](Self::InUse): nothing was opened; fix the cause and open
///   again.
/// - [`Read`](Self::Read): nothing was loaded or counted; the database is as
///   it was. Trying again later is fine.
/// - [`Write`](Self::Write): the transaction was rolled back before its
///   commit, so nothing was written (the database was busy, the disk full, a
///   constraint failed). Nothing is acknowledged and the `Journal` is left
///   as it was (no `appended` or `compacted`); the same changes may be
///   written again later, for instance with the next edit.
/// - [`Unknown`](Self::Unknown): a commit, or the I/O under a write, failed,
///   or (PostgreSQL) the connection was lost. Writes are committed in
///   groups, so every write of that group gets it, and so does every write
///   queued behind it.
///   The write may or may not be on disk; after a failed fsync the kernel
///   may have dropped pages it had accepted earlier, and after a lost
///   connection the PostgreSQL that answers next may not hold the last
///   commits (a failover): nothing can be trusted, and the write must not
///   be acknowledged nor retried blindly.
///   From then on every call on this [`Storage`](super::Storage) (and its
///   clones) returns this error until [`Storage::reopen`](super::Storage::reopen)
///   succeeds. After that, drop every `Journal` made before, load each
///   active room again (with a fresh replica id), and merge the room's
///   in-memory document into the loaded one: whatever did not reach the
///   disk then shows up as the new journal's `unsaved` and is written again
///   (merging is idempotent, so what did reach it changes nothing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database (for SQLite, its file or directory) cannot be created,
    /// reached, opened or set up.
    #[error("cannot open the database {location}: {source}")]
    Open {
        /// The database.
        location: Location,
        /// Why.
        source: sqlx::Error,
    },
    /// The database was written by a newer server, whose schema this one
    /// does not know: refusing beats writing in a format it may not read.
    #[error(
        "the database {location} has schema version {found}; this server knows versions up to {supported}"
    )]
    UnsupportedSchema {
        /// The database.
        location: Location,
        /// The version found in the database.
        found: i64,
        /// The newest version this server knows.
        supported: i64,
    },
    /// Another server is writing to the database (PostgreSQL) in a way
    /// that excludes this one: a server alone on it, or servers relaying
    /// rooms to each other when this one would be alone.
    #[error(
        "another weft-server is using the database {location}: servers share a database only when every one of them relays rooms through Redis"
    )]
    InUse {
        /// The database.
        location: Location,
    },
    /// A read failed; nothing was loaded.
    #[error("reading {} failed: {source}", room.as_deref().map_or_else(|| "the database".to_owned(), |r| format!("room {r:?}")))]
    Read {
        /// The room being loaded, if any.
        room: Option<String>,
        /// Why.
        source: sqlx::Error,
    },
    /// A write failed before its commit and was rolled back: nothing was
    /// written. See the type's documentation.
    #[error("writing room {room:?} failed, nothing was written: {source}")]
    Write {
        /// The room written.
        room: String,
        /// Why.
        source: sqlx::Error,
    },
    /// The database's state is unknown since a commit or the I/O under a write
    /// failed: stop acknowledging, [`reopen`](super::Storage::reopen), and
    /// reload every room. See the type's documentation.
    #[error(
        "the state of {location} is unknown since writing room {room:?} failed ({source}): reopen it and reload the rooms"
    )]
    Unknown {
        /// The database.
        location: Location,
        /// The room whose write failed first.
        room: String,
        /// Why (shared by every call refused since).
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}
