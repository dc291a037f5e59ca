//! A commit that really fails: the data directory is a tiny tmpfs that the
//! test fills up, so SQLite's commit of the next edit gets ENOSPC. The
//! server must report it on `/health` and `/metrics`, acknowledge nothing
//! while the storage is unusable, reopen it once there is room again,
//! reload every loaded room from disk (memory merged in), and store and
//! acknowledge what clients have.
//!
//! Mounting needs a mount namespace of its own: the test runs itself again
//! under `unshare --user --map-root-user --mount` (as root or not, where
//! user namespaces are allowed), and only that run does the work.

use crate::client::{closed, start};
use crate::peer::{health_with_status, metric, random_text, Peer};
use crate::sealed::Sealed;
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::SqlitePool;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;
use weft::sync::SealedMessage;
use weft_server::storage::{Location, Storage};
use weft_server::Config;

/// Set in the run inside the namespace.
const INSIDE: &str = "WEFT_TEST_INSIDE_MOUNT_NAMESPACE";

const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_failed_commit_is_reported_and_nothing_is_acknowledged_until_the_storage_recovers() {
    in_mount_namespace(
        "storage_failure::a_failed_commit_is_reported_and_nothing_is_acknowledged_until_the_storage_recovers",
        disk_full,
    );
}

#[test]
fn a_sealed_room_failing_to_store_is_reported_and_recovered_too() {
    in_mount_namespace(
        "storage_failure::a_sealed_room_failing_to_store_is_reported_and_recovered_too",
        sealed_disk_full,
    );
}

/// Runs `scenario` in this test binary run again in a mount namespace of
/// its own (the test `name` alone); fails with its output if it fails.
fn in_mount_namespace<F: Future<Output = ()>>(name: &str, scenario: impl FnOnce() -> F) {
    if std::env::var_os(INSIDE).is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        return runtime.block_on(scenario());
    }
    let out = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the run in a mount namespace failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// A tmpfs of 1 MiB mounted on a new temporary directory, and a server
/// storing rooms in it.
async fn tiny_disk() -> (TempDir, PathBuf, crate::client::Server) {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "weft-test"])
        .arg(mount.path())
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    let data = mount.path().join("data");
    let server = start(Config {
        storage: Some(Location::Sqlite(data.clone())),
        // Longer than the test: rooms stay loaded.
        room_idle: Duration::from_secs(600),
        ..Config::default()
    })
    .await;
    (mount, data, server)
}

/// Writes zeros to `file` until the file system is full.
fn fill(file: &Path) {
    let mut f = std::fs::File::create(file).unwrap();
    for chunk in [64 * 1024, 4096, 512, 1] {
        let zeros = vec![0u8; chunk];
        while f.write_all(&zeros).is_ok() {}
    }
    let _ = f.sync_all();
}

