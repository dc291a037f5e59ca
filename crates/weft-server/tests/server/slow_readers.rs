//! Clients that stop reading: their queues stay small and they are dropped.

use crate::client::*;
use serde_json::{json, Value};
use std::time::Duration;
use weft_server::{Config, Limits};

fn serve_with(limits: Limits) -> Config {
    Config {
        limits,
        ..Config::default()
    }
}

/// A client that never reads again (after joining `room` as `peer`).
async fn stalled(server: &Server, room: &str, peer: &str) -> Socket {
    let mut ws = connect_small_buffer(server.addr).await;
    join(&mut ws, room, peer).await;
    ws
}

fn left(room: &'static str, peer: &'static str) -> impl Fn(&Value) -> bool {
    move |m| *m == json!({"type": "peer-left", "room": room, "peer": peer})
}

fn codes(answers: &[Value]) -> Vec<&str> {
    answers.iter().filter_map(|m| m["code"].as_str()).collect()
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_its_peers_told() {
    let server = start(serve_with(Limits {
        write_timeout: Duration::from_secs(1),
        ..Limits::default()
    }))
    .await;
    let _slow = stalled(&server, "r", "slow").await;
    let mut fast = connect(server.addr).await;
    join(&mut fast, "r", "fast").await;
    flood(&mut fast, "r", &["slow"], 300, 60_000).await;
    recv_until(&mut fast, Duration::from_secs(10), left("r", "slow")).await;
    health_shows(server.addr, "connections", 1).await;
    assert_eq!(health(server.addr).await["queued_bytes"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn the_idle_timeout_closes_a_client_that_stops_reading() {
    let server = start(serve_with(Limits {
        idle_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(60),
        ..Limits::default()
    }))
    .await;
    let _slow = stalled(&server, "r", "slow").await;
    let mut fast = connect(server.addr).await;
    join(&mut fast, "r", "fast").await;
    flood(&mut fast, "r", &["slow"], 300, 60_000).await;
    // `fast` pings to stay alive; `slow` sends nothing.
    let mut gone = false;
    for _ in 0..20 {
        send(&mut fast, json!({"type": "ping"})).await;
        let m = recv(&mut fast).await;
        if left("r", "slow")(&m) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(gone, "slow idled out within 5 s");
    server.shutdown().await;
}

#[tokio::test]
async fn a_queue_is_bounded_in_bytes() {
    const QUEUE: u64 = 256 * 1024;
    let server = start(serve_with(Limits {
        queue_bytes: QUEUE as usize,
        write_timeout: Duration::from_secs(60),
        ..Limits::default()
    }))
    .await;
    let _slow = stalled(&server, "r", "slow").await;
    let mut fast = connect(server.addr).await;
    join(&mut fast, "r", "fast").await;
    // 400 messages (fewer than the queue's 1,024) of 32 KiB: 13 MB, more
    // than the socket buffers take, so the rest waits in the queue.
    let answers = flood(&mut fast, "r", &["slow"], 400, 32 * 1024).await;
    assert!(codes(&answers).contains(&"peer-not-reading"));
    let counts = health(server.addr).await;
    assert!(
        counts["queued_bytes"].as_u64().unwrap() <= QUEUE,
        "{counts}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn all_queues_together_are_bounded_by_the_budget() {
    const BUDGET: u64 = 256 * 1024;
    let server = start(serve_with(Limits {
        queue_bytes: BUDGET as usize,
        max_queued_bytes: BUDGET as usize,
        message_burst: 1000.0,
        write_timeout: Duration::from_secs(60),
        ..Limits::default()
    }))
    .await;
    let _one = stalled(&server, "r", "one").await;
    let _two = stalled(&server, "r", "two").await;
    let mut fast = connect(server.addr).await;
    join(&mut fast, "r", "fast").await;
    // Both queues grow together, so they reach the budget before either
    // reaches its own bound.
    let answers = flood(&mut fast, "r", &["one", "two"], 400, 32 * 1024).await;
    assert!(codes(&answers).contains(&"server-busy"));
    let counts = health(server.addr).await;
    assert!(
        counts["queued_bytes"].as_u64().unwrap() <= BUDGET,
        "{counts}"
    );
    assert_eq!(counts["max_queued_bytes"], BUDGET);
    server.shutdown().await;
}
