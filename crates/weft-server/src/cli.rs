//! The command line: each flag with its default and help, turned into a
//! [`Config`]. Ranges are checked in one place, [`Limits::validate`]; the
//! help text only states them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use weft_server::auth::{parse_ttl, Auth, Role, SecretError};
use weft_server::bus::RedisUrl;
use weft_server::storage::Location;
use weft_server::{Config, LimitError, Limits};

/// The Weft server: signaling for WebRTC and a stored replica of each room
/// at /signal (WebSocket), JSON counts and caps at /health.
///
/// Every flag can also be set by the environment variable shown beside it
/// (the flag wins when both are given).
///
/// Stops on Ctrl-C or SIGTERM: every connection is closed with 1001 and the
/// process exits within 3 seconds whatever clients do.
#[derive(Debug, Parser)]
#[command(
    name = "weft-server",
    after_long_help = MEMORY,
    // A repeated flag takes its last value, and a negative number is a
    // value (refused with its flag's range), not an unknown flag.
    args_override_self = true,
    allow_negative_numbers = true
)]
pub struct Cli {
    /// IP address to listen on
    #[arg(
        long,
        env = "WEFT_BIND",
        value_name = "ADDR",
        default_value = "127.0.0.1"
    )]
    bind: IpAddr,
    /// Port (0: any free port)
    #[arg(long, value_name = "N", env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Also serve the files in DIR
    #[arg(long = "static", value_name = "DIR", env = "WEFT_STATIC")]
    static_dir: Option<PathBuf>,
    /// Keep rooms in DIR (one SQLite file, weft.sqlite3, created if missing)
    #[arg(
        long = "data",
        value_name = "DIR",
        env = "WEFT_DATA",
        default_value = "weft-data"
    )]
    data_dir: PathBuf,
    /// Keep rooms in memory only: they are gone when the server stops
    /// (--data is then ignored)
    #[arg(
        long,
        env = "WEFT_MEMORY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    memory: bool,
    /// Keep rooms in this PostgreSQL database instead of SQLite
    /// (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE; PGPASSWORD and
    /// ~/.pgpass are read too). --data is then ignored. Several servers
    /// share one database only with --redis
    #[arg(
        long,
        env = "WEFT_POSTGRES",
        value_name = "URL",
        value_parser = POSTGRES_URL,
        conflicts_with = "memory",
        hide_env_values = true
    )]
    postgres: Option<Location>,
    /// Relay rooms through this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB])
    /// with the other servers on the --postgres database, every one of them
    /// started with it: clients may then connect to any of them
    #[arg(
        long,
        env = "WEFT_REDIS",
        value_name = "URL",
        value_parser = REDIS_URL,
        requires = "postgres",
        hide_env_values = true
    )]
    redis: Option<RedisUrl>,
    /// Unload a room nobody has synced for this long (seconds, 1 to 86400)
    #[arg(long, env = "WEFT_ROOM_IDLE_SECS", value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    room_idle_secs: u64,
    /// Require an access token to join a room: an HS256 JWT signed with the
    /// secret in FILE (at least 32 bytes), naming the room (or a prefix
    /// ending in *), the role read or write, and an expiry. Without it,
    /// rooms are open to anyone who knows their name
    #[arg(
        long,
        value_name = "FILE",
        env = "WEFT_AUTH_SECRET_FILE",
        global = true
    )]
    auth_secret_file: Option<PathBuf>,
    #[command(flatten, next_help_heading = LIMITS)]
    limits: LimitFlags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an access token signed with --auth-secret-file, for
    /// development (an app's backend mints its own: see the README)
    Token {
        /// The room, or a prefix ending in * (team/* grants every room
        /// whose name starts with team/)
        #[arg(long, value_name = "ROOM")]
        room: String,
        /// What the token lets its holder do
        #[arg(long, value_enum)]
        role: RoleArg,
        /// How long it is valid: a whole number and s, m, h or d
        #[arg(long, value_name = "TIME", default_value = "1h", value_parser = parse_ttl)]
        ttl: Duration,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Receive the document; changes are refused
    Read,
    /// Read and change the document
    Write,
}

/// What a token to print grants.
pub struct TokenRequest<'a> {
    pub room: &'a str,
    pub role: Role,
    pub ttl: Duration,
}

const LIMITS: &str = "Limits (a value out of range is refused at start-up)";

