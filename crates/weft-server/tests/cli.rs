//! The `weft-server` binary: `--help`, limits out of range at start-up,
//! values that do not parse, unknown flags, and flags set through the
//! environment.

#[path = "support/binary.rs"]
mod binary;

use binary::Serving;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;

/// Runs the binary on a free port; fails if it is still running after 5 s
/// (it would be serving when it should have refused to start).
fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

/// [`run`] with environment variables `env` set.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<&str> = ["--port", "0"].iter().chain(args).copied().collect();
    binary::run_until_exit(&args, env)
}

#[test]
fn limits_out_of_range_stop_it_with_a_message() {
    let cases = [
        ("--idle-timeout-secs", "18446744073709551615"),
        ("--idle-timeout-secs", "0"),
        ("--write-timeout-secs", "86401"),
        ("--max-peers-per-room", "0"),
        ("--max-peers-per-room", "1"),
        ("--max-peers-per-address", "0"),
        ("--max-connections", "0"),
        ("--max-total-rooms", "0"),
        ("--max-rooms", "0"),
        ("--max-message-bytes", "10"),
        ("--messages-per-second", "0"),
        ("--messages-per-second", "NaN"),
        ("--message-burst", "inf"),
        ("--queue-messages", "0"),
        ("--queue-bytes", "1000"),
        ("--max-queued-bytes", "1000"),
        ("--sync-receive-bytes", "1000"),
        ("--max-sync-receive-bytes", "16383"),
    ];
    for (flag, value) in cases {
        let out = run(&[flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        let expected = format!("error: {flag} must be ");
        assert!(first.starts_with(&expected), "{flag} {value}: {stderr}");
        assert!(
            first.ends_with(&format!("not {value}")) || flag.ends_with("-secs"),
            "{flag} {value}: {stderr}"
        );
    }
}

#[test]
fn values_that_do_not_parse_and_unknown_flags_are_refused() {
    let cases: [&[&str]; 5] = [
        &["--max-connections", "many"],
        &["--max-rooms", "-1"],
        &["--bind", "localhost"],
        &["--port", "65536"],
        &["--queue-bytes"],
    ];
    for args in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("'{} <", args[0])),
            "{args:?}: {stderr}"
        );
    }
    let out = run(&["--max-conections", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: unexpected argument '--max-conections'"),
        "{stderr}"
    );
}

#[test]
fn help_lists_every_limit() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for text in ["[default: ", "[env: PORT", "Memory for queues", "SIGTERM"] {
        assert!(help.contains(text), "{text} missing:\n{help}");
    }
    for flag in [
        "--bind",
        "--port",
        "--static",
        "--max-message-bytes",
        "--max-rooms",
        "--max-peers-per-room",
        "--max-peers-per-address",
        "--max-connections",
        "--max-total-rooms",
        "--messages-per-second",
        "--message-burst",
        "--idle-timeout-secs",
        "--write-timeout-secs",
        "--queue-messages",
        "--queue-bytes",
        "--max-queued-bytes",
        "--sync-frames-per-second",
        "--sync-frame-burst",
        "--sync-queue-bytes",
        "--max-loaded-rooms",
        "--sync-receive-bytes",
        "--max-sync-receive-bytes",
        "--room-idle-secs",
        "--data",
    ] {
        assert!(
            help.contains(&format!("  {flag} ")),
            "{flag} missing:\n{help}"
        );
    }
}

/// The names of every flag's environment variable, as `--help` must show
/// them: `WEFT_` and the flag in upper snake case, except `PORT`.
const ENV_VARS: &[&str] = &[
    "WEFT_BIND",
    "PORT",
    "WEFT_STATIC",
    "WEFT_DATA",
    "WEFT_MEMORY",
    "WEFT_ROOM_IDLE_SECS",
    "WEFT_MAX_MESSAGE_BYTES",
    "WEFT_MAX_ROOMS",
    "WEFT_MAX_PEERS_PER_ROOM",
    "WEFT_MAX_PEERS_PER_ADDRESS",
    "WEFT_MAX_CONNECTIONS",
    "WEFT_MAX_TOTAL_ROOMS",
    "WEFT_MESSAGES_PER_SECOND",
    "WEFT_MESSAGE_BURST",
    "WEFT_IDLE_TIMEOUT_SECS",
    "WEFT_WRITE_TIMEOUT_SECS",
    "WEFT_QUEUE_MESSAGES",
    "WEFT_QUEUE_BYTES",
    "WEFT_MAX_QUEUED_BYTES",
    "WEFT_SYNC_FRAMES_PER_SECOND",
    "WEFT_SYNC_FRAME_BURST",
    "WEFT_SYNC_QUEUE_BYTES",
    "WEFT_MAX_LOADED_ROOMS",
    "WEFT_SYNC_RECEIVE_BYTES",
    "WEFT_MAX_SYNC_RECEIVE_BYTES",
    "WEFT_AUTH_SECRET_FILE",
    "WEFT_POSTGRES",
];

