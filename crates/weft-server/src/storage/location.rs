//! Where the rooms are stored: which database, and how it is named in
//! logs and errors (never with its password).

use sqlx::postgres::PgConnectOptions;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The SQLite file's name in the data directory.
pub const SQLITE_FILE: &str = "weft.sqlite3";

/// Where the rooms are stored, chosen at start-up.
#[derive(Clone)]
#[non_exhaustive]
pub enum Location {
    /// One SQLite file, `weft.sqlite3`, in this directory (both created if
    /// missing): the zero-configuration default.
    Sqlite(PathBuf),
    /// A PostgreSQL database, shared by every server started on it (the
    /// tables are created in it if missing).
    Postgres(Box<PgConnectOptions>),
}

impl Location {
    /// A PostgreSQL database from its URL,
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...]`.
    /// What the URL leaves out comes from the usual environment (`PGHOST`,
    /// `PGUSER`, `PGPASSWORD`, ...) and `~/.pgpass`, as with `psql`.
    ///
    /// # Errors
    /// The URL does not parse, or is not a `postgres://` (or
    /// `postgresql://`) one.
    pub fn postgres(url: &str) -> Result<Location, sqlx::Error> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            let wanted = "a PostgreSQL URL starts with postgres:// or postgresql://";
            return Err(sqlx::Error::Configuration(wanted.into()));
        }
        PgConnectOptions::from_str(url).map(|options| Location::Postgres(Box::new(options)))
    }

    /// The SQLite file, if the rooms are stored in one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match self {
            Location::Sqlite(dir) => Some(dir.join(SQLITE_FILE)),
            Location::Postgres(_) => None,
        }
    }
}

impl From<&Path> for Location {
    fn from(dir: &Path) -> Location {
        Location::Sqlite(dir.to_owned())
    }
}

/// The file, or `postgres://USER@HOST:PORT/DATABASE` (no password).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(dir) => write!(f, "{}", dir.join(SQLITE_FILE).display()),
            Location::Postgres(options) => {
                let user = options.get_username();
                let database = options.get_database().unwrap_or(user);
                match options.get_socket() {
                    Some(socket) => write!(
                        f,
                        "postgres://{user}@/{database} (socket in {})",
                        socket.display()
                    ),
                    None => write!(
                        f,
                        "postgres://{user}@{}:{}/{database}",
                        options.get_host(),
                        options.get_port()
                    ),
                }
            }
        }
    }
}

/// As `Display`: the connect options' own `Debug` would show the password.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_location_is_shown_without_its_password() {
        let location = Location::postgres("postgres://ada:s3cret@db.example:6543/rooms").unwrap();
        assert_eq!(location.to_string(), "postgres://ada@db.example:6543/rooms");
        assert!(!format!("{location:?}").contains("s3cret"));
        let sqlite = Location::from(Path::new("data"));
        assert_eq!(sqlite.to_string(), format!("data/{SQLITE_FILE}"));
    }

    #[test]
    fn only_postgres_urls_are_taken() {
        assert!(Location::postgres("mysql://ada@db/rooms").is_err());
        assert!(Location::postgres("postgres://ada@db:notaport/rooms").is_err());
        assert!(Location::postgres("postgresql://ada@db/rooms").is_ok());
    }
}
