//! The `weft-server` binary: `--help`, limits out of range at start-up,
//! values that do not parse and unknown flags.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary; fails if it is still running after 5 s (it would be
/// serving when it should have refused to start).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-server"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("weft-server {args:?} is still running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
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
    ] {
        assert!(
            help.contains(&format!("  {flag} ")),
            "{flag} missing:\n{help}"
        );
    }
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
