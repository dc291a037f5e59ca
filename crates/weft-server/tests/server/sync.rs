//! Sync with the server's replica of a room: clients run the core's sync
//! session over binary messages (a channel number, then a frame), as the
//! npm package does.

use crate::client::{closed, connect, health_shows, http_get, recv, send, start, Socket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use weft::sync::Session;
use weft::{Doc, IndexUnit::CodePoint, Version};
use weft_server::storage::Location;
use weft_server::{close, Config};

/// A client's replica of one room, synced with the server over `ws`.
pub struct Client {
    pub ws: Socket,
    pub doc: Doc,
    pub session: Session,
    channel: u8,
    /// The server's `joined` message.
    pub joined: serde_json::Value,
}

impl Client {
    /// Joins `room` with sync and says Hello.
    pub async fn join(addr: std::net::SocketAddr, room: &str, peer: &str, replica: u64) -> Client {
        let join = json!({"type": "join", "room": room, "peer": peer, "sync": true});
        Client::join_with(addr, join, Doc::new(replica), Session::new()).await
    }

    /// Sends `join` (which must ask for sync), then `session`'s Hello for `doc`.
    pub async fn join_with(
        addr: std::net::SocketAddr,
        join: serde_json::Value,
        doc: Doc,
        mut session: Session,
    ) -> Client {
        let mut ws = connect(addr).await;
        send(&mut ws, join).await;
        let joined = recv(&mut ws).await;
        assert_eq!(joined["type"], "joined", "{joined}");
        let channel = joined["channel"].as_u64().expect("a sync channel") as u8;
        let hello = session.start(&doc);
        let mut client = Client {
            ws,
            doc,
            session,
            channel,
            joined,
        };
        client.send(hello).await;
        client
    }

    pub async fn send(&mut self, frames: Vec<Vec<u8>>) {
        for frame in frames {
            let mut message = vec![self.channel];
            message.extend(frame);
            self.ws.send(Message::binary(message)).await.unwrap();
        }
    }

    pub async fn edit(&mut self, index: usize, text: &str) {
        self.doc.insert(index, text, CodePoint).unwrap();
        let frames = self.session.outgoing(&mut self.doc);
        self.send(frames).await;
    }

    /// Handles frames until the server reports `version` stored; returns
    /// how many reports came.
    pub async fn until_durable(&mut self, version: &Version) -> usize {
        let mut stored = Version::new();
        let mut reports = 0;
        tokio::time::timeout(Duration::from_secs(10), async {
            while !stored.includes(version) {
                let message = self.ws.next().await.expect("open").expect("readable");
                let Message::Binary(bytes) = message else {
                    continue;
                };
                let received = self
                    .session
                    .receive(&mut self.doc, &bytes[1..], CodePoint)
                    .unwrap();
                if let Some(durable) = received.durable {
                    stored.merge(&durable);
                    reports += 1;
                }
                self.send(received.frames).await;
            }
        })
        .await
        .expect("stored in time");
        reports
    }

    /// Handles frames until `done` holds for the document (10 s at most).
    pub async fn until(&mut self, done: impl Fn(&Doc) -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !(done(&self.doc) && self.session.is_synced()) {
                let message = self.ws.next().await.expect("open").expect("readable");
                let Message::Binary(bytes) = message else {
                    continue;
                };
                assert_eq!(bytes[0], self.channel);
                let received = self
                    .session
                    .receive(&mut self.doc, &bytes[1..], CodePoint)
                    .unwrap();
                self.send(received.frames).await;
            }
        })
        .await
        .expect("in sync in time");
    }
}

