//! The server on PostgreSQL: one server process at a time on a database
//! (several relay rooms through Redis: `nodes.rs`),
//! the next one serving what the first stored, and the database stopped
//! under a running server.

use crate::binary::{self, Serving};
use crate::client::start;
use crate::peer::{health_with_status, Peer};
use crate::pg;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use weft::journal::CompactionPolicy;
use weft_server::storage::{Location, Storage};
use weft_server::Config;

const LONG: Duration = Duration::from_secs(30);

/// Polls `/health` until `wanted` holds for its body (fails after
/// [`LONG`]); returns the status code and body.
async fn health_until(addr: SocketAddr, wanted: impl Fn(&Value) -> bool) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let (code, body) = health_with_status(addr).await;
        if wanted(&body) {
            return (code, body);
        }
        assert!(tokio::time::Instant::now() < deadline, "{code} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server process started with `--postgres` serves a room and stores
/// it; a second process on the same database refuses to start while the
/// first runs (without --redis, nothing relays rooms between them), and
/// once the first is gone, serves a new client everything the first
/// stored.
#[tokio::test]
async fn the_next_server_on_the_database_serves_what_the_first_stored() {
    let database = pg::Database::create(pg::shared(), "two_servers").await;
    let first = Serving::start(&["--port", "0", "--postgres", &database.url], &[]);
    let (_, health) = health_until(first.addr(), |h| h["status"] == "ok").await;
    assert!(health["stored_bytes"].is_u64(), "{health}");
    let mut ada = Peer::join(first.addr(), "shared", "ada", 1).await;
    ada.until_synced().await;
    ada.append("typed on the first server\n").await;
    ada.until_durable(LONG).await;

    let args = ["--port", "0", "--postgres", &database.url];
    let refused = binary::run_until_exit(&args, &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another weft-server is using the database"),
        "{stderr}"
    );
    drop((ada, first));
    database.until_no_server().await;
    let second = Serving::start(&args, &[]);
    let mut bob = Peer::join(second.addr(), "shared", "bob", 2).await;
    bob.until(LONG, |b| b.doc.to_string() == "typed on the first server\n")
        .await;
    bob.append("and on the second\n").await;
    bob.until_durable(LONG).await;
    drop(second);

    let storage = Storage::open(&Location::postgres(&database.url).unwrap())
        .await
        .unwrap();
    let room = storage
        .load("shared", 3, CompactionPolicy::default())
        .await
        .unwrap();
    assert_eq!(
        room.doc.to_string(),
        "typed on the first server\nand on the second\n"
    );
    storage.close().await;
}

/// PostgreSQL stopped under a running server: `/health` says so at once
/// (503 `storage-unreachable` while nothing is written, then
/// `storage-failed` once a write found its connection gone), nothing is
/// acknowledged meanwhile; once PostgreSQL is back (the same data, the same
/// port), the server reopens its storage, reloads the room with memory
/// merged in, stores what it lacks and acknowledges it, and stores new
/// edits. Everything acknowledged is in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_postgres_stops_acknowledges_nothing_until_it_is_back() {
    let mut cluster = pg::Cluster::start();
    let database = pg::Database::create(&cluster, "stopped").await;
    let location = Location::postgres(&database.url).unwrap();
    let server = start(Config {
        storage: Some(location.clone()),
        // Longer than the test: the room stays loaded.
        room_idle: Duration::from_secs(600),
        ..Config::default()
    })
    .await;
    let addr = server.addr;
    let mut ada = Peer::join(addr, "r", "ada", 1).await;
    ada.until_synced().await;
    ada.append("before\n").await;
    ada.until_durable(LONG).await;

    cluster.stop();
    let (code, down) = health_until(addr, |h| h["status"] != "ok").await;
    assert_eq!(code, 503, "{down}");
    assert_eq!(down["status"], "storage-unreachable", "{down}");
    assert_eq!(down["storage"]["state"], "unreachable", "{down}");
    assert!(down["storage"]["unreachable"].is_string(), "{down}");

    // An edit while it is down: its write fails, and it is not
    // acknowledged.
    ada.append("during\n").await;
    let during = ada.doc.version();
    let failed = tokio::time::timeout(LONG, async {
        loop {
            ada.pump_for(Duration::from_millis(100)).await;
            let (code, health) = health_with_status(addr).await;
            if health["status"] == "storage-failed" {
                break (code, health);
            }
        }
    })
    .await
    .expect("the write fails in time");
    assert_eq!(failed.0, 503, "{}", failed.1);
    assert_eq!(failed.1["storage"]["failures"], 1, "{}", failed.1);
    assert!(!ada.durable.includes(&during), "acknowledged while down");

    cluster.start_again();
    let (code, back) = health_until(addr, |h| h["status"] == "ok").await;
    assert_eq!(code, 200, "{back}");
    assert!(back["storage"]["recovered_at"].is_string(), "{back}");
    ada.until_durable(LONG).await;
    ada.append("after\n").await;
    ada.until_durable(LONG).await;
    let text = ada.doc.to_string();
    assert_eq!(text, "before\nduring\nafter\n");
    drop(ada);
    server.shutdown().await;

    let storage = Storage::open(&location).await.unwrap();
    let room = storage
        .load("r", 2, CompactionPolicy::default())
        .await
        .unwrap();
    assert_eq!(room.doc.to_string(), text);
    storage.close().await;
}