#[test]
fn help_names_every_environment_variable() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in ENV_VARS {
        // A URL's value is hidden: it may hold a password.
        assert!(
            help.contains(&format!("[env: {var}=")) || help.contains(&format!("[env: {var}]")),
            "{var} missing:\n{help}"
        );
    }
    // Each beside its flag's default.
    let bind = help.split("--bind").nth(1).unwrap();
    let bind = &bind[..bind.find("--port").unwrap()];
    assert!(bind.contains("[env: WEFT_BIND=]"), "{bind}");
    assert!(bind.contains("[default: 127.0.0.1]"), "{bind}");
}

/// The body of `GET /health` from the server at `url` (`http://host:port/`).
fn health(url: &str) -> serde_json::Value {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[test]
fn environment_variables_set_their_flags() {
    let data = tempfile::tempdir().unwrap();
    let stored = data.path().join("rooms");
    let stored = stored.to_str().unwrap();
    // A limit, the address, the port and the data directory, all from the
    // environment.
    let server = Serving::start(
        &[],
        &[
            ("WEFT_MAX_CONNECTIONS", "7"),
            ("WEFT_BIND", "127.0.0.2"),
            ("PORT", "0"),
            ("WEFT_DATA", stored),
        ],
    );
    assert!(
        server.url.starts_with("http://127.0.0.2:"),
        "{}",
        server.url
    );
    assert_eq!(health(&server.url)["max_connections"], 7);
    assert!(std::path::Path::new(stored).join("weft.sqlite3").exists());
    drop(server);
    // A flag given on the command line wins over its variable; WEFT_MEMORY
    // takes 1 as true, and then nothing is stored.
    let other = data.path().join("unused");
    let server = Serving::start(
        &["--port", "0", "--max-connections", "9"],
        &[
            ("WEFT_MAX_CONNECTIONS", "7"),
            ("WEFT_MEMORY", "1"),
            ("WEFT_DATA", other.to_str().unwrap()),
        ],
    );
    let health = health(&server.url);
    assert_eq!(health["max_connections"], 9);
    assert_eq!(health["storage"]["state"], "memory", "{health}");
    assert!(!other.exists());
    drop(server);
    // A value out of range from the environment is refused like a flag's.
    let out = run_with(&[], &[("WEFT_MAX_LOADED_ROOMS", "0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --max-loaded-rooms must be "),
        "{stderr}"
    );
}

/// A malformed PostgreSQL URL stops the server before it listens (code 2);
/// a database that cannot be reached stops it with a message naming the
/// database without its password (code 1).
#[test]
fn a_postgres_that_cannot_be_used_stops_it_with_a_message() {
    let out = run(&["--postgres", "db.example:5432"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("postgres://"), "{stderr}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://weft:hunter2@127.0.0.1:{closed}/rooms");
    let out = run_with(&[], &[("WEFT_POSTGRES", &url)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let named = format!("cannot open the database postgres://weft@127.0.0.1:{closed}/rooms");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn token_prints_a_token_the_server_accepts() {
    use weft_server::auth::{Auth, Role};
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    let secret_arg = secret.to_str().unwrap();
    let args = ["token", "--room", "team/*", "--role", "read", "--ttl", "2h"];
    let out = run(&[&args[..], &["--auth-secret-file", secret_arg]].concat());
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = Auth::from_file(&secret).unwrap();
    assert_eq!(auth.check(Some(token.trim()), "team/a"), Ok(Role::Read));
    assert!(auth.check(Some(token.trim()), "other").is_err());
    // Without a secret, or with one too short, it says what is missing.
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--auth-secret-file"));
    std::fs::write(&secret, "short").unwrap();
    let out = run(&["--auth-secret-file", secret_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32"));
    let out = run(&["token", "--room", "r", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(2));
}
