//! Several server processes on one PostgreSQL database relaying rooms
//! through one Redis: clients on different servers edit one room
//! together, a server started later serves it whole, edits made while
//! Redis was down arrive once it is back (the version exchange), and
//! encrypted rooms' records reach every server in order.

use crate::binary::{self, Serving};
use crate::client::{connect, recv, recv_until, send};
use crate::peer::{health_with_status, metric, Peer};
use crate::pg;
use crate::sealed::Sealed;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use weft::sync::SealedMessage;
use weft_services::redis::Redis;

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

/// A database, a Redis, and two servers on them.
struct Nodes {
    database: pg::Database,
    redis: Redis,
    first: Serving,
    second: Serving,
}

async fn two_nodes(name: &str) -> Nodes {
    let database = pg::Database::create(pg::shared(), name).await;
    let redis = Redis::start();
    let (first, second) = (node(&database.url, &redis), node(&database.url, &redis));
    Nodes {
        database,
        redis,
        first,
        second,
    }
}

/// Ada on the first server and Bob on the second, in sync with them.
async fn ada_and_bob(nodes: &Nodes) -> (Peer, Peer) {
    let mut ada = Peer::join(nodes.first.addr(), "shared", "ada", 1).await;
    let mut bob = Peer::join(nodes.second.addr(), "shared", "bob", 2).await;
    ada.until_synced().await;
    bob.until_synced().await;
    (ada, bob)
}

