//! Several server processes on one PostgreSQL database relaying rooms
//! through one Redis: clients on different servers edit one room
//! together, a server started later serves it whole, and edits made
//! while Redis was down arrive once it is back (the version exchange).

use crate::binary::{self, Serving};
use crate::peer::{health_with_status, Peer};
use crate::pg;
use crate::redis::Redis;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

fn node(database: &str, redis: &Redis) -> Serving {
    Serving::start(
        &[
            "--port",
            "0",
            "--postgres",
            database,
            "--redis",
            &redis.url(),
        ],
        &[],
    )
}

#[tokio::test]
async fn clients_on_different_servers_edit_one_room() {
    let database = pg::Database::create(pg::shared(), "nodes").await;
    let mut redis = Redis::start();
    let (first, second) = (node(&database.url, &redis), node(&database.url, &redis));
    let mut ada = Peer::join(first.addr(), "shared", "ada", 1).await;
    let mut bob = Peer::join(second.addr(), "shared", "bob", 2).await;
    ada.until_synced().await;
    bob.until_synced().await;
    ada.append("from ada\n").await;
    bob.until(LONG, |b| b.doc.to_string() == "from ada\n").await;
    bob.append("from bob\n").await;
    ada.until(LONG, |a| a.doc.to_string() == "from ada\nfrom bob\n")
        .await;
    // Each server stores what it merged: both acknowledge.
    ada.until_durable(LONG).await;
    bob.until_durable(LONG).await;

    // A server started now serves the whole room at once.
    let third = node(&database.url, &redis);
    let mut carol = Peer::join(third.addr(), "shared", "carol", 3).await;
    carol
        .until(LONG, |c| c.doc.to_string() == "from ada\nfrom bob\n")
        .await;

    // Redis goes away and comes back empty: what was typed meanwhile
    // arrives all the same.
    redis.stop();
    ada.append("while redis was down\n").await;
    ada.until_durable(LONG).await;
    redis.start_again();
    let all = "from ada\nfrom bob\nwhile redis was down\n";
    bob.until(LONG, |b| b.doc.to_string() == all).await;
    carol.until(LONG, |c| c.doc.to_string() == all).await;
}

/// A server with --redis and one without exclude each other on a
/// database, and --redis needs --postgres.
#[tokio::test]
async fn a_server_alone_and_relaying_servers_do_not_mix() {
    let database = pg::Database::create(pg::shared(), "mixed").await;
    let redis = Redis::start();
    let relaying = node(&database.url, &redis);
    // Listening comes first; the database is opened next.
    while health_with_status(relaying.addr()).await.1["status"] != "ok" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alone = binary::run_until_exit(&["--port", "0", "--postgres", &database.url], &[]);
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert_eq!(alone.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("through Redis"), "{stderr}");
    drop(relaying);
    let no_postgres = binary::run_until_exit(&["--port", "0", "--redis", &redis.url()], &[]);
    let stderr = String::from_utf8_lossy(&no_postgres.stderr);
    assert_eq!(no_postgres.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--postgres"), "{stderr}");
}
