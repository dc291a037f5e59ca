//! One WebSocket client: reads its requests, enforces the limits, writes
//! what others relay to it, and leaves its rooms when it goes.

use crate::hub::{ConnectionId, Hub, Refusal};
use crate::limits::{Limits, RateLimiter};
use crate::log;
use crate::protocol::{valid_id, valid_room, ClientMessage, ServerMessage, SIGNAL_VERSION};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;

/// WebSocket close codes this server uses.
pub mod close {
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A binary message: only JSON text is accepted.
    pub const UNSUPPORTED: u16 = 1003;
    /// A malformed or forbidden request, or a limit exceeded.
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// Nothing arrived within the idle timeout.
    pub const IDLE: u16 = 4000;
}

/// Why the server closes a connection.
struct Close(u16, String);

struct Connection {
    id: ConnectionId,
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    queue: mpsc::Sender<String>,
    /// room -> the peer id this connection has there.
    rooms: HashMap<String, String>,
    rate: RateLimiter,
}

/// Serves one client until it leaves, misbehaves, idles out or the server
/// shuts down.
pub async fn serve(
    mut socket: WebSocket,
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let id = hub.open();
    let (queue, mut outbound) = mpsc::channel(limits.outbound_queue);
    let mut conn = Connection {
        id,
        hub: hub.clone(),
        rate: RateLimiter::new(limits.messages_per_second, limits.message_burst),
        limits: limits.clone(),
        queue,
        rooms: HashMap::new(),
    };
    log!(Debug, "connection {id} opened");
    let welcome = ServerMessage::Welcome {
        version: SIGNAL_VERSION,
    };
    let mut deadline = tokio::time::Instant::now() + limits.idle_timeout;
    let mut result = socket
        .send(Message::Text(welcome.to_json().into()))
        .await
        .map_err(|_| None);
    while result.is_ok() {
        result = tokio::select! {
            incoming = socket.recv() => match incoming {
                None => Err(None),
                Some(Err(e)) => {
                    log!(Info, "connection {id}: {e}");
                    Err(Some(Close(close::TOO_BIG, format!("unreadable message: {e}"))))
                }
                Some(Ok(message)) => {
                    deadline = tokio::time::Instant::now() + limits.idle_timeout;
                    conn.handle(message).map_err(Some)
                }
            },
            Some(text) = outbound.recv() => {
                socket.send(Message::Text(text.into())).await.map_err(|_| None)
            }
            _ = sleep_until(deadline) => {
                Err(Some(Close(close::IDLE, "idle timeout".into())))
            }
            _ = shutdown.changed() => {
                Err(Some(Close(close::GOING_AWAY, "server shutting down".into())))
            }
        };
    }
    if let Err(Some(Close(code, reason))) = result {
        if code == close::POLICY || code == close::TOO_BIG || code == close::UNSUPPORTED {
            log!(Info, "connection {id} closed: {reason}");
        }
        let frame = CloseFrame {
            code,
            reason: fit_close_reason(reason).into(),
        };
        let _ = socket.send(Message::Close(Some(frame))).await;
    }
    for (room, peer) in conn.rooms.drain() {
        hub.leave(&room, &peer, id);
    }
    hub.closed();
    log!(Debug, "connection {id} ended");
}

/// A close frame's reason holds at most 123 bytes; longer ones break the
/// frame, so cut at a character boundary.
fn fit_close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX - 3;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

impl Connection {
    fn handle(&mut self, message: Message) -> Result<(), Close> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Err(Close(
                    close::UNSUPPORTED,
                    "binary messages are not accepted".into(),
                ))
            }
            Message::Close(_) => return Err(Close(1000, "bye".into())),
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
        };
        if text.len() > self.limits.max_message_bytes {
            return Err(Close(
                close::TOO_BIG,
                format!(
                    "message of {} bytes exceeds the limit of {}",
                    text.len(),
                    self.limits.max_message_bytes
                ),
            ));
        }
        if !self.rate.take(Instant::now()) {
            return Err(Close(
                close::POLICY,
                format!(
                    "more than {} messages per second",
                    self.limits.messages_per_second
                ),
            ));
        }
        let request = ClientMessage::parse(text.as_str())
            .map_err(|e| Close(close::POLICY, format!("malformed message: {e}")))?;
        match request {
            ClientMessage::Join {
                room,
                peer,
                browser,
            } => self.join(room, peer, browser),
            ClientMessage::Leave { room } => {
                let peer = self.member(&room)?.to_owned();
                self.rooms.remove(&room);
                self.hub.leave(&room, &peer, self.id);
                Ok(())
            }
            ClientMessage::Signal { room, to, data } => {
                let from = self.member(&room)?;
                let text = ServerMessage::Signal {
                    room: &room,
                    from,
                    data: &data,
                }
                .to_json();
                if let Err(refusal) = self.hub.relay(&room, &to, text) {
                    let reason = format!("cannot relay to {to}");
                    self.refuse(refusal, reason, &room);
                }
                Ok(())
            }
            ClientMessage::Ping => {
                self.send(ServerMessage::Pong.to_json());
                Ok(())
            }
        }
    }

    fn join(&mut self, room: String, peer: String, browser: Option<String>) -> Result<(), Close> {
        if !valid_room(&room) {
            return Err(Close(
                close::POLICY,
                "room names are 1 to 256 bytes without control characters".into(),
            ));
        }
        if !valid_id(&peer) || !browser.as_deref().is_none_or(valid_id) {
            return Err(Close(
                close::POLICY,
                "peer and browser ids are 1 to 64 of A-Z a-z 0-9 _ -".into(),
            ));
        }
        if self.rooms.contains_key(&room) {
            return Err(Close(close::POLICY, format!("already in room {room:?}")));
        }
        if self.rooms.len() >= self.limits.max_rooms_per_connection {
            return Err(Close(
                close::POLICY,
                format!(
                    "more than {} rooms on one connection",
                    self.limits.max_rooms_per_connection
                ),
            ));
        }
        let joined = self.hub.join(
            &room,
            &peer,
            browser,
            self.id,
            self.queue.clone(),
            &self.limits,
        );
        match joined {
            Ok(()) => {
                log!(Debug, "connection {} joined {room:?} as {peer}", self.id);
                self.rooms.insert(room, peer);
            }
            Err(refusal) => {
                let reason = format!("cannot join {room:?} as {peer}");
                self.refuse(refusal, reason, &room);
            }
        }
        Ok(())
    }

    /// This connection's peer id in `room`; relaying needs membership.
    fn member(&self, room: &str) -> Result<&str, Close> {
        self.rooms
            .get(room)
            .map(String::as_str)
            .ok_or_else(|| Close(close::POLICY, format!("not in room {room:?}")))
    }

    fn refuse(&self, refusal: Refusal, reason: String, room: &str) {
        log!(
            Debug,
            "connection {}: {reason}: {}",
            self.id,
            refusal.code()
        );
        self.send(
            ServerMessage::Error {
                code: refusal.code(),
                reason,
                room: Some(room),
            }
            .to_json(),
        );
    }

    fn send(&self, text: String) {
        // Our own queue is full only if this client stopped reading; the
        // answer is dropped like any other message to it.
        let _ = self.queue.try_send(text);
    }
}

#[cfg(test)]
mod tests {
    use super::fit_close_reason;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        assert_eq!(fit_close_reason("short".into()), "short");
        let long = fit_close_reason("é".repeat(100));
        assert!(long.len() <= 123 && long.ends_with("..."), "{long}");
    }
}
