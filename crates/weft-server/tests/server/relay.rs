//! Relaying between members of a room, many concurrent clients, garbage
//! input, floods and idling, static files.

use crate::client::*;
use futures_util::SinkExt;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use weft_server::{close, Config, Limits};

#[tokio::test]
async fn members_of_a_room_see_each_other_and_relay_signals() {
    let server = start(Config::default()).await;
    let mut a = connect(server.addr).await;
    let mut b = connect(server.addr).await;
    let joined = join(&mut a, "room 1", "alice").await;
    assert_eq!(joined["peers"], json!([]));
    send(
        &mut b,
        json!({"type": "join", "room": "room 1", "peer": "bob", "browser": "b1"}),
    )
    .await;
    let joined = recv(&mut b).await;
    assert_eq!(joined["peers"], json!([{"peer": "alice"}]));
    let seen = recv(&mut a).await;
    assert_eq!(
        seen,
        json!({"type": "peer-joined", "room": "room 1", "peer": "bob", "browser": "b1"})
    );

    let offer = json!({"sdp": "v=0...", "kind": "offer"});
    send(
        &mut a,
        json!({"type": "signal", "room": "room 1", "to": "bob", "data": offer}),
    )
    .await;
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "signal", "room": "room 1", "from": "alice", "data": offer})
    );
    send(&mut b, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut b).await, json!({"type": "pong"}));

    // A peer id is unique within a room; a vanished peer cannot be reached.
    let mut c = connect(server.addr).await;
    send(
        &mut c,
        json!({"type": "join", "room": "room 1", "peer": "bob"}),
    )
    .await;
    assert_eq!(recv(&mut c).await["code"], "peer-taken");
    send(
        &mut a,
        json!({"type": "signal", "room": "room 1", "to": "carol", "data": 1}),
    )
    .await;
    assert_eq!(recv(&mut a).await["code"], "no-such-peer");

    let counts = health(server.addr).await;
    assert_eq!(counts["status"], "ok");
    assert_eq!(counts["connections"], 3);
    assert_eq!(counts["rooms"], 1);

    b.close(None).await.unwrap();
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "peer-left", "room": "room 1", "peer": "bob"})
    );
    send(&mut a, json!({"type": "leave", "room": "room 1"})).await;
    send(&mut a, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut a).await["type"], "pong");
    assert_eq!(health(server.addr).await["rooms"], 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients_get_exactly_their_own_messages() {
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 10;
    let server = start(Config::default()).await;
    let addr = server.addr;
    let clients: Vec<_> = (0..ROOMS * PER_ROOM)
        .map(|i| {
            tokio::spawn(greet_everyone(
                addr,
                format!("r{}", i / PER_ROOM),
                i % PER_ROOM,
                PER_ROOM,
            ))
        })
        .collect();
    let mut sockets = Vec::new();
    for client in clients {
        sockets.push(client.await.unwrap());
    }
    let counts = health(addr).await;
    assert_eq!(counts["connections"], ROOMS * PER_ROOM);
    assert_eq!(counts["rooms"], ROOMS);
    drop(sockets);
    server.shutdown().await;
}

/// Joins `room` as `p{me}`, waits for all `n` members, sends each a signal,
/// and checks it receives exactly one from each of the others.
async fn greet_everyone(addr: SocketAddr, room: String, me: usize, n: usize) -> Socket {
    let mut ws = connect(addr).await;
    let joined = join(&mut ws, &room, &format!("p{me}")).await;
    let mut present = joined["peers"].as_array().unwrap().len();
    let mut inbox = Vec::new();
    while present < n - 1 {
        let m = recv(&mut ws).await;
        match m["type"].as_str() {
            Some("peer-joined") => present += 1,
            Some("signal") => inbox.push(m),
            _ => panic!("unexpected {m}"),
        }
    }
    for other in (0..n).filter(|&o| o != me) {
        let data = json!({"from": me, "room": room});
        let to = format!("p{other}");
        send(
            &mut ws,
            json!({"type": "signal", "room": room, "to": to, "data": data}),
        )
        .await;
    }
    while inbox.len() < n - 1 {
        let m = recv(&mut ws).await;
        assert_eq!(m["type"], "signal", "{m}");
        inbox.push(m);
    }
    let mut senders: Vec<u64> = inbox
        .iter()
        .map(|m| {
            assert_eq!(m["data"]["room"], room.as_str(), "no cross-room leaks");
            assert_eq!(m["from"], format!("p{}", m["data"]["from"]));
            m["data"]["from"].as_u64().unwrap()
        })
        .collect();
    senders.sort();
    let others: Vec<u64> = (0..n as u64).filter(|&o| o != me as u64).collect();
    assert_eq!(senders, others);
    ws
}

/// A bystander in the room of a misbehaving client, to check it is unharmed.
async fn bystander_pair(addr: SocketAddr, room: &str) -> (Socket, Socket) {
    let mut by = connect(addr).await;
    join(&mut by, room, "bystander").await;
    let mut bad = connect(addr).await;
    join(&mut bad, room, "culprit").await;
    assert_eq!(recv(&mut by).await["type"], "peer-joined");
    (by, bad)
}

async fn bystander_is_fine(by: &mut Socket, room: &str) {
    assert_eq!(
        recv(by).await,
        json!({"type": "peer-left", "room": room, "peer": "culprit"})
    );
    send(by, json!({"type": "ping"})).await;
    assert_eq!(recv(by).await["type"], "pong");
}

#[tokio::test]
async fn garbage_closes_only_the_sender_with_a_reason() {
    let limits = Limits {
        max_message_bytes: 1024,
        max_rooms_per_connection: 2,
        ..Limits::default()
    };
    let server = start(Config {
        limits,
        ..Config::default()
    })
    .await;
    let big = "x".repeat(1500);
    let huge = "x".repeat(1 << 20);
    let cases: Vec<(Message, u16, &str)> = vec![
        (
            Message::binary(vec![1, 2, 3]),
            close::POLICY,
            "no sync channel",
        ),
        (
            Message::binary(vec![0x80; 6]),
            close::POLICY,
            "without a channel",
        ),
        (Message::binary(vec![0; 17_000]), close::TOO_BIG, ""),
        (Message::text("{not json"), close::POLICY, "malformed"),
        (Message::text("[]"), close::POLICY, "malformed"),
        (
            Message::text(r#"{"type":"shout"}"#),
            close::POLICY,
            "malformed",
        ),
        (
            Message::text(r#"{"type":"ping","extra":1}"#),
            close::POLICY,
            "malformed",
        ),
        (
            Message::text(format!(r#"{{"type":"ping","pad":"{big}"}}"#)),
            close::TOO_BIG,
            "exceeds",
        ),
        (Message::text(huge), close::TOO_BIG, ""),
        (
            Message::text(r#"{"type":"signal","room":"elsewhere","to":"bystander","data":1}"#),
            close::POLICY,
            "not in room",
        ),
        (
            Message::text(r#"{"type":"join","room":"","peer":"x"}"#),
            close::POLICY,
            "room names",
        ),
        (
            Message::text(r#"{"type":"join","room":"r","peer":"no spaces"}"#),
            close::POLICY,
            "ids",
        ),
        (
            Message::text(r#"{"type":"leave","room":"never joined"}"#),
            close::POLICY,
            "not in room",
        ),
    ];
    for (i, (message, code, reason)) in cases.into_iter().enumerate() {
        let room = format!("garbage {i}");
        let (mut by, mut bad) = bystander_pair(server.addr, &room).await;
        bad.send(message).await.unwrap();
        let (got_code, got_reason) = closed(&mut bad).await;
        assert_eq!(got_code, code, "case {i}: {got_reason}");
        assert!(got_reason.contains(reason), "case {i}: {got_reason}");
        bystander_is_fine(&mut by, &room).await;
    }

    // Too many rooms on one connection.
    let (mut by, mut bad) = bystander_pair(server.addr, "rooms").await;
    join(&mut bad, "second", "culprit").await;
    send(
        &mut bad,
        json!({"type": "join", "room": "third", "peer": "culprit"}),
    )
    .await;
    let (code, reason) = closed(&mut bad).await;
    assert_eq!(
        (code, reason.as_str()),
        (close::POLICY, "more than 2 rooms on one connection")
    );
    bystander_is_fine(&mut by, "rooms").await;
    server.shutdown().await;
}

#[tokio::test]
async fn floods_and_idle_connections_are_closed() {
    let limits = Limits {
        messages_per_second: 10.0,
        message_burst: 20.0,
        idle_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = start(Config {
        limits,
        ..Config::default()
    })
    .await;
    let mut flood = connect(server.addr).await;
    for _ in 0..25 {
        // Sends may fail once the server has closed the connection.
        let _ = flood.send(Message::text(r#"{"type":"ping"}"#)).await;
    }
    let (code, reason) = closed(&mut flood).await;
    assert_eq!(code, close::POLICY);
    assert!(reason.contains("messages per second"), "{reason}");

    let mut idle = connect(server.addr).await;
    let (code, reason) = closed(&mut idle).await;
    assert_eq!((code, reason.as_str()), (close::IDLE, "idle timeout"));

    // Pings keep a connection alive past the timeout.
    let mut alive = connect(server.addr).await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        send(&mut alive, json!({"type": "ping"})).await;
        assert_eq!(recv(&mut alive).await["type"], "pong");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn serves_static_files_beside_the_signaling_routes() {
    let dir = std::env::temp_dir().join(format!("weft-server-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>demo</h1>").unwrap();
    let server = start(Config {
        static_dir: Some(dir.clone()),
        ..Config::default()
    })
    .await;
    let response = http_get(server.addr, "/").await;
    assert!(response.ends_with("<h1>demo</h1>"));
    assert_eq!(health(server.addr).await["status"], "ok");
    server.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}
