//! The JSON messages of the signaling protocol (one per WebSocket text
//! message). Documented in `docs/format.md`; the server never sees document
//! content, only opaque `data` it relays between members of a room.

use crate::auth::Role;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Version of this protocol, sent in `welcome`.
pub const SIGNAL_VERSION: u32 = 1;

/// The peer id clients give the server's replica of a room; no client may
/// join under it.
pub const SERVER_PEER: &str = "server";

/// What a client sends.
#[derive(Debug)]
pub enum ClientMessage {
    /// Enter `room` as `peer` (an id the client chose). `browser` groups
    /// peers of one browser, which sync through BroadcastChannel instead.
    Join {
        room: String,
        peer: String,
        browser: Option<String>,
        /// Sync the room with the server's replica too.
        sync: bool,
        /// An access token (required when the server has an auth secret).
        token: Option<String>,
        /// Keep the (encrypted) room on the server as opaque records, under
        /// this name of its key (a fingerprint: rooms with another secret
        /// are kept apart).
        sealed: Option<String>,
    },
    /// Leave `room`.
    Leave { room: String },
    /// Relay `data` (any JSON) to member `to` of `room`; both must be members.
    Signal {
        room: String,
        to: String,
        data: Box<RawValue>,
    },
    /// Keeps the connection from idling out.
    Ping,
}

/// The wire shape of every client message. (An internally tagged enum
/// cannot hold a `RawValue`, so the fields are checked by hand.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(rename = "type")]
    kind: String,
    room: Option<String>,
    peer: Option<String>,
    browser: Option<String>,
    to: Option<String>,
    data: Option<Box<RawValue>>,
    sync: Option<bool>,
    token: Option<String>,
    sealed: Option<String>,
}

impl ClientMessage {
    /// Parses one message, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<ClientMessage, String> {
        let r: Request = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let need = |field: Option<String>, name: &str| {
            field.ok_or_else(|| format!("{} needs {name}", r.kind))
        };
        let extra = |present: bool| {
            if present {
                Err(format!("unexpected field for {}", r.kind))
            } else {
                Ok(())
            }
        };
        match r.kind.as_str() {
            "join" => {
                extra(r.to.is_some() || r.data.is_some())?;
                Ok(ClientMessage::Join {
                    room: need(r.room.clone(), "room")?,
                    peer: need(r.peer.clone(), "peer")?,
                    browser: r.browser.clone(),
                    sync: r.sync.unwrap_or(false),
                    token: r.token.clone(),
                    sealed: r.sealed.clone(),
                })
            }
            "leave" => {
                extra(
                    r.peer.is_some()
                        || r.browser.is_some()
                        || r.to.is_some()
                        || r.data.is_some()
                        || r.sync.is_some()
                        || r.token.is_some()
                        || r.sealed.is_some(),
                )?;
                Ok(ClientMessage::Leave {
                    room: need(r.room.clone(), "room")?,
                })
            }
            "signal" => {
                extra(
                    r.peer.is_some()
                        || r.browser.is_some()
                        || r.sync.is_some()
                        || r.token.is_some()
                        || r.sealed.is_some(),
                )?;
                Ok(ClientMessage::Signal {
                    room: need(r.room.clone(), "room")?,
                    to: need(r.to.clone(), "to")?,
                    data: r.data.clone().ok_or("signal needs data")?,
                })
            }
            "ping" => {
                extra(
                    r.room.is_some()
                        || r.peer.is_some()
                        || r.browser.is_some()
                        || r.to.is_some()
                        || r.data.is_some()
                        || r.sync.is_some()
                        || r.token.is_some()
                        || r.sealed.is_some(),
                )?;
                Ok(ClientMessage::Ping)
            }
            other => Err(format!("unknown message type {other:?}")),
        }
    }
}

/// A member of a room, as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub peer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// The role its token grants, attested by the server (`None`: the
    /// server checks no tokens, and everyone may write).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage<'a> {
    /// First message on every connection; `sync`: rooms can be synced
    /// with the server's replica (`join` with `sync`); `auth`: joins need
    /// a token.
    Welcome {
        version: u32,
        sync: bool,
        auth: bool,
    },
    /// The join succeeded; these were already in the room. `channel`: the
    /// number the room's sync frames carry, when it syncs with the server.
    Joined {
        room: &'a str,
        peers: Vec<PeerInfo>,
        #[serde(skip_serializing_if = "Option::is_none")]
        channel: Option<u32>,
        /// The role the joiner's token grants it.
        #[serde(skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
    },
    /// Someone entered a room this connection is in.
    PeerJoined {
        room: &'a str,
        #[serde(flatten)]
        peer: PeerInfo,
    },
    /// Someone left (or their connection closed).
    PeerLeft { room: &'a str, peer: &'a str },
    /// Relayed from `from`.
    Signal {
        room: &'a str,
        from: &'a str,
        data: &'a RawValue,
    },
    /// Answer to `ping`.
    Pong,
    /// A request that was refused; the connection stays open.
    Error {
        code: &'a str,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<&'a str>,
    },
}

impl ServerMessage<'_> {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }
}

/// Whether `id` is a valid peer or browser id: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `room` is a valid room name: 1 to 256 bytes, no control characters.
pub fn valid_room(room: &str) -> bool {
    (1..=256).contains(&room.len()) && !room.chars().any(char::is_control)
}