/// Polls `/health` until `wanted` holds for its status code and body.
async fn health_until(addr: SocketAddr, wanted: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let (code, body) = health_with_status(addr).await;
        if wanted(code, &body) {
            return (code, body);
        }
        assert!(tokio::time::Instant::now() < deadline, "{code} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn disk_full() {
    let (mount, data, server) = tiny_disk().await;
    let addr = server.addr;
    let (code, ok) = health_with_status(addr).await;
    assert_eq!((code, &ok["status"]), (200, &"ok".into()), "{ok}");
    assert_eq!(ok["storage"]["failures"], 0, "{ok}");
    assert!(ok["storage"]["error"].is_null(), "{ok}");

    // Two rooms loaded, each with something stored.
    let mut ada = Peer::join(addr, "a", "ada", 1).await;
    let mut bob = Peer::join(addr, "b", "bob", 2).await;
    ada.until_synced().await;
    bob.until_synced().await;
    ada.append("ada's first line\n").await;
    ada.until_durable(LONG).await;
    bob.append("bob's line, stored\n").await;
    bob.until_durable(LONG).await;
    // A connection of the test's own, opened while there is room.
    let raw =
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(data.join("weft.sqlite3")))
            .await
            .unwrap();
    let mut raw = raw.acquire().await.unwrap();

    // The disk fills up: the commit of Ada's next edit fails.
    let filler = mount.path().join("filler");
    fill(&filler);
    let (ada_durables, bob_durables) = (ada.durables, bob.durables);
    ada.append(&random_text(64 * 1024, 7)).await;
    let (code, failed) = health_until(addr, |_, h| h["status"] == "storage-failed").await;
    assert_eq!(code, 503, "{failed}");
    let storage = &failed["storage"];
    assert_eq!(storage["state"], "failed", "{failed}");
    assert_eq!(storage["failures"], 1, "{failed}");
    let error = storage["error"].as_str().unwrap().to_owned();
    assert!(error.contains("full"), "{error}");
    assert!(
        storage["failed_at"].as_str().unwrap().ends_with('Z'),
        "{failed}"
    );
    assert!(storage["recovered_at"].is_null(), "{failed}");
    assert_eq!(metric(addr, "weft_storage_failed").await, 1.0);
    assert_eq!(metric(addr, "weft_storage_failures_total").await, 1.0);
    assert!(metric(addr, "weft_commit_failures_total").await >= 1.0);

    // Nothing is acknowledged while the storage is unusable: not Ada's
    // edits (more come meanwhile), and nothing to anyone joining.
    ada.append("typed while the disk is full\n").await;
    ada.pump_for(Duration::from_millis(1500)).await;
    bob.pump_for(Duration::from_millis(300)).await;
    let mut cy = Peer::join(addr, "a", "cy", 3).await;
    cy.until_synced().await;
    cy.pump_for(Duration::from_millis(300)).await;
    assert_eq!(ada.durables, ada_durables, "acknowledged while failing");
    assert_eq!(bob.durables, bob_durables, "acknowledged while failing");
    assert_eq!(cy.durables, 0, "acknowledged while failing");
    assert!(!ada.durable.includes(&ada.doc.version()));
    let (code, still) = health_with_status(addr).await;
    assert_eq!((code, &still["status"]), (503, &"storage-failed".into()));
    drop(cy);
    // Ada's browser goes away with her unacknowledged edits (it keeps them
    // in its own storage).
    let ada_doc = ada.close();

    // What a failed fsync may cost is unknown for every room, not only the
    // one whose write failed: here Bob's room loses what it had on disk.
    // The test holds the write lock while it removes the filler and the
    // rows, so the server's reopen (which writes) waits for it.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *raw)
        .await
        .unwrap();
    std::fs::remove_file(&filler).unwrap();
    for delete in [
        "DELETE FROM records WHERE room = 'b'",
        "DELETE FROM checkpoints WHERE room = 'b'",
    ] {
        sqlx::query(delete).execute(&mut *raw).await.unwrap();
    }
    sqlx::query("COMMIT").execute(&mut *raw).await.unwrap();
    drop(raw);

    // The storage recovers; /health says so and still shows the failure.
    let (code, recovered) = health_until(addr, |_, h| h["status"] == "ok").await;
    assert_eq!(code, 200, "{recovered}");
    let storage = &recovered["storage"];
    assert_eq!(storage["state"], "ok", "{recovered}");
    assert_eq!(storage["failures"], 1, "{recovered}");
    assert_eq!(storage["error"], error.as_str(), "{recovered}");
    assert_eq!(storage["failed_at"], failed["storage"]["failed_at"]);
    assert!(storage["recovered_at"].is_string(), "{recovered}");

    // Ada comes back: her edits are stored and acknowledged.
    let mut ada = Peer::rejoin(addr, "a", "ada", ada_doc).await;
    ada.until_durable(LONG).await;
    // Bob's room was loaded again too: what its disk lost is written back
    // from memory and acknowledged to him.
    bob.until(LONG, |b| b.durables > bob_durables).await;
    assert!(bob.durable.includes(&bob.doc.version()));
    assert_eq!(metric(addr, "weft_storage_failed").await, 0.0);
    assert!(metric(addr, "weft_room_reloads_total").await >= 2.0);
    let ada_text = ada.doc.to_string();
    let bob_text = bob.doc.to_string();
    drop((ada, bob));
    server.shutdown().await;

    // The file holds every room whole.
    let storage = Storage::open(&Location::Sqlite(data.clone()))
        .await
        .unwrap();
    let policy = weft::journal::CompactionPolicy::default();
    let a = storage.load("a", 10, policy).await.unwrap();
    assert_eq!(a.doc.to_string(), ada_text);
    assert!(ada_text.ends_with("typed while the disk is full\n"));
    let b = storage.load("b", 11, policy).await.unwrap();
    assert_eq!(b.doc.to_string(), bob_text);
    assert_eq!(bob_text, "bob's line, stored\n");
    storage.close().await;
}

/// A server keeping only an encrypted room: its failed write makes the
/// storage unusable, which must be reported and recovered as for plain
/// rooms (no plain room's write is there to notice it).
async fn sealed_disk_full() {
    let (mount, _data, server) = tiny_disk().await;
    let addr = server.addr;
    let mut sealed = Sealed::open(addr, "secret", "p", 0).await;
    sealed.replay().await;
    assert_eq!(sealed.append(b"first sealed record").await, 1);
    let filler = mount.path().join("filler");
    fill(&filler);
    let body = random_text(64 * 1024, 3);
    sealed
        .send(SealedMessage::Append {
            body: body.clone().into_bytes(),
        })
        .await;
    // Not stored, so not acknowledged: the connection is closed instead
    // (the client resends on its next one).
    closed(&mut sealed.ws).await;
    let (code, failed) = health_until(addr, |_, h| h["status"] == "storage-failed").await;
    assert_eq!(code, 503, "{failed}");
    assert_eq!(failed["storage"]["failures"], 1, "{failed}");
    std::fs::remove_file(&filler).unwrap();
    let (code, recovered) = health_until(addr, |_, h| h["status"] == "ok").await;
    assert_eq!(code, 200, "{recovered}");
    let mut again = Sealed::open(addr, "secret", "q", 1).await;
    again.replay().await;
    assert!(again.append(body.as_bytes()).await > 1);
    drop((sealed, again));
    server.shutdown().await;
}
