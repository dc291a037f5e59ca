//! The open database, whichever backend it is: the one place that
//! chooses between them, at run time.

use super::backend::{Pools, Refused, SCHEMA_VERSION};
use super::{postgres, sqlite, Location, Sharing, StorageError};
use sqlx::{Postgres, Sqlite};

/// The pools of the database the storage runs on.
#[derive(Clone)]
pub enum Connections {
    Sqlite(Pools<Sqlite>),
    Postgres(Pools<Postgres>),
}

/// Runs `$body` with `$pools` bound to the backend's [`Pools`]: the body is
/// compiled once per backend, so `Backend::load(&$pools.reads, ...)` and
/// the like pick the backend's implementation.
macro_rules! on_backend {
    ($connections:expr, $pools:ident => $body:expr) => {
        match $connections {
            $crate::storage::connections::Connections::Sqlite($pools) => $body,
            $crate::storage::connections::Connections::Postgres($pools) => $body,
        }
    };
}
pub(crate) use on_backend;

impl Connections {
    /// Opens `location`, creating the SQLite directory if missing.
    ///
    /// # Errors
    /// [`StorageError::Open`] or [`StorageError::UnsupportedSchema`].
    pub async fn open(location: &Location, sharing: Sharing) -> Result<Connections, StorageError> {
        let open_failed = |source| StorageError::Open {
            location: location.clone(),
            source,
        };
        let connected = match location {
            Location::Sqlite(_) if sharing == Sharing::Shared => {
                return Err(open_failed(sqlx::Error::Configuration(
                    "a SQLite file belongs to one server: servers that share rooms need PostgreSQL"
                        .into(),
                )))
            }
            Location::Sqlite(dir) => {
                // Blocking, but once per open and short.
                std::fs::create_dir_all(dir).map_err(|e| open_failed(sqlx::Error::Io(e)))?;
                let file = dir.join(super::location::SQLITE_FILE);
                sqlite::connect(&file).await.map(Connections::Sqlite)
            }
            Location::Postgres(options) => postgres::connect(options, sharing)
                .await
                .map(Connections::Postgres),
        };
        connected.map_err(|refused| match refused {
            Refused::Failed(source) => open_failed(source),
            Refused::Newer(found) => StorageError::UnsupportedSchema {
                location: location.clone(),
                found,
                supported: SCHEMA_VERSION,
            },
            Refused::InUse => StorageError::InUse {
                location: location.clone(),
            },
        })
    }

    /// Closes the pools, once the calls using them are done.
    pub async fn close(&self) {
        on_backend!(self, pools => pools.close().await)
    }

    /// Frees what the write connection caches. SQLite's page cache lives
    /// in this process; PostgreSQL's is the database server's, so there is
    /// nothing to free here.
    pub async fn release_memory(&self) -> Result<(), sqlx::Error> {
        match self {
            Connections::Sqlite(pools) => sqlite::release_memory(pools).await,
            Connections::Postgres(_) => Ok(()),
        }
    }
}
