//! A Weft client as the npm package is one: it joins a room on `/signal`
//! with `sync`, then runs the core's sync session with the server's
//! replica over binary messages (a uvar channel number, then a frame).
//! Signaling for WebRTC (peer-joined, signal) is ignored: these clients
//! have no WebRTC.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use weft::sync::Session;
use weft::{Doc, IndexUnit::CodePoint, Version};

pub struct WeftReplica {
    doc: Doc,
    session: Session,
    channel: u32,
    /// What the server reported stored (its `Durable` messages).
    stored: Version,
}

impl WeftReplica {
    pub fn new(doc: Doc) -> WeftReplica {
        WeftReplica {
            doc,
            session: Session::new(),
            channel: 0,
            stored: Version::new(),
        }
    }

    /// Forgets the last connection's handshake: a new one starts from
    /// this replica's version (what it stored stays known).
    pub fn new_connection(&mut self) {
        self.session = Session::new();
        self.channel = 0;
    }

    pub fn join(room: &str, peer: &str) -> Message {
        Message::text(json!({"type": "join", "room": room, "peer": peer, "sync": true}).to_string())
    }

    /// Reads the server's answer to [`WeftReplica::join`]: `Ok(true)` once
    /// joined (the channel is then known), `Ok(false)` for other messages.
    pub fn joined(&mut self, message: &Message) -> Result<bool, String> {
        let Message::Text(text) = message else {
            return Ok(false);
        };
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        match value["type"].as_str() {
            Some("joined") => {
                let channel = value["channel"]
                    .as_u64()
                    .ok_or("joined without a channel")?;
                self.channel = u32::try_from(channel).map_err(|e| e.to_string())?;
                Ok(true)
            }
            Some("error") => Err(format!("join refused: {value}")),
            _ => Ok(false),
        }
    }

    pub fn start(&mut self) -> Vec<Message> {
        let frames = self.session.start(&self.doc);
        self.on_channel(frames)
    }

    pub fn receive(&mut self, message: &Message) -> Result<Vec<Message>, String> {
        match message {
            Message::Binary(bytes) => {
                let (channel, frame) = split_channel(bytes).ok_or("a frame without a channel")?;
                if channel != self.channel {
                    return Err(format!("a frame on channel {channel}"));
                }
                let received = self
                    .session
                    .receive_unwatched(&mut self.doc, frame)
                    .map_err(|e| e.to_string())?;
                if let Some(durable) = received.durable {
                    self.stored.merge(&durable);
                }
                Ok(self.on_channel(received.frames))
            }
            Message::Text(text) => {
                // Signaling for WebRTC is none of these clients' business;
                // an error is.
                let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                match value["type"].as_str() {
                    Some("error") => Err(format!("server: {value}")),
                    _ => Ok(Vec::new()),
                }
            }
            _ => Ok(Vec::new()),
        }
    }

    pub fn insert(&mut self, pos: usize, text: &str) -> Vec<Message> {
        self.doc.insert(pos, text, CodePoint).expect("in range");
        let frames = self.session.outgoing(&mut self.doc);
        self.on_channel(frames)
    }

    pub fn delete(&mut self, pos: usize, len: usize) -> Vec<Message> {
        self.doc.delete(pos, len, CodePoint).expect("in range");
        let frames = self.session.outgoing(&mut self.doc);
        self.on_channel(frames)
    }

    pub fn char_count(&self) -> usize {
        self.doc.len(CodePoint)
    }

    pub fn version(&self) -> Version {
        self.doc.version()
    }

    pub fn synced(&self) -> bool {
        self.session.is_synced()
    }

    /// Whether the server reported everything this replica holds stored.
    pub fn stored(&self) -> bool {
        self.stored.includes(&self.doc.version())
    }

    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    fn on_channel(&self, frames: Vec<Vec<u8>>) -> Vec<Message> {
        frames
            .into_iter()
            .map(|frame| {
                let mut message = Vec::with_capacity(frame.len() + 5);
                let mut v = self.channel;
                while v >= 0x80 {
                    message.push((v as u8 & 0x7f) | 0x80);
                    v >>= 7;
                }
                message.push(v as u8);
                message.extend(frame);
                Message::binary(message)
            })
            .collect()
    }
}

/// The channel number (a uvar of at most 5 bytes) and the frame after it.
fn split_channel(message: &[u8]) -> Option<(u32, &[u8])> {
    let mut channel = 0u64;
    for (i, &byte) in message.iter().enumerate().take(5) {
        channel |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((u32::try_from(channel).ok()?, &message[i + 1..]));
        }
    }
    None
}