const MEMORY: &str = "Memory for queues is at most max-queued-bytes, plus per \
connection one message being written and up to 2 x max-message-bytes being \
read; sync messages being received hold at most max-sync-receive-bytes.";

/// One flag per field of [`Limits`], named as in [`LimitError`].
#[derive(Debug, Args)]
struct LimitFlags {
    /// Largest message a client may send, 1024 to 16777216
    #[arg(long, env = "WEFT_MAX_MESSAGE_BYTES", value_name = "N", default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Rooms one connection may be in, 1 to 1024
    #[arg(long, env = "WEFT_MAX_ROOMS", value_name = "N", default_value_t = Limits::default().max_rooms_per_connection)]
    max_rooms: usize,
    /// Peers in one room, 2 to 100000
    #[arg(long, env = "WEFT_MAX_PEERS_PER_ROOM", value_name = "N", default_value_t = Limits::default().max_peers_per_room)]
    max_peers_per_room: usize,
    /// Peers in one room from one address (an IPv4 address or an IPv6 /64;
    /// behind a proxy every client has the proxy's), 1 to 100000
    #[arg(long, env = "WEFT_MAX_PEERS_PER_ADDRESS", value_name = "N", default_value_t = Limits::default().max_peers_per_address)]
    max_peers_per_address: usize,
    /// Open connections; more are closed with 1013, 1 to 1000000
    #[arg(long, env = "WEFT_MAX_CONNECTIONS", value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Rooms on the server; joining more is refused with server-full, 1 to
    /// 10000000
    #[arg(long, env = "WEFT_MAX_TOTAL_ROOMS", value_name = "N", default_value_t = Limits::default().max_rooms)]
    max_total_rooms: usize,
    /// Messages a connection may send per second on average, above 0 to
    /// 1000000
    #[arg(long, env = "WEFT_MESSAGES_PER_SECOND", value_name = "R", default_value_t = Limits::default().messages_per_second)]
    messages_per_second: f64,
    /// `None`: the default burst, or the rate if higher (a burst smaller
    /// than the rate would make the rate unreachable).
    #[arg(long, env = "WEFT_MESSAGE_BURST", value_name = "N", help = burst_help(" "), long_help = burst_help("\n\n"))]
    message_burst: Option<f64>,
    /// Close a connection that sends nothing for this long (4000), 1 to
    /// 86400
    #[arg(long, env = "WEFT_IDLE_TIMEOUT_SECS", value_name = "N", default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,
    /// Close a connection that takes longer than this to accept one
    /// message: it stopped reading (4001), 1 to 86400
    #[arg(long, env = "WEFT_WRITE_TIMEOUT_SECS", value_name = "N", default_value_t = Limits::default().write_timeout.as_secs())]
    write_timeout_secs: u64,
    /// Messages waiting for one client before more are refused
    /// (peer-not-reading), 1 to 1000000
    #[arg(long, env = "WEFT_QUEUE_MESSAGES", value_name = "N", default_value_t = Limits::default().queue_messages)]
    queue_messages: usize,
    /// ...and bytes, 2 x max-message-bytes to 1073741824
    #[arg(long, env = "WEFT_QUEUE_BYTES", value_name = "N", default_value_t = Limits::default().queue_bytes)]
    queue_bytes: usize,
    /// Bytes waiting for all clients together before more are refused
    /// (server-busy), queue-bytes to 1099511627776
    #[arg(long, env = "WEFT_MAX_QUEUED_BYTES", value_name = "N", default_value_t = Limits::default().max_queued_bytes)]
    max_queued_bytes: usize,
    /// Sync frames (up to 16 KiB each) a connection may send per second on
    /// average, above 0 to 1000000
    #[arg(long, env = "WEFT_SYNC_FRAMES_PER_SECOND", value_name = "R", default_value_t = Limits::default().sync_frames_per_second)]
    sync_frames_per_second: f64,
    /// ...and in a burst (a whole document uploaded at once), 1 to 1000000
    #[arg(long, env = "WEFT_SYNC_FRAME_BURST", value_name = "N", default_value_t = Limits::default().sync_frame_burst)]
    sync_frame_burst: f64,
    /// Bytes of sync frames waiting for one client; beyond them it is
    /// closed (4001) and resyncs on reconnecting, 16400 to 1099511627776 (all
    /// clients together stay within max-queued-bytes)
    #[arg(long, env = "WEFT_SYNC_QUEUE_BYTES", value_name = "N", default_value_t = Limits::default().sync_queue_bytes)]
    sync_queue_bytes: usize,
    /// Rooms loaded in memory at once; idle ones are unloaded to load
    /// another, and joins are refused (1013) while none is idle, 1 to
    /// 10000000
    #[arg(long, env = "WEFT_MAX_LOADED_ROOMS", value_name = "N", default_value_t = Limits::default().max_loaded_rooms)]
    max_loaded_rooms: usize,
    /// Bytes of sync messages one connection may hold while their frames
    /// arrive (a larger message cannot be received); beyond them it is
    /// closed (1013), 16384 to 1099511627776
    #[arg(long, env = "WEFT_SYNC_RECEIVE_BYTES", value_name = "N", default_value_t = Limits::default().sync_receive_bytes)]
    sync_receive_bytes: usize,
    /// ...and all connections together, sync-receive-bytes to
    /// 1099511627776
    #[arg(long, env = "WEFT_MAX_SYNC_RECEIVE_BYTES", value_name = "N", default_value_t = Limits::default().max_sync_receive_bytes)]
    max_sync_receive_bytes: usize,
}

