//! The one connection a storage writes through, for one generation. Not a
//! pool: a pool pings a connection when it comes back and opens another
//! if the ping fails, so on PostgreSQL a connection lost just after a
//! commit would be replaced unnoticed, maybe by one to a failover server
//! that lacks that commit. Here a lost connection stays lost until the
//! storage is reopened, unless the backend says reconnecting is harmless.

use sqlx::{ConnectOptions, Connection, Database};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// How long closing waits for the database to hear about it (a lost
/// connection may never answer; dropping it closes the socket anyway).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The write connection, shared by the storage's clones: the committer
/// takes it for a group at a time; `release_memory` and `close` wait for
/// their turn.
pub struct Writer<DB: Database> {
    slot: Arc<Mutex<Slot<DB>>>,
}

impl<DB: Database> Clone for Writer<DB> {
    fn clone(&self) -> Self {
        Writer {
            slot: self.slot.clone(),
        }
    }
}

struct Slot<DB: Database> {
    /// `None` once lost (and not reconnected) or closed.
    conn: Option<DB::Connection>,
    /// How to connect again when the connection is found unusable (a
    /// transaction that could not be rolled back): for SQLite, the same
    /// file, so nothing can be missed. `None` for PostgreSQL.
    reconnect: Option<<DB::Connection as Connection>::Options>,
    closed: bool,
}

impl<DB: Database> Writer<DB> {
    /// Writes through `conn`, connecting again with `reconnect`, if given,
    /// whenever it is unusable.
    pub fn new(
        conn: DB::Connection,
        reconnect: Option<<DB::Connection as Connection>::Options>,
    ) -> Writer<DB> {
        Writer {
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                reconnect,
                closed: false,
            })),
        }
    }

    /// The connection, once the previous holder is done with it.
    ///
    /// # Errors
    /// [`sqlx::Error::PoolClosed`] once closed; an I/O error if the
    /// connection is unusable and may not be replaced, or the reconnection
    /// failed.
    pub async fn connection(&self) -> Result<MappedMutexGuard<'_, DB::Connection>, sqlx::Error> {
        let mut slot = self.slot.lock().await;
        if slot.closed {
            return Err(sqlx::Error::PoolClosed);
        }
        // A transaction dropped after a failed statement queued its
        // ROLLBACK, which SQLite's worker may not have run yet: a ping runs
        // after it. Still in a transaction after that, the ROLLBACK failed
        // (SQLite may have rolled back by itself, as on SQLITE_FULL), and
        // the connection would refuse every BEGIN: it is replaced.
        if let Some(conn) = slot.conn.as_mut().filter(|c| c.is_in_transaction()) {
            if conn.ping().await.is_err() || conn.is_in_transaction() {
                if let Some(stale) = slot.conn.take() {
                    drop(tokio::time::timeout(CLOSE_TIMEOUT, stale.close()).await);
                }
            }
        }
        if slot.conn.is_none() {
            if let Some(options) = slot.reconnect.clone() {
                slot.conn = Some(options.connect().await?);
                super::priority::lower_sqlite_threads();
            }
        }
        MutexGuard::try_map(slot, |s| s.conn.as_mut()).map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the write connection was lost",
            ))
        })
    }

    /// Closes the connection once its holder is done; every later
    /// [`connection`](Self::connection) fails.
    pub async fn close(&self) {
        let mut slot = self.slot.lock().await;
        slot.closed = true;
        if let Some(conn) = slot.conn.take() {
            drop(tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await);
        }
    }
}
