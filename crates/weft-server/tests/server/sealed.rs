//! Encrypted rooms kept on the server as opaque records and checkpoints
//! (the sealed-room protocol), stored, replayed and compacted.

use crate::client::{closed, connect, health, recv, send, start, Socket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use weft::sync::{Budget, SealedChannel, SealedMessage};
use weft_server::storage::Location;
use weft_server::{close, Config};

/// A connection with an encrypted room open (the sealed-room protocol).
pub struct Sealed {
    pub ws: Socket,
    channel: u8,
    reassembly: SealedChannel,
}

impl Sealed {
    /// Joins `room` to keep it sealed, and opens it past record `after`.
    pub async fn open(addr: SocketAddr, room: &str, peer: &str, after: u64) -> Sealed {
        Sealed::open_with(
            addr,
            json!({"type": "join", "room": room, "peer": peer, "sealed": "k3y"}),
            after,
        )
        .await
    }

    async fn open_with(addr: SocketAddr, join: serde_json::Value, after: u64) -> Sealed {
        let mut ws = connect(addr).await;
        send(&mut ws, join).await;
        let joined = recv(&mut ws).await;
        assert_eq!(joined["type"], "joined", "{joined}");
        let channel = joined["channel"].as_u64().expect("a channel") as u8;
        let mut client = Sealed {
            ws,
            channel,
            reassembly: SealedChannel::client(&Budget::default()),
        };
        client.send(SealedMessage::Open { after }).await;
        client
    }

    pub async fn send(&mut self, message: SealedMessage) {
        for frame in message.to_frames() {
            let mut m = vec![self.channel];
            m.extend(frame);
            self.ws.send(Message::binary(m)).await.unwrap();
        }
    }

    pub async fn next(&mut self) -> SealedMessage {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match self.ws.next().await.expect("open").expect("readable") {
                    Message::Binary(bytes) => {
                        assert_eq!(bytes[0], self.channel);
                        if let Some(m) = self.reassembly.receive(&bytes[1..]).unwrap() {
                            return m;
                        }
                    }
                    Message::Text(_) | Message::Ping(_) | Message::Pong(_) => {}
                    other => panic!("expected a sealed message, got {other:?}"),
                }
            }
        })
        .await
        .expect("a message in time")
    }

    /// Everything up to `CaughtUp`, and its number.
    pub async fn replay(&mut self) -> (Vec<SealedMessage>, u64) {
        let mut got = Vec::new();
        loop {
            match self.next().await {
                SealedMessage::CaughtUp { seq } => return (got, seq),
                m => got.push(m),
            }
        }
    }

    pub async fn append(&mut self, body: &[u8]) -> u64 {
        self.send(SealedMessage::Append {
            body: body.to_vec(),
        })
        .await;
        match self.next().await {
            SealedMessage::Stored { seq } => seq,
            other => panic!("expected Stored, got {other:?}"),
        }
    }
}

fn record(seq: u64, body: &[u8]) -> SealedMessage {
    SealedMessage::Record {
        seq,
        body: body.to_vec(),
    }
}

