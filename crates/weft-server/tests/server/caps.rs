//! Caps that keep one client from taking what others need: rooms,
//! connections, peers from one address; refusals close properly.

use crate::client::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use weft_server::{close, Config, Limits};

#[tokio::test]
async fn one_address_cannot_fill_a_room() {
    let server = start(Config::default()).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for i in 0..64 {
        let mut ws = connect(server.addr).await;
        send(
            &mut ws,
            json!({"type": "join", "room": "r", "peer": format!("p{i}")}),
        )
        .await;
        let answer = recv(&mut ws).await;
        if answer["type"] != "joined" {
            assert_eq!(answer["code"], "address-full", "{answer}");
            refused += 1;
        }
        held.push(ws);
    }
    assert_eq!(refused, 64 - 16, "one address holds 16 places of 64");
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut late = connect_from(server.addr, other).await;
    join(&mut late, "r", "late").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_joins_is_closed_with_the_documented_code() {
    let server = start(Config::default()).await;
    let mut ws = connect(server.addr).await;
    for i in 0..1000 {
        let join = json!({"type": "join", "room": format!("r{i}"), "peer": "p"});
        // Sends fail once the server has closed the connection.
        if ws.send(Message::text(join.to_string())).await.is_err() {
            break;
        }
    }
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, close::POLICY, "{reason}");
    server.shutdown().await;
}

fn serve_with(limits: Limits) -> Config {
    Config {
        limits,
        ..Config::default()
    }
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_with_1013() {
    let server = start(serve_with(Limits {
        max_connections: 3,
        ..Limits::default()
    }))
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(server.addr).await);
    }
    for _ in 0..5 {
        let mut refused = dial(server.addr, TcpSocket::new_v4().unwrap()).await;
        let (code, reason) = closed(&mut refused).await;
        assert_eq!(code, close::TRY_AGAIN_LATER, "{reason}");
    }
    let counts = health(server.addr).await;
    assert_eq!(
        (&counts["connections"], &counts["max_connections"]),
        (&json!(3), &json!(3))
    );
    // A place that frees up can be taken again.
    open.pop().unwrap().close(None).await.unwrap();
    health_shows(server.addr, "connections", 2).await;
    connect(server.addr).await;
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_over_the_cap_are_refused_and_refusals_leave_no_room_behind() {
    let server = start(serve_with(Limits {
        max_rooms: 2,
        max_peers_per_room: 2,
        ..Limits::default()
    }))
    .await;
    let mut a = connect(server.addr).await;
    join(&mut a, "r1", "a").await;
    join(&mut a, "r2", "a").await;
    send(&mut a, json!({"type": "join", "room": "r3", "peer": "a"})).await;
    assert_eq!(recv(&mut a).await["code"], "server-full");
    // A room that exists can still be joined, up to its own cap.
    let mut b = connect(server.addr).await;
    join(&mut b, "r1", "b").await;
    let mut c = connect(server.addr).await;
    send(&mut c, json!({"type": "join", "room": "r1", "peer": "c"})).await;
    assert_eq!(recv(&mut c).await["code"], "room-full");
    let counts = health(server.addr).await;
    assert_eq!(
        (&counts["rooms"], &counts["max_rooms"]),
        (&json!(2), &json!(2))
    );
    server.shutdown().await;
}

/// What a client that connects and joins at once gets first: its welcome
/// (it is kept open) or a close frame.
async fn connect_and_join(addr: SocketAddr, i: usize) -> Result<Socket, u16> {
    let mut ws = dial(addr, TcpSocket::new_v4().unwrap()).await;
    let join = json!({"type": "join", "room": "burst", "peer": format!("p{i}")});
    let _ = ws.send(Message::text(join.to_string())).await;
    match ws.next().await {
        Some(Ok(Message::Text(text))) if text.contains("welcome") => Ok(ws),
        Some(Ok(Message::Close(Some(frame)))) => Err(frame.code.into()),
        other => panic!("client {i}: expected welcome or a close frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connections_over_the_cap_each_get_a_close_frame() {
    let server = start(serve_with(Limits {
        max_connections: 100,
        ..Limits::default()
    }))
    .await;
    let clients: Vec<_> = (0..1000)
        .map(|i| tokio::spawn(connect_and_join(server.addr, i)))
        .collect();
    let (mut open, mut refused) = (Vec::new(), 0);
    for client in clients {
        match client.await.unwrap() {
            Ok(ws) => open.push(ws),
            Err(code) => {
                assert_eq!(code, close::TRY_AGAIN_LATER);
                refused += 1;
            }
        }
    }
    assert_eq!((open.len(), refused), (100, 900));
    drop(open);
    server.shutdown().await;
}
