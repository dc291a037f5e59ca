//! Shutdown: every connection is closed as going away, in bounded time.

use crate::client::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use weft_server::{close, Config};

#[tokio::test]
async fn shutdown_closes_every_connection_as_going_away() {
    let server = start(Config::default()).await;
    let mut a = connect(server.addr).await;
    join(&mut a, "r", "a").await;
    let stop = tokio::spawn(server.shutdown());
    let (code, reason) = closed(&mut a).await;
    assert_eq!(
        (code, reason.as_str()),
        (close::GOING_AWAY, "server shutting down")
    );
    drop(a);
    stop.await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_within_seconds_while_clients_do_not_read() {
    let server = start(Config::default()).await;
    let mut stuck = Vec::new();
    for i in 0..4 {
        let room = format!("r{i}");
        let mut slow = connect_small_buffer(server.addr).await;
        join(&mut slow, &room, "slow").await;
        let mut fast = connect(server.addr).await;
        join(&mut fast, &room, "fast").await;
        // Far more than the socket buffers hold: the server's writes to
        // `slow` block.
        flood(&mut fast, &room, &["slow"], 300, 60_000).await;
        stuck.push((slow, fast));
    }
    // And a plain HTTP request that never ends.
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nhost:")
        .await
        .unwrap();
    server.shutdown_within(Duration::from_secs(5)).await;
}
