//! A room nobody syncs is unloaded after the idle time counted from its
//! last detach, by one timer per room however often clients come and go.

use crate::client::{connect, health, health_shows, send, start};
use crate::peer::{join_sync, metric, next_text};
use serde_json::json;
use std::time::{Duration, Instant};
use weft_server::storage::Location;
use weft_server::Config;

const IDLE: Duration = Duration::from_secs(3);

/// Tasks alive in this test's runtime, where the server runs.
fn tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test]
async fn a_room_left_and_rejoined_often_has_one_timer_and_unloads_once_idle() {
    let data = tempfile::tempdir().unwrap();
    let server = start(Config {
        storage: Some(Location::Sqlite(data.path().to_owned())),
        room_idle: IDLE,
        ..Config::default()
    })
    .await;
    let mut ws = connect(server.addr).await;
    join_sync(&mut ws, "r", "a").await;
    let leave = || json!({"type": "leave", "room": "r"});
    // A first detach, long before the last one.
    send(&mut ws, leave()).await;
    join_sync(&mut ws, "r", "a").await;
    tokio::time::sleep(IDLE / 2).await;
    let before = tasks();
    // Clients come and go.
    for _ in 0..40 {
        send(&mut ws, leave()).await;
        join_sync(&mut ws, "r", "a").await;
    }
    // Taken before the server can see the last leave: its timer starts later.
    let last_detach = Instant::now();
    send(&mut ws, leave()).await;
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_text(&mut ws).await["type"], "pong");
    let spawned = tasks().saturating_sub(before);
    assert!(spawned <= 2, "{spawned} tasks for 41 detaches of one room");
    // Still loaded after the first detach's idle time has passed, since
    // the last one's has not.
    tokio::time::sleep(IDLE * 2 / 3).await;
    assert_eq!(health(server.addr).await["rooms_loaded"], 1);
    // Unloaded once the idle time since the last detach has passed, once.
    health_shows(server.addr, "rooms_loaded", 0).await;
    assert!(last_detach.elapsed() >= IDLE, "{:?}", last_detach.elapsed());
    assert_eq!(metric(server.addr, "weft_room_unloads_total").await, 1.0);
    // The timer ended with the room: no task is left behind for it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tasks() <= before, "{} tasks, {before} before", tasks());
    // Rejoining loads it again.
    join_sync(&mut ws, "r", "a").await;
    assert_eq!(health(server.addr).await["rooms_loaded"], 1);
    server.shutdown().await;
}
