//! A client that syncs one room with the server's replica, as the npm
//! package does, and keeps every `Durable` report the server sends it.

use crate::client::{connect, send, Socket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use weft::sync::Session;
use weft::{Doc, IndexUnit::CodePoint, Version};

/// One connection syncing one room.
pub struct Peer {
    ws: Socket,
    pub doc: Doc,
    session: Session,
    channel: u32,
    /// Everything the server reported stored, merged.
    pub durable: Version,
    /// `Durable` messages received.
    pub durables: usize,
}

impl Peer {
    /// A new connection that joins `room` with sync, for an empty document
    /// of `replica`.
    pub async fn join(addr: SocketAddr, room: &str, peer: &str, replica: u64) -> Peer {
        Peer::rejoin(addr, room, peer, Doc::new(replica)).await
    }

    /// A new connection that joins `room` with sync for `doc` (a browser
    /// reopening a room it has in storage) and says Hello: the handshake
    /// sends the server whatever it lacks.
    pub async fn rejoin(addr: SocketAddr, room: &str, peer: &str, doc: Doc) -> Peer {
        let mut ws = connect(addr).await;
        let channel = join_sync(&mut ws, room, peer).await;
        let mut session = Session::new();
        let hello = session.start(&doc);
        let mut peer = Peer {
            ws,
            doc,
            session,
            channel,
            durable: Version::new(),
            durables: 0,
        };
        peer.send(hello).await;
        peer
    }

    /// The document, the connection closed (a browser that went away).
    pub fn close(self) -> Doc {
        self.doc
    }

    async fn send(&mut self, frames: Vec<Vec<u8>>) {
        for frame in frames {
            send_frame(&mut self.ws, self.channel, &frame).await;
        }
    }

    /// Types `text` at the end and sends it.
    pub async fn append(&mut self, text: &str) {
        let end = self.doc.len(CodePoint);
        self.doc.insert(end, text, CodePoint).unwrap();
        let frames = self.session.outgoing(&mut self.doc);
        self.send(frames).await;
    }

    /// Handles one message from the server (text messages are ignored).
    async fn handle(&mut self, message: Message) {
        let Message::Binary(bytes) = message else {
            return;
        };
        let (channel, frame) = split_channel(&bytes);
        assert_eq!(channel, self.channel);
        let received = self
            .session
            .receive(&mut self.doc, frame, CodePoint)
            .unwrap();
        if let Some(durable) = received.durable {
            self.durable.merge(&durable);
            self.durables += 1;
        }
        self.send(received.frames).await;
    }

    async fn next(&mut self) -> Message {
        self.ws.next().await.expect("open").expect("readable")
    }

    /// Handles whatever arrives for `time`.
    pub async fn pump_for(&mut self, time: Duration) {
        let _ = tokio::time::timeout(time, async {
            loop {
                let message = self.next().await;
                self.handle(message).await;
            }
        })
        .await;
    }

    /// Handles messages until `done` holds (fails after `limit`).
    pub async fn until(&mut self, limit: Duration, done: impl Fn(&Peer) -> bool) {
        tokio::time::timeout(limit, async {
            while !done(self) {
                let message = self.next().await;
                self.handle(message).await;
            }
        })
        .await
        .expect("in time");
    }

    /// Handles messages until the server reports this peer's whole
    /// document stored (fails after `limit`).
    pub async fn until_durable(&mut self, limit: Duration) {
        let version = self.doc.version();
        self.until(limit, |p| p.durable.includes(&version)).await;
    }

    /// Handles messages until the handshake is done both ways.
    pub async fn until_synced(&mut self) {
        let limit = Duration::from_secs(10);
        tokio::time::timeout(limit, async {
            while !self.session.is_synced() {
                let message = self.next().await;
                self.handle(message).await;
            }
        })
        .await
        .expect("synced in time");
    }
}

/// Joins `room` with sync on `ws`; returns the channel from `joined`.
pub async fn join_sync(ws: &mut Socket, room: &str, peer: &str) -> u32 {
    send(
        ws,
        json!({"type": "join", "room": room, "peer": peer, "sync": true}),
    )
    .await;
    let joined = next_text(ws).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    u32::try_from(joined["channel"].as_u64().expect("a sync channel")).unwrap()
}

/// The next text message as JSON, skipping binary ones (sync frames).
pub async fn next_text(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("readable");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Sends one sync frame behind its channel.
pub async fn send_frame(ws: &mut Socket, channel: u32, frame: &[u8]) {
    let mut message = Vec::with_capacity(frame.len() + 5);
    let mut v = channel;
    while v >= 0x80 {
        message.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    message.push(v as u8);
    message.extend_from_slice(frame);
    ws.send(Message::binary(message)).await.unwrap();
}

/// A binary message's channel and frame.
fn split_channel(message: &[u8]) -> (u32, &[u8]) {
    let mut channel = 0u32;
    for (i, &byte) in message.iter().enumerate() {
        channel |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (channel, &message[i + 1..]);
        }
    }
    panic!("a binary message without a channel");
}

/// `len` pseudo-random letters (they do not compress to a few bytes).
pub fn random_text(len: usize, mut seed: u32) -> String {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            char::from(b'a' + (seed >> 24) as u8 % 26)
        })
        .collect()
}

/// The status code and JSON body of `GET /health`, whatever the status.
pub async fn health_with_status(addr: SocketAddr) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    (code, serde_json::from_str(body).unwrap())
}

/// The value of metric `name` in `/metrics`.
pub async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let text = crate::client::http_get(addr, "/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
}
