//! One WebSocket client: reads its requests, enforces the limits, writes
//! what others relay to it, and leaves its rooms when it goes.

use crate::admission::{Admitted, ConnectionId};
use crate::close;
use crate::hub::{Hub, Member, Refusal};
use crate::limits::{Limits, MAX_TIMEOUT};
use crate::log;
use crate::outbox::{self, Outbox};
use crate::protocol::{valid_id, valid_room, ClientMessage, ServerMessage, SIGNAL_VERSION};
use crate::rate::RateLimiter;
use crate::AppState;
use axum::extract::ws::{Message, WebSocket};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

/// Why the server closes a connection.
struct Close(u16, String);

/// How a connection ends: with a close frame, or without (the client went).
type Ended = Result<(), Option<Close>>;

struct Connection {
    admitted: Admitted,
    client: IpAddr,
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    outbox: Outbox,
    /// room -> the peer id this connection has there.
    rooms: HashMap<String, String>,
    rate: RateLimiter,
}

/// Serves one client (`client` as given by [`crate::address::client_of`])
/// until it leaves, misbehaves, stops reading, idles out or the server
/// shuts down.
pub async fn serve(mut socket: WebSocket, admitted: Admitted, client: IpAddr, state: AppState) {
    let AppState {
        hub,
        limits,
        budget,
        mut shutdown,
        ..
    } = state;
    let (outbox, outgoing) = outbox::channel(budget, limits.queue_messages, limits.queue_bytes);
    let mut conn = Connection {
        admitted,
        client,
        hub,
        rate: RateLimiter::new(limits.messages_per_second, limits.message_burst),
        limits: limits.clone(),
        outbox,
        rooms: HashMap::new(),
    };
    let id = conn.id();
    log!(Debug, "connection {id} opened from {client}");
    let mut idle = after(limits.idle_timeout);
    let welcome = ServerMessage::Welcome {
        version: SIGNAL_VERSION,
    };
    let mut ended = write(&mut socket, welcome.to_json(), &limits, idle, &mut shutdown).await;
    while ended.is_ok() {
        ended = tokio::select! {
            incoming = socket.recv() => match incoming {
                None => Err(None),
                Some(Err(e)) => {
                    log!(Info, "connection {id}: {e}");
                    Err(Some(Close(close::TOO_BIG, format!("unreadable message: {e}"))))
                }
                Some(Ok(message)) => {
                    idle = after(limits.idle_timeout);
                    conn.handle(message).map_err(Some)
                }
            },
            text = outgoing.next() => {
                write(&mut socket, text, &limits, idle, &mut shutdown).await
            }
            end = interrupted(idle, &mut shutdown) => Err(Some(end)),
        };
    }
    // Free the queue and tell the rooms now, not after the close handshake.
    drop(outgoing);
    conn.leave_all();
    if let Err(Some(Close(code, reason))) = ended {
        if code != close::GOING_AWAY && code != close::IDLE && code != close::NORMAL {
            log!(Info, "connection {id} closed: {reason}");
        }
        close::close(&mut socket, code, reason).await;
    }
}

/// Writes one message, unless the client does not take it within the write
/// timeout (it stopped reading) or the connection must end meanwhile.
async fn write(
    socket: &mut WebSocket,
    text: String,
    limits: &Limits,
    idle: Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let stuck = after(limits.write_timeout);
    tokio::select! {
        sent = socket.send(Message::Text(text.into())) => sent.map_err(|_| None),
        _ = sleep_until(stuck) => {
            let waited = limits.write_timeout.as_secs();
            Err(Some(Close(close::NOT_READING, format!("not reading: a message waited {waited} s"))))
        }
        end = interrupted(idle, shutdown) => Err(Some(end)),
    }
}

/// Resolves when the connection must end whatever it is doing.
async fn interrupted(idle: Instant, shutdown: &mut watch::Receiver<bool>) -> Close {
    tokio::select! {
        _ = sleep_until(idle) => Close(close::IDLE, "idle timeout".into()),
        _ = shutdown.wait_for(|stop| *stop) => {
            Close(close::GOING_AWAY, "server shutting down".into())
        }
    }
}

/// `timeout` from now. Limits are checked to be at most a day, and this
/// clamps again so that no input can make a connection's task panic.
fn after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout.min(MAX_TIMEOUT)).unwrap_or(now)
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Also when the task panics: peers are told it left.
        self.leave_all();
        log!(Debug, "connection {} ended", self.id());
    }
}

impl Connection {
    fn id(&self) -> ConnectionId {
        self.admitted.id()
    }

    fn leave_all(&mut self) {
        for (room, peer) in self.rooms.drain() {
            self.hub.leave(&room, &peer, self.admitted.id());
        }
    }

    fn handle(&mut self, message: Message) -> Result<(), Close> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Err(Close(
                    close::UNSUPPORTED,
                    "binary messages are not accepted".into(),
                ))
            }
            Message::Close(_) => return Err(Close(close::NORMAL, "bye".into())),
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
        if !self.rate.take(std::time::Instant::now()) {
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
                self.hub.leave(&room, &peer, self.id());
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
        let member = Member::new(self.id(), self.client, browser, self.outbox.clone());
        let joined = self.hub.join(&room, &peer, member);
        match joined {
            Ok(()) => {
                log!(Debug, "connection {} joined {room:?} as {peer}", self.id());
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
            self.id(),
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
        // Our own queue is full only if this client stopped reading (or
        // the server's budget is spent); the answer is dropped like any
        // other message to it.
        let _ = self.outbox.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        let far = after(Duration::MAX);
        assert!(far > now && far <= Instant::now() + MAX_TIMEOUT);
    }
}