#[tokio::test]
async fn clients_on_different_servers_edit_one_room() {
    let mut nodes = two_nodes("nodes").await;
    let (mut ada, mut bob) = ada_and_bob(&nodes).await;
    ada.append("from ada\n").await;
    bob.until(LONG, |b| b.doc.to_string() == "from ada\n").await;
    bob.append("from bob\n").await;
    ada.until(LONG, |a| a.doc.to_string() == "from ada\nfrom bob\n")
        .await;
    // Each server stores what it merged: both acknowledge.
    ada.until_durable(LONG).await;
    bob.until_durable(LONG).await;
    // Each got the other's edit through Redis, and says so. It reads the
    // room's two streams: the document and its signaling.
    for server in [&nodes.first, &nodes.second] {
        assert_eq!(metric(server.addr(), "weft_relay_streams").await, 2.0);
        assert!(metric(server.addr(), "weft_relay_delivered_total").await >= 1.0);
    }

    // A server started now serves the whole room at once.
    let third = node(&nodes.database.url, &nodes.redis);
    let mut carol = Peer::join(third.addr(), "shared", "carol", 3).await;
    carol
        .until(LONG, |c| c.doc.to_string() == "from ada\nfrom bob\n")
        .await;

    // Redis goes away and comes back empty: what was typed meanwhile
    // arrives all the same.
    let (code, health) = health_with_status(nodes.first.addr()).await;
    assert_eq!(
        (code, &health["relay"]["state"]),
        (200, &"ok".into()),
        "{health}"
    );
    nodes.redis.stop();
    // Still serving and storing its own clients, but cut off from the
    // other server's: unhealthy, for a load balancer to move them.
    let (code, health) = health_with_status(nodes.first.addr()).await;
    assert_eq!(
        (code, &health["status"]),
        (503, &"relay-unreachable".into()),
        "{health}"
    );
    let relay = health["relay"]["state"].as_str().unwrap();
    assert!(relay.starts_with("unreachable"), "{health}");
    ada.append("while redis was down\n").await;
    ada.until_durable(LONG).await;
    nodes.redis.start_again();
    let all = "from ada\nfrom bob\nwhile redis was down\n";
    bob.until(LONG, |b| b.doc.to_string() == all).await;
    carol.until(LONG, |c| c.doc.to_string() == all).await;
    let (code, health) = health_with_status(nodes.first.addr()).await;
    assert_eq!((code, &health["status"]), (200, &"ok".into()), "{health}");
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

/// An encrypted room with clients on two servers: each gets every record
/// in number order, none skipped, whichever server stored it (a server
/// that stores a record after the other's fills the gap first), and a
/// client reopening on the other server asks for what follows its last.
#[tokio::test]
async fn an_encrypted_room_reaches_every_server_in_order() {
    let database = pg::Database::create(pg::shared(), "sealed_nodes").await;
    let redis = Redis::start();
    let (first, second) = (node(&database.url, &redis), node(&database.url, &redis));
    let mut ada = Sealed::open(first.addr(), "vault", "ada", 0).await;
    let mut bob = Sealed::open(second.addr(), "vault", "bob", 0).await;
    assert_eq!(ada.replay().await.1, 0);
    assert_eq!(bob.replay().await.1, 0);
    let mut seen = (Vec::new(), Vec::new());
    for i in 0..6u8 {
        // Alternating servers: each store may follow the other's.
        let (writer, reader) = if i % 2 == 0 {
            (&mut ada, &mut bob)
        } else {
            (&mut bob, &mut ada)
        };
        writer.send(SealedMessage::Append { body: vec![i] }).await;
        let stored = loop {
            match writer.next().await {
                SealedMessage::Stored { seq } => break seq,
                SealedMessage::Record { seq, .. } => seen_by(&mut seen, i % 2 == 0, seq),
                other => panic!("{other:?}"),
            }
        };
        seen_by(&mut seen, i % 2 == 0, stored);
        match reader.next().await {
            SealedMessage::Record { seq, body } => {
                assert_eq!((seq, body), (stored, vec![i]));
                seen_by(&mut seen, i % 2 != 0, seq);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen.0, (1..=6).collect::<Vec<u64>>(), "ada's, in order");
    assert_eq!(seen.1, seen.0, "bob's, in order");
    // Both at once: a server often stores a record before it heard of the
    // other's last one, and must send that one first.
    for i in 0..5u8 {
        ada.send(SealedMessage::Append { body: vec![10 + i] }).await;
        bob.send(SealedMessage::Append { body: vec![20 + i] }).await;
    }
    for client in [&mut ada, &mut bob] {
        let mut numbers = Vec::new();
        while numbers.len() < 10 {
            match client.next().await {
                SealedMessage::Stored { seq } | SealedMessage::Record { seq, .. } => {
                    numbers.push(seq)
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(numbers, (7..=16).collect::<Vec<u64>>());
    }
    drop(bob);
    let mut again = Sealed::open(first.addr(), "vault", "bob", 4).await;
    let (messages, last) = again.replay().await;
    assert_eq!(last, 16);
    assert_eq!(messages.len(), 12, "{messages:?}");
}

/// Notes record `seq` seen by ada (`true`) or bob.
fn seen_by(seen: &mut (Vec<u64>, Vec<u64>), ada: bool, seq: u64) {
    if ada {
        seen.0.push(seq);
    } else {
        seen.1.push(seq);
    }
}

/// A server killed (SIGKILL) while its client types: the client goes on
/// with another server, and whatever the dead one had not stored or
/// relayed arrives from the client's own copy; nothing is lost.
#[tokio::test]
async fn a_killed_server_loses_nothing_its_clients_typed() {
    let nodes = two_nodes("killed").await;
    let (mut ada, mut bob) = ada_and_bob(&nodes).await;
    ada.append("stored\n").await;
    ada.until_durable(LONG).await;
    for i in 0..20 {
        ada.append(&format!("line {i}\n")).await;
    }
    drop(nodes.first); // SIGKILL, whatever it was doing
    let mut ada = Peer::rejoin(nodes.second.addr(), "shared", "ada", ada.close()).await;
    ada.until_durable(LONG).await;
    let text = ada.doc.to_string();
    assert!(text.ends_with("line 19\n"), "{text}");
    bob.until(LONG, |b| b.doc.to_string() == text).await;
    // And it is stored: a server started now serves all of it.
    let third = node(&nodes.database.url, &nodes.redis);
    let mut carol = Peer::join(third.addr(), "shared", "carol", 3).await;
    carol.until(LONG, |c| c.doc.to_string() == text).await;
}

/// Browsers in one room on different servers find each other as on one:
/// each is told of the other, signals reach across, leaving is told, and
/// the members of a server that dies are taken as gone.
#[tokio::test]
async fn browsers_on_different_servers_signal_each_other() {
    let nodes = two_nodes("signaling").await;
    let join = |peer: &str| json!({"type": "join", "room": "call", "peer": peer});
    let mut ada = connect(nodes.first.addr()).await;
    send(&mut ada, join("ada")).await;
    assert_eq!(recv(&mut ada).await["type"], "joined");
    let mut bob = connect(nodes.second.addr()).await;
    send(&mut bob, join("bob")).await;
    // Bob hears of Ada (in `joined`, or just after it), Ada of Bob.
    let joined = recv(&mut bob).await;
    if joined["peers"].as_array().unwrap().is_empty() {
        recv_until(&mut bob, LONG, |m| {
            m["type"] == "peer-joined" && m["peer"] == "ada"
        })
        .await;
    }
    recv_until(&mut ada, LONG, |m| {
        m["type"] == "peer-joined" && m["peer"] == "bob"
    })
    .await;
    let offer = json!({"type": "signal", "room": "call", "to": "bob", "data": {"kind": "offer"}});
    send(&mut ada, offer).await;
    recv_until(&mut bob, LONG, |m| {
        m["type"] == "signal" && m["from"] == "ada" && m["data"]["kind"] == "offer"
    })
    .await;
    let answer = json!({"type": "signal", "room": "call", "to": "ada", "data": {"kind": "answer"}});
    send(&mut bob, answer).await;
    recv_until(&mut ada, LONG, |m| {
        m["type"] == "signal" && m["from"] == "bob"
    })
    .await;
    // An unknown peer is still refused.
    send(
        &mut ada,
        json!({"type": "signal", "room": "call", "to": "zed", "data": {}}),
    )
    .await;
    recv_until(&mut ada, LONG, |m| {
        m["type"] == "error" && m["code"] == "no-such-peer"
    })
    .await;
    send(&mut bob, json!({"type": "leave", "room": "call"})).await;
    recv_until(&mut ada, LONG, |m| {
        m["type"] == "peer-left" && m["peer"] == "bob"
    })
    .await;
    // Carol on the second server; then that server dies.
    let mut carol = connect(nodes.second.addr()).await;
    send(&mut carol, join("carol")).await;
    recv_until(&mut ada, LONG, |m| {
        m["type"] == "peer-joined" && m["peer"] == "carol"
    })
    .await;
    drop(nodes.second); // SIGKILL: it tells nobody
    drop(carol);
    // Told once the dead server has been silent too long (no message
    // comes meanwhile, so not `recv`, which wants one every 10 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ada.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = next {
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            if m["type"] == "peer-left" && m["peer"] == "carol" {
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "carol never left");
    }
}

/// What a browser signals to a member of another server arrives, in the
/// order sent, even from the moment that member is announced: its server
/// reads the room's stream before announcing it, and signals are published
/// in order (a WebRTC offer before its candidates).
#[tokio::test]
async fn signals_across_servers_arrive_in_order_from_the_first() {
    let nodes = two_nodes("signal-order").await;
    const SIGNALS: u64 = 20;
    for round in 0..10 {
        let room = format!("order-{round}");
        let join = |peer: &str| json!({"type": "join", "room": room, "peer": peer});
        let mut ada = connect(nodes.first.addr()).await;
        send(&mut ada, join("ada")).await;
        assert_eq!(recv(&mut ada).await["type"], "joined");
        let mut bob = connect(nodes.second.addr()).await;
        send(&mut bob, join("bob")).await;
        // Ada signals Bob as soon as she hears of him.
        recv_until(&mut ada, LONG, |m| {
            m["type"] == "peer-joined" && m["peer"] == "bob"
        })
        .await;
        for n in 0..SIGNALS {
            let signal = json!({"type": "signal", "room": room, "to": "bob", "data": {"n": n}});
            send(&mut ada, signal).await;
        }
        let mut got = Vec::new();
        while got.len() < SIGNALS as usize {
            let m = recv(&mut bob).await;
            if m["type"] == "signal" {
                got.push(m["data"]["n"].as_u64().unwrap());
            }
        }
        assert_eq!(got, (0..SIGNALS).collect::<Vec<_>>(), "round {round}");
    }
}