/// A URL flag (`--postgres`, `--redis`) parsed by `parse`, so a malformed
/// one stops the server before it listens. Its error never repeats the
/// value (clap's would): the URL may hold a password.
#[derive(Clone)]
struct SecretUrl<T> {
    flag: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

const POSTGRES_URL: SecretUrl<Location> = SecretUrl {
    flag: "--postgres <URL>",
    parse: |url| Location::postgres(url).map_err(|e| e.to_string()),
};

const REDIS_URL: SecretUrl<RedisUrl> = SecretUrl {
    flag: "--redis <URL>",
    parse: |url| RedisUrl::new(url).map_err(|e| e.to_string()),
};

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for SecretUrl<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let refused = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "invalid value for '{}' (not shown: it may hold a password): {why}\n",
                    self.flag
                ),
            )
        };
        let url = value.to_str().ok_or_else(|| refused("not UTF-8".into()))?;
        (self.parse)(url).map_err(refused)
    }
}

/// The burst's help, its default `between` the range and the default as
/// clap places them: a space in `-h`, a blank line in `--help`.
fn burst_help(between: &str) -> String {
    let burst = Limits::default().message_burst;
    format!("...and in a burst, 1 to 1000000{between}[default: {burst}, or the rate if higher]")
}

impl Cli {
    /// The secret tokens are checked (and minted) with, if one is set.
    ///
    /// # Errors
    /// The file cannot be read or holds too short a secret.
    pub fn auth(&self) -> Result<Option<Auth>, SecretError> {
        self.auth_secret_file
            .as_deref()
            .map(Auth::from_file)
            .transpose()
    }

    /// The token to print instead of serving (`weft-server token ...`).
    pub fn token_request(&self) -> Option<TokenRequest<'_>> {
        let Some(Command::Token { room, role, ttl }) = &self.command else {
            return None;
        };
        let role = match role {
            RoleArg::Read => Role::Read,
            RoleArg::Write => Role::Write,
        };
        Some(TokenRequest {
            room,
            role,
            ttl: *ttl,
        })
    }

    /// Where to listen and how to serve.
    ///
    /// # Errors
    /// The first limit out of range ([`Limits::validate`]).
    pub fn into_config(self) -> Result<(SocketAddr, Config), LimitError> {
        let limits = self.limits.into_limits();
        limits.validate()?;
        let config = Config {
            limits,
            static_dir: self.static_dir,
            storage: match (self.memory, self.postgres) {
                (true, _) => None,
                (false, Some(postgres)) => Some(postgres),
                (false, None) => Some(Location::Sqlite(self.data_dir)),
            },
            room_idle: Duration::from_secs(self.room_idle_secs),
            auth: None,
            redis: self.redis,
        };
        Ok((SocketAddr::new(self.bind, self.port), config))
    }
}