#[tokio::test]
async fn the_server_keeps_a_room_for_whoever_comes_later() {
    let server = start(Config::default()).await;
    let mut ada = Client::join(server.addr, "notes", "ada", 1).await;
    ada.until(|_| true).await;
    ada.edit(0, "written while alone").await;
    // Ada leaves before anyone else comes.
    ada.edit(0, "» ").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(ada);
    let mut bob = Client::join(server.addr, "notes", "bob", 2).await;
    bob.until(|d| d.to_string() == "» written while alone")
        .await;
    // Live: edits flow both ways through the server.
    let mut cy = Client::join(server.addr, "notes", "cy", 3).await;
    cy.until(|d| !d.is_empty()).await;
    cy.edit(0, "cy: ").await;
    bob.until(|d| d.to_string().starts_with("cy: ")).await;
    bob.edit(bob.doc.len(CodePoint), " (bob)").await;
    cy.until(|d| d.to_string() == "cy: » written while alone (bob)")
        .await;
    // Another room is another document.
    let mut other = Client::join(server.addr, "elsewhere", "dee", 4).await;
    other.until(|_| true).await;
    assert!(other.doc.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn frames_that_break_the_protocol_close_only_their_connection() {
    let server = start(Config::default()).await;
    let mut honest = Client::join(server.addr, "r", "honest", 1).await;
    honest.until(|_| true).await;
    honest.edit(0, "kept").await;
    let garbage: Vec<Vec<u8>> = vec![
        // Not this protocol's version.
        vec![0, 9, 3, 1, 0],
        // An update before a Hello.
        {
            let mut m = vec![0, 1, 3, 4, 2];
            m.extend(b"xyz");
            m
        },
    ];
    for frame in garbage {
        let mut ws = connect(server.addr).await;
        send(
            &mut ws,
            json!({"type": "join", "room": "r", "peer": "evil", "sync": true}),
        )
        .await;
        ws.send(Message::binary(frame)).await.unwrap();
        let (code, reason) = closed(&mut ws).await;
        assert_eq!(code, close::POLICY, "{reason}");
        assert!(reason.contains("sync"), "{reason}");
    }
    // A join without sync has no channel: its frames are refused.
    let mut ws = connect(server.addr).await;
    send(
        &mut ws,
        json!({"type": "join", "room": "r", "peer": "plain"}),
    )
    .await;
    let joined = recv(&mut ws).await;
    assert!(joined.get("channel").is_none(), "{joined}");
    ws.send(Message::binary(vec![0, 1, 3, 1, 0])).await.unwrap();
    assert_eq!(closed(&mut ws).await.0, close::POLICY);
    // The room is intact for the next honest client.
    let mut later = Client::join(server.addr, "r", "later", 2).await;
    later.until(|d| d.to_string() == "kept").await;
    server.shutdown().await;
}

/// A server storing rooms in `data`.
async fn start_stored(data: &tempfile::TempDir) -> crate::client::Server {
    start(Config {
        storage: Some(Location::Sqlite(data.path().to_owned())),
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn writers_hear_of_each_commit_at_once_readers_twice_a_second_at_most() {
    let data = tempfile::tempdir().unwrap();
    let server = start_stored(&data).await;
    let mut ada = Client::join(server.addr, "reports", "ada", 1).await;
    ada.until(|_| true).await;
    let mut bob = Client::join(server.addr, "reports", "bob", 2).await;
    bob.until(|_| true).await;
    let started = std::time::Instant::now();
    // Each edit waits for its own report (which comes right after its
    // commit): as many commits as edits.
    for i in 0..40 {
        ada.edit(ada.doc.len(CodePoint), &format!("{i} ")).await;
        ada.until_durable(&ada.doc.version()).await;
    }
    // Bob changed nothing: the commits reach him as late reports, one per
    // half second at most, the last covering everything.
    let reports = bob.until_durable(&ada.doc.version()).await;
    let half_seconds = (started.elapsed().as_millis() / 500) as usize;
    assert!(
        reports <= 2 + half_seconds,
        "{reports} reports in {half_seconds} half seconds"
    );
    assert!(bob.doc.to_string().starts_with("0 1 2 "));
    server.shutdown().await;
}

/// The server's count of storage transactions, from `/metrics`.
async fn transactions(addr: std::net::SocketAddr) -> u64 {
    http_get(addr, "/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("weft_storage_transactions_total "))
        .and_then(|n| n.parse().ok())
        .expect("transaction count in /metrics")
}

#[tokio::test]
async fn a_quiet_room_compacted_in_memory_still_merges_and_serves_everyone() {
    let data = tempfile::tempdir().unwrap();
    let server = start_stored(&data).await;
    let mut ada = Client::join(server.addr, "quiet", "ada", 1).await;
    ada.until(|_| true).await;
    // One edit past the compaction floor (16 KiB) into an empty room, then
    // nothing: its first write is a checkpoint, written while the room is
    // quiet, and the replica becomes that checkpoint, loaded with its
    // history encoded.
    // Letters from a simple generator: deflate leaves them over 16 KiB.
    let mut x: u32 = 1;
    let long: String = (0..40_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(b'a' + ((x >> 16) % 26) as u8)
        })
        .collect();
    ada.edit(0, &long).await;
    ada.until_durable(&ada.doc.version()).await;
    assert_eq!(
        transactions(server.addr).await,
        1,
        "durable in one transaction: the checkpoint, no record before it"
    );
    let mut bob = Client::join(server.addr, "quiet", "bob", 2).await;
    bob.until(|d| d.to_string() == long).await;
    // Changes merge into it from both sides (its history decoded again).
    ada.edit(0, "ada ").await;
    ada.doc.delete(10, 30, CodePoint).unwrap();
    let frames = ada.session.outgoing(&mut ada.doc);
    ada.send(frames).await;
    let ada_text = ada.doc.to_string();
    bob.until(|d| d.to_string() == ada_text).await;
    bob.edit(bob.doc.len(CodePoint), " bob").await;
    let bob_text = bob.doc.to_string();
    ada.until(|d| d.to_string() == bob_text).await;
    let mut cy = Client::join(server.addr, "quiet", "cy", 3).await;
    cy.until(|d| d.to_string() == bob_text).await;
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_are_stored_acknowledged_unloaded_and_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let config = || Config {
        storage: Some(Location::Sqlite(data.path().to_owned())),
        room_idle: Duration::from_secs(1),
        ..Config::default()
    };
    let server = start(config()).await;
    let mut ada = Client::join(server.addr, "kept", "ada", 1).await;
    ada.until(|_| true).await;
    for i in 0..20 {
        ada.edit(ada.doc.len(CodePoint), &format!("line {i}\n"))
            .await;
    }
    // The server says what it has on disk: everything Ada wrote, in time.
    let version = ada.doc.version();
    ada.until_durable(&version).await;
    let metrics = http_get(server.addr, "/metrics").await;
    let commits = metrics
        .lines()
        .find_map(|l| l.strip_prefix("weft_commit_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("commit count in /metrics");
    assert!(commits >= 1, "{metrics}");
    let transactions = metrics
        .lines()
        .find_map(|l| l.strip_prefix("weft_storage_transactions_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("transaction count in /metrics");
    // Writes share transactions, never the other way round (the open's
    // own write is counted by neither).
    assert!((1..=commits).contains(&transactions), "{metrics}");
    assert!(metrics.contains("weft_stored_bytes "), "{metrics}");
    drop(ada);
    // Nobody syncs the room: it is unloaded after the idle time.
    health_shows(server.addr, "rooms_loaded", 0).await;
    let mut bob = Client::join(server.addr, "kept", "bob", 2).await;
    bob.until(|d| d.to_string().ends_with("line 19\n")).await;
    drop(bob);
    server.shutdown().await;

    // Another process would see the same file: a new server on it.
    let server = start(config()).await;
    let mut cy = Client::join(server.addr, "kept", "cy", 3).await;
    cy.until(|d| {
        d.to_string().starts_with("line 0\nline 1\n") && d.to_string().ends_with("line 19\n")
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn loaded_rooms_are_capped_idle_ones_make_way() {
    let data = tempfile::tempdir().unwrap();
    let server = start(Config {
        storage: Some(Location::Sqlite(data.path().to_owned())),
        // Longer than the test: only the cap unloads rooms here.
        room_idle: Duration::from_secs(600),
        limits: weft_server::Limits {
            max_loaded_rooms: 1,
            ..weft_server::Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut first = Client::join(server.addr, "first", "a", 1).await;
    first.until(|_| true).await;
    first.edit(0, "in the first room").await;
    first.until_durable(&first.doc.version()).await;
    drop(first);
    health_shows(server.addr, "rooms_loaded", 1).await;
    // The first room is idle and stored: it makes way for the second.
    let mut second = Client::join(server.addr, "second", "b", 2).await;
    second.until(|_| true).await;
    // While the second is synced, no third room fits.
    let mut ws = connect(server.addr).await;
    send(
        &mut ws,
        json!({"type": "join", "room": "third", "peer": "c", "sync": true}),
    )
    .await;
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, close::TRY_AGAIN_LATER, "{reason}");
    drop(second);
    drop(ws);
    health_shows(server.addr, "connections", 0).await;
    // The first room comes back from storage.
    let mut again = Client::join(server.addr, "first", "d", 3).await;
    again.until(|d| d.to_string() == "in the first room").await;
    server.shutdown().await;
}