#[tokio::test]
async fn encrypted_rooms_are_stored_replayed_and_compacted_as_opaque_bytes() {
    let data = tempfile::tempdir().unwrap();
    let config = || Config {
        storage: Some(Location::Sqlite(data.path().to_owned())),
        ..Config::default()
    };
    let server = start(config()).await;
    let mut ada = Sealed::open(server.addr, "secret plans", "ada", 0).await;
    assert_eq!(ada.replay().await, (vec![], 0));
    let big = vec![7u8; 100_000]; // more than one frame
    let a = ada.append(b"sealed one").await;
    let b = ada.append(&big).await;
    assert!(b > a);

    // A later client gets the records in order, then they arrive live.
    let mut bob = Sealed::open(server.addr, "secret plans", "bob", 0).await;
    let (replayed, last) = bob.replay().await;
    assert_eq!(replayed, [record(a, b"sealed one"), record(b, &big)]);
    assert_eq!(last, b);
    let c = ada.append(b"sealed three").await;
    assert_eq!(bob.next().await, record(c, b"sealed three"));
    // One that has some of them gets the rest only.
    let mut cy = Sealed::open(server.addr, "secret plans", "cy", b).await;
    assert_eq!(cy.replay().await, (vec![record(c, b"sealed three")], c));

    // A checkpoint replaces the records it covers, on disk too.
    let before = health(server.addr).await["stored_bytes"].as_u64().unwrap();
    bob.send(SealedMessage::Compact {
        covers: c,
        body: b"sealed checkpoint".to_vec(),
    })
    .await;
    assert_eq!(bob.next().await, SealedMessage::Compacted { seq: c });
    let after = health(server.addr).await["stored_bytes"].as_u64().unwrap();
    assert!(after < before / 10, "{before} -> {after}");
    // An older checkpoint changes nothing, and says what is stored.
    cy.send(SealedMessage::Compact {
        covers: a,
        body: b"stale".to_vec(),
    })
    .await;
    assert_eq!(cy.next().await, SealedMessage::Compacted { seq: c });
    let d = ada.append(b"sealed four").await;
    drop((ada, bob, cy));
    server.shutdown().await;

    // After a restart: the checkpoint, then what came after it.
    let server = start(config()).await;
    let mut dee = Sealed::open(server.addr, "secret plans", "dee", 0).await;
    let checkpoint = SealedMessage::Checkpoint {
        seq: c,
        body: b"sealed checkpoint".to_vec(),
    };
    assert_eq!(
        dee.replay().await,
        (vec![checkpoint, record(d, b"sealed four")], d)
    );
    // Numbers keep growing after a restart.
    assert!(dee.append(b"five").await > d);
    // Another secret's records are kept apart.
    let other = json!({"type": "join", "room": "secret plans", "peer": "fay", "sealed": "0ther"});
    let mut fay = Sealed::open_with(server.addr, other, 0).await;
    assert_eq!(fay.replay().await, (vec![], 0));
    // A plain room of the same name is another document.
    let mut plain = connect(server.addr).await;
    send(
        &mut plain,
        json!({"type": "join", "room": "secret plans", "peer": "eve", "sync": true}),
    )
    .await;
    assert_eq!(recv(&mut plain).await["type"], "joined");
    server.shutdown().await;
}

#[tokio::test]
async fn requests_that_break_the_protocol_close_the_connection() {
    let server = start(Config::default()).await;
    // Kept in memory without a data directory.
    let mut ada = Sealed::open(server.addr, "r", "ada", 0).await;
    ada.replay().await;
    let one = ada.append(b"x").await;
    let mut later = Sealed::open(server.addr, "r", "later", 0).await;
    assert_eq!(later.replay().await, (vec![record(one, b"x")], one));
    let cases = [
        // A checkpoint of records that do not exist.
        SealedMessage::Compact {
            covers: one + 10,
            body: vec![],
        },
        // A server's message.
        SealedMessage::Stored { seq: 1 },
        // Opened twice.
        SealedMessage::Open { after: 0 },
    ];
    for message in cases {
        let mut evil = Sealed::open(server.addr, "r", "evil", 0).await;
        evil.replay().await;
        evil.send(message.clone()).await;
        let (code, reason) = closed(&mut evil.ws).await;
        assert_eq!(code, close::POLICY, "{message:?}: {reason}");
    }
    // Before Open, and both kinds of keeping at once.
    let mut ws = connect(server.addr).await;
    send(
        &mut ws,
        json!({"type": "join", "room": "r", "peer": "x", "sealed": "k3y"}),
    )
    .await;
    recv(&mut ws).await;
    let mut frame = vec![0];
    frame.extend(&SealedMessage::Append { body: vec![1] }.to_frames()[0]);
    ws.send(Message::binary(frame)).await.unwrap();
    assert_eq!(closed(&mut ws).await.0, close::POLICY);
    let mut ws = connect(server.addr).await;
    send(
        &mut ws,
        json!({"type": "join", "room": "r", "peer": "y", "sealed": "k3y", "sync": true}),
    )
    .await;
    assert_eq!(closed(&mut ws).await.0, close::POLICY);
    // The room is intact.
    let mut last = Sealed::open(server.addr, "r", "last", 0).await;
    assert_eq!(last.replay().await, (vec![record(one, b"x")], one));
    server.shutdown().await;
}