impl LimitFlags {
    fn into_limits(self) -> Limits {
        let rate = self.messages_per_second;
        let burst = self
            .message_burst
            .unwrap_or(Limits::default().message_burst.max(rate));
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_rooms_per_connection: self.max_rooms,
            max_peers_per_room: self.max_peers_per_room,
            max_peers_per_address: self.max_peers_per_address,
            max_connections: self.max_connections,
            max_rooms: self.max_total_rooms,
            messages_per_second: rate,
            message_burst: burst,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            write_timeout: Duration::from_secs(self.write_timeout_secs),
            queue_messages: self.queue_messages,
            queue_bytes: self.queue_bytes,
            max_queued_bytes: self.max_queued_bytes,
            sync_frames_per_second: self.sync_frames_per_second,
            sync_frame_burst: self.sync_frame_burst,
            sync_queue_bytes: self.sync_queue_bytes,
            max_loaded_rooms: self.max_loaded_rooms,
            sync_receive_bytes: self.sync_receive_bytes,
            max_sync_receive_bytes: self.max_sync_receive_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_has_its_environment_variable() {
        let command = Cli::command();
        let mut flags = 0;
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long().filter(|l| *l != "help") else {
                continue;
            };
            let expected = match long {
                "port" => "PORT".to_owned(),
                _ => format!("WEFT_{}", long.replace('-', "_").to_uppercase()),
            };
            let env = arg.get_env().and_then(|e| e.to_str());
            assert_eq!(env, Some(expected.as_str()), "--{long}");
            flags += 1;
        }
        assert!(flags > 20, "only {flags} flags seen");
    }

    #[test]
    fn no_flags_give_the_default_limits() {
        let cli = Cli::try_parse_from(["weft-server", "--port", "1"]).unwrap();
        let (addr, config) = cli.into_config().unwrap();
        assert_eq!(addr, "127.0.0.1:1".parse().unwrap());
        assert_eq!(
            format!("{:?}", config.limits),
            format!("{:?}", Limits::default())
        );
    }

    #[test]
    fn postgres_replaces_the_data_directory() {
        let storage = |args: &[&str]| {
            let cli = Cli::try_parse_from(["weft-server"].iter().chain(args))?;
            Ok::<_, clap::Error>(cli.into_config().unwrap().1.storage)
        };
        let sqlite = storage(&["--data", "d"]).unwrap().unwrap();
        assert!(matches!(sqlite, Location::Sqlite(dir) if dir == std::path::Path::new("d")));
        let url = "postgres://weft:secret@db:5433/rooms";
        let postgres = storage(&["--data", "d", "--postgres", url]).unwrap();
        assert_eq!(
            postgres.unwrap().to_string(),
            "postgres://weft@db:5433/rooms"
        );
        assert!(storage(&["--memory"]).unwrap().is_none());
        assert!(storage(&["--postgres", url, "--memory"]).is_err());
        assert!(storage(&["--postgres", "db:5432"]).is_err());
        // A malformed URL's error does not repeat its password.
        let bad = "postgres://weft:secret@db:notaport/rooms";
        let err = storage(&["--postgres", bad]).unwrap_err().to_string();
        assert!(err.contains("--postgres"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn redis_needs_postgres_and_never_shows_its_password() {
        let redis = |args: &[&str]| {
            let cli = Cli::try_parse_from(["weft-server"].iter().chain(args))?;
            Ok::<_, clap::Error>(cli.into_config().unwrap().1.redis)
        };
        let pg = "postgres://weft@db/rooms";
        let url = "redis://:secret@cache:6380/2";
        let parsed = redis(&["--postgres", pg, "--redis", url]).unwrap().unwrap();
        assert_eq!(parsed.as_str(), url);
        assert_eq!(parsed.to_string(), "redis://cache:6380");
        assert!(!format!("{parsed:?}").contains("secret"));
        assert!(redis(&["--postgres", pg]).unwrap().is_none());
        let alone = redis(&["--redis", url]).unwrap_err().to_string();
        assert!(alone.contains("--postgres"), "{alone}");
        let bad = "rediss+nonsense://:secret@cache";
        let err = redis(&["--postgres", pg, "--redis", bad])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--redis"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn the_burst_is_at_least_the_rate_unless_given() {
        let burst = |args: &[&str]| {
            let cli = Cli::try_parse_from(["weft-server"].iter().chain(args)).unwrap();
            cli.into_config().map(|(_, c)| c.limits.message_burst)
        };
        assert_eq!(burst(&["--messages-per-second", "800"]), Ok(800.0));
        assert_eq!(burst(&["--messages-per-second", "8"]), Ok(500.0));
        let refused = burst(&["--messages-per-second", "800", "--message-burst", "0"]);
        assert_eq!(refused.unwrap_err().flag, "--message-burst");
    }
}
