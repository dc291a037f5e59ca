//! The suite runs on both databases: [`both!`] makes each test twice,
//! `name::sqlite` on a fresh directory and `name::postgres` on a fresh
//! database of the binary's throwaway PostgreSQL server. [`Raw`] is the
//! test's own connection, to look at or damage rows directly.

use crate::pg;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use tempfile::TempDir;
use weft_server::storage::{Location, Storage};

/// Writes `name::sqlite` and `name::postgres`, each with the attributes
/// given (the doc and the test's) and running the body with its
/// [`Engine`] as `engine`.
macro_rules! both {
    ($(#[$attr:meta])* async fn $name:ident($engine:ident: Engine) $body:block) => {
        mod $name {
            use super::*;

            async fn run($engine: Engine) $body

            $(#[$attr])*
            async fn sqlite() {
                run(Engine::Sqlite).await
            }

            $(#[$attr])*
            async fn postgres() {
                run(Engine::Postgres).await
            }
        }
    };
}
pub(crate) use both;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Where one test stores its rooms, empty at first.
pub struct Place {
    pub location: Location,
    /// The directory's path, or the database's URL.
    pub address: String,
    /// SQLite's directory, removed with the place.
    _dir: Option<TempDir>,
}

impl Place {
    pub async fn new(engine: Engine) -> Place {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Place {
                    location: Location::Sqlite(dir.path().to_owned()),
                    address: dir.path().display().to_string(),
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => {
                let database = pg::Database::create(pg::shared(), "storage").await;
                Place {
                    location: Location::postgres(&database.url).unwrap(),
                    address: database.url,
                    _dir: None,
                }
            }
        }
    }

    /// The location at [`Place::address`].
    pub fn location_at(address: &str) -> Location {
        match Location::postgres(address) {
            Ok(postgres) => postgres,
            Err(_) => Location::Sqlite(address.into()),
        }
    }

    /// A storage on the place (opened as many times as a test likes).
    pub async fn open(&self) -> Storage {
        Storage::open(&self.location).await.unwrap()
    }

    pub async fn raw(&self) -> Raw {
        match &self.location {
            Location::Sqlite(_) => {
                let file = self.location.sqlite_file().unwrap();
                let options = SqliteConnectOptions::new().filename(file);
                Raw::Sqlite(SqlitePool::connect_with(options).await.unwrap())
            }
            Location::Postgres(options) => Raw::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect_with((**options).clone())
                    .await
                    .unwrap(),
            ),
            _ => unreachable!("no other location"),
        }
    }
}

/// A connection of the test's own to the storage's database.
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the raw pool, whichever it is.
macro_rules! on_raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

impl Raw {
    pub fn engine(&self) -> Engine {
        match self {
            Raw::Sqlite(_) => Engine::Sqlite,
            Raw::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs `sql` (plain SQL both databases take).
    pub async fn execute(&self, sql: &str) {
        let sql = AssertSqlSafe(sql.to_owned());
        on_raw!(self, pool => sqlx::query(sql).execute(pool).await.map(drop))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The one integer `sql` returns.
    pub async fn integer(&self, sql: &str) -> i64 {
        let sql = AssertSqlSafe(sql.to_owned());
        on_raw!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await).unwrap()
    }

    /// The bytes of an entry.
    pub async fn entry(&self, table: &str, room: &str, key: i64) -> Vec<u8> {
        let sql = AssertSqlSafe(format!(
            "SELECT bytes FROM {table} WHERE room = $1 AND key = $2"
        ));
        on_raw!(self, pool => sqlx::query_scalar(sql).bind(room).bind(key).fetch_one(pool).await)
            .unwrap()
    }

    /// Overwrites an entry's bytes.
    pub async fn set_entry(&self, table: &str, room: &str, key: i64, bytes: &[u8]) {
        let sql = AssertSqlSafe(format!(
            "UPDATE {table} SET bytes = $1 WHERE room = $2 AND key = $3"
        ));
        on_raw!(self, pool => sqlx::query(sql).bind(bytes).bind(room).bind(key).execute(pool).await.map(drop))
            .unwrap();
    }

    /// The keys of `room`'s rows in `table`, in order.
    pub async fn keys(&self, table: &str, room: &str) -> Vec<i64> {
        let sql = AssertSqlSafe(format!(
            "SELECT key FROM {table} WHERE room = $1 ORDER BY key"
        ));
        on_raw!(self, pool => sqlx::query_scalar(sql).bind(room).fetch_all(pool).await).unwrap()
    }

    /// From now on every insert of a record fails its statement (the
    /// database rolls the transaction back), until [`Raw::allow_inserts`].
    pub async fn refuse_inserts(&self) {
        let statements: &[&str] = match self {
            Raw::Sqlite(_) => &["CREATE TRIGGER refuse BEFORE INSERT ON records \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END"],
            Raw::Postgres(_) => &[
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON records \
                 FOR EACH ROW EXECUTE FUNCTION refuse()",
            ],
        };
        for statement in statements {
            self.execute(statement).await;
        }
    }

    pub async fn allow_inserts(&self) {
        match self {
            Raw::Sqlite(_) => self.execute("DROP TRIGGER refuse").await,
            Raw::Postgres(_) => self.execute("DROP TRIGGER refuse ON records").await,
        }
    }

    /// From now on the COMMIT of a transaction that inserted a record
    /// (into `room` only, if given) fails, leaving the state unknown, until
    /// [`Raw::mend_commits`]. SQLite: a deferred foreign key, which it
    /// checks at COMMIT. PostgreSQL: a deferred trigger that ends its own
    /// session at COMMIT, so the answer to the COMMIT is lost.
    pub async fn break_commits(&self, room: Option<&str>) {
        let when = room.map_or(String::new(), |r| format!("WHEN (NEW.room = '{r}')"));
        let statements = match self {
            Raw::Sqlite(_) => vec![
                "CREATE TABLE parent (id INTEGER PRIMARY KEY)".to_owned(),
                "CREATE TABLE child (id INTEGER REFERENCES parent (id) \
                 DEFERRABLE INITIALLY DEFERRED)"
                    .to_owned(),
                format!(
                    "CREATE TRIGGER break_commit AFTER INSERT ON records {when} \
                     BEGIN INSERT INTO child VALUES (42); END"
                ),
            ],
            Raw::Postgres(_) => vec![
                // The sleep lets the termination take effect inside the
                // trigger, before the commit is written.
                "CREATE FUNCTION break_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); \
                 PERFORM pg_sleep(10); RETURN NULL; END $$"
                    .to_owned(),
                format!(
                    "CREATE CONSTRAINT TRIGGER break_commit AFTER INSERT ON records \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} \
                     EXECUTE FUNCTION break_commit()"
                ),
            ],
        };
        for statement in &statements {
            self.execute(statement).await;
        }
    }

    pub async fn mend_commits(&self) {
        match self {
            Raw::Sqlite(_) => self.execute("DROP TRIGGER break_commit").await,
            Raw::Postgres(_) => self.execute("DROP TRIGGER break_commit ON records").await,
        }
    }

    pub async fn close(self) {
        on_raw!(self, pool => pool.close().await)
    }
}
