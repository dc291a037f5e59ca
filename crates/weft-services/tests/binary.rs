//! The `weft-services` binary starts both servers, and stops them when its
//! standard input closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The port in `url` (`scheme://user@host:port/...`).
fn port(url: &str) -> u16 {
    let after_host = url.rsplit_once(':').expect("a port").1;
    let digits: String = after_host
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a port number")
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let start = line
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {line}"))
        + key.len();
    let len = line[start..].find('"').expect("a closing quote");
    &line[start..start + len]
}

fn listens(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn starts_both_and_stops_them_when_stdin_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-services"))
        .args(["--postgres", "--redis"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("weft-services runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let postgres = field(&line, "postgres");
    let redis = field(&line, "redis");
    assert!(
        postgres.starts_with("postgres://") && postgres.ends_with("/weft"),
        "{postgres}"
    );
    let (pg_port, redis_port) = (port(postgres), port(redis));

    let mut socket = TcpStream::connect(("127.0.0.1", redis_port)).expect("Redis listens");
    socket.write_all(b"PING\r\n").unwrap();
    let mut reply = [0; 7];
    socket.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+PONG\r\n");
    drop(socket);
    assert!(listens(pg_port), "PostgreSQL listens");

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while listens(pg_port) || listens(redis_port) {
        assert!(Instant::now() < deadline, "a server still listens");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn refuses_an_unknown_argument() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft-services"))
        .arg("--mysql")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--mysql\""));
}
