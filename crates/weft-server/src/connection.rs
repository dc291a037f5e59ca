//! One WebSocket client: reads its requests, enforces the limits, writes
//! what others relay to it, and leaves its rooms when it goes.

use crate::admission::{Admitted, ConnectionId};
use crate::auth::{Auth, Role};
use crate::close;
use crate::hub::{Hub, Member, Refusal};
use crate::limits::{Limits, MAX_TIMEOUT};
use crate::log;
use crate::outbox::{self, Item, Outbox, Outgoing, Overflowed};
use crate::protocol::{
    valid_id, valid_room, ClientMessage, ServerMessage, SERVER_PEER, SIGNAL_VERSION,
};
use crate::rate::RateLimiter;
use crate::replica::{split_channel, Replicas};
use crate::sealed::{SealedError, SealedRooms};
use crate::AppState;
use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use weft::sync::{SealedChannel, SealedMessage, SyncError, MAX_FRAME};

/// Why the server closes a connection.
struct Close(u16, String);

/// An encrypted room this connection keeps on the server.
struct Sealed {
    room: String,
    /// Its name among the sealed rooms: the key's name, then the room's.
    kept_as: String,
    reassembly: SealedChannel,
}

/// What the server keeps of a room a connection joins.
#[derive(Clone, PartialEq, Eq)]
enum Kept {
    /// Nothing: signaling only.
    No,
    /// A replica it syncs with.
    Synced,
    /// Opaque records of an encrypted room, under the name of its key.
    Sealed(String),
}

/// How a connection ends: with a close frame, or without (the client went).
type Ended = Result<(), Option<Close>>;

struct Connection {
    admitted: Admitted,
    /// Checks the tokens of joins, when the server requires them.
    auth: Option<Arc<Auth>>,
    client: IpAddr,
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    outbox: Outbox,
    /// room -> the peer id this connection has there.
    rooms: HashMap<String, String>,
    /// channel -> the room it syncs with the server's replica.
    channels: HashMap<u32, String>,
    /// channel -> the encrypted room it keeps on the server, and its
    /// messages' reassembly.
    sealed_channels: HashMap<u32, Sealed>,
    sealed: Arc<SealedRooms>,
    /// This connection's share of what sealed messages may buffer.
    sealed_share: Option<weft::sync::Budget>,
    /// room -> whether this connection may change it.
    writes: HashMap<String, bool>,
    next_channel: u32,
    replicas: Arc<Replicas>,
    rate: RateLimiter,
    sync_rate: RateLimiter,
}

/// Serves one client (`client` as given by [`crate::address::client_of`])
/// until it leaves, misbehaves, stops reading, idles out or the server
/// shuts down.
pub async fn serve(mut socket: WebSocket, admitted: Admitted, client: IpAddr, state: AppState) {
    let AppState {
        hub,
        replicas,
        sealed,
        limits,
        budget,
        auth,
        shutdown,
        ..
    } = state;
    let (outbox, outgoing) = outbox::channel(
        budget,
        limits.queue_messages,
        limits.queue_bytes,
        limits.sync_queue_bytes,
    );
    let mut conn = Connection {
        admitted,
        auth,
        client,
        hub,
        rate: RateLimiter::new(limits.messages_per_second, limits.message_burst),
        sync_rate: RateLimiter::new(limits.sync_frames_per_second, limits.sync_frame_burst),
        limits: limits.clone(),
        outbox,
        rooms: HashMap::new(),
        channels: HashMap::new(),
        sealed_channels: HashMap::new(),
        sealed,
        sealed_share: None,
        writes: HashMap::new(),
        next_channel: 0,
        replicas,
    };
    let id = conn.id();
    log!(Debug, "connection {id} opened from {client}");
    let idle = IdleClock::new(limits.idle_timeout);
    // One timer and one shutdown watch for the connection's life, not one
    // per message.
    let mut for_writes = shutdown.clone();
    let mut ending = std::pin::pin!(ending(&idle, shutdown));
    let welcome = ServerMessage::Welcome {
        version: SIGNAL_VERSION,
        sync: true,
        auth: conn.auth.is_some(),
    };
    let welcome = Item::Text(welcome.to_json());
    let mut ended = write(
        &mut socket,
        welcome,
        None,
        &limits,
        idle.deadline(),
        &mut for_writes,
    )
    .await;
    while ended.is_ok() {
        ended = tokio::select! {
            incoming = socket.recv() => match incoming {
                None => Err(None),
                Some(Err(e)) => {
                    log!(Info, "connection {id}: {e}");
                    Err(Some(Close(close::TOO_BIG, format!("unreadable message: {e}"))))
                }
                Some(Ok(message)) => {
                    idle.touch();
                    conn.handle(message).await.map_err(Some)
                }
            },
            item = outgoing.next() => match item {
                Ok(item) => {
                    let idle = idle.deadline();
                    write(&mut socket, item, Some(&outgoing), &limits, idle, &mut for_writes).await
                }
                Err(Overflowed) => Err(Some(Close(
                    close::NOT_READING,
                    "not reading: sync frames overflowed its queue".into(),
                ))),
            },
            end = &mut ending => Err(Some(end)),
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

/// Most messages written at once: what is queued behind the first goes out
/// in the same write (one system call for a burst of frames).
const MAX_BATCH: usize = 64;

/// Writes one message, and what else is queued for the client (up to
/// [`MAX_BATCH`] in all), unless the client does not take them within the
/// write timeout (it stopped reading) or the connection must end meanwhile.
async fn write(
    socket: &mut WebSocket,
    item: Item,
    queued: Option<&Outgoing>,
    limits: &Limits,
    idle: Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let stuck = after(limits.write_timeout);
    let batch = async {
        socket.feed(message(item)).await?;
        for _ in 1..MAX_BATCH {
            // An overflow is reported by the connection's next read of the queue.
            match queued.map(Outgoing::try_next) {
                Some(Ok(Some(item))) => socket.feed(message(item)).await?,
                _ => break,
            }
        }
        socket.flush().await
    };
    tokio::select! {
        // The write first: it usually completes at once, and then no timer
        // or shutdown watch is set up for it.
        biased;
        sent = batch => sent.map_err(|_| None),
        _ = sleep_until(stuck) => {
            let waited = limits.write_timeout.as_secs();
            Err(Some(Close(close::NOT_READING, format!("not reading: a message waited {waited} s"))))
        }
        end = interrupted(idle, shutdown) => Err(Some(end)),
    }
}

fn message(item: Item) -> Message {
    match item {
        Item::Text(text) => Message::Text(text.into()),
        Item::Binary(bytes) => Message::Binary(bytes.into()),
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

/// When a connection goes idle: `timeout` after its last message.
struct IdleClock {
    opened: Instant,
    timeout: Duration,
    /// The deadline, in milliseconds after `opened`.
    deadline: AtomicU64,
}

impl IdleClock {
    fn new(timeout: Duration) -> IdleClock {
        let clock = IdleClock {
            opened: Instant::now(),
            timeout,
            deadline: AtomicU64::new(0),
        };
        clock.touch();
        clock
    }

    /// A message arrived: the deadline moves to `timeout` from now.
    fn touch(&self) {
        let at = after(self.timeout).saturating_duration_since(self.opened);
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        self.deadline.store(ms, Ordering::Relaxed);
    }

    fn deadline(&self) -> Instant {
        let ms = Duration::from_millis(self.deadline.load(Ordering::Relaxed));
        self.opened.checked_add(ms).unwrap_or(self.opened)
    }
}

/// Resolves when the connection goes idle or the server shuts down. Its
/// timer is set again only when it fires before a deadline that moved.
async fn ending(idle: &IdleClock, mut shutdown: watch::Receiver<bool>) -> Close {
    loop {
        let deadline = idle.deadline();
        tokio::select! {
            _ = sleep_until(deadline) => {
                if idle.deadline() <= deadline {
                    return Close(close::IDLE, "idle timeout".into());
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => {
                return Close(close::GOING_AWAY, "server shutting down".into());
            }
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
        for (_, room) in self.channels.drain() {
            self.replicas.detach(&room, self.admitted.id());
        }
        for (_, kept) in self.sealed_channels.drain() {
            self.sealed.detach(&kept.kept_as, self.admitted.id());
        }
        for (room, peer) in self.rooms.drain() {
            self.hub.leave(&room, &peer, self.admitted.id());
        }
    }

    /// Leaves `room`: its sync channel first, then its members.
    fn leave(&mut self, room: &str, peer: &str) {
        self.channels.retain(|_, synced| synced != room);
        self.replicas.detach(room, self.id());
        let (id, sealed) = (self.id(), &self.sealed);
        self.sealed_channels.retain(|_, kept| {
            let stays = kept.room != room;
            if !stays {
                sealed.detach(&kept.kept_as, id);
            }
            stays
        });
        self.writes.remove(room);
        self.rooms.remove(room);
        self.hub.leave(room, peer, self.id());
    }

    /// A sync frame behind its channel number.
    async fn sync_frame(&mut self, message: &[u8]) -> Result<(), Close> {
        if message.len() > MAX_FRAME + 5 {
            return Err(Close(
                close::TOO_BIG,
                format!(
                    "a sync frame of {} bytes exceeds {MAX_FRAME}",
                    message.len()
                ),
            ));
        }
        if !self.sync_rate.take(std::time::Instant::now()) {
            return Err(Close(
                close::POLICY,
                format!(
                    "more than {} sync frames per second",
                    self.limits.sync_frames_per_second
                ),
            ));
        }
        let Some((channel, frame)) = split_channel(message) else {
            return Err(Close(
                close::POLICY,
                "a sync frame without a channel".into(),
            ));
        };
        if self.sealed_channels.contains_key(&channel) {
            return self.sealed_frame(channel, frame).await;
        }
        let Some(room) = self.channels.get(&channel) else {
            return Err(Close(
                close::POLICY,
                format!("no sync channel {channel} on this connection"),
            ));
        };
        self.replicas
            .receive(room, self.admitted.id(), frame)
            .map_err(|e| match e {
                // Not this client's fault: others are sending meanwhile.
                SyncError::OverBudget { .. } => Close(close::TRY_AGAIN_LATER, e.to_string()),
                SyncError::ReadOnly => Close(
                    close::FORBIDDEN,
                    format!("read-only: this token may not change room {room:?}"),
                ),
                e => Close(close::POLICY, format!("sync in room {room:?}: {e}")),
            })
    }

    /// A frame of an encrypted room kept on the server.
    async fn sealed_frame(&mut self, channel: u32, frame: &[u8]) -> Result<(), Close> {
        let id = self.id();
        let Some(Sealed {
            room,
            kept_as,
            reassembly,
        }) = self.sealed_channels.get_mut(&channel)
        else {
            return Ok(());
        };
        let message = match reassembly.receive(frame) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(()),
            Err(e @ SyncError::OverBudget { .. }) => {
                return Err(Close(close::TRY_AGAIN_LATER, e.to_string()))
            }
            Err(e) => return Err(Close(close::POLICY, format!("sealed room {room:?}: {e}"))),
        };
        let changes = matches!(
            message,
            SealedMessage::Append { .. } | SealedMessage::Compact { .. }
        );
        if changes && self.writes.get(room.as_str()) == Some(&false) {
            return Err(Close(
                close::FORBIDDEN,
                format!("read-only: this token may not change room {room:?}"),
            ));
        }
        let (room, kept_as) = (room.clone(), kept_as.clone());
        self.sealed
            .handle(&kept_as, id, channel, &self.outbox, message)
            .await
            .map_err(|e| match e {
                SealedError::Storage(e) => {
                    log!(Warn, "room {room:?}: {e}");
                    Close(close::TRY_AGAIN_LATER, format!("room {room:?}: {e}"))
                }
                e @ SealedError::Protocol(_) => Close(close::POLICY, e.to_string()),
            })
    }

    async fn handle(&mut self, message: Message) -> Result<(), Close> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(bytes) => return self.sync_frame(&bytes).await,
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
                sync,
                token,
                sealed,
            } => {
                if sync && sealed.is_some() {
                    let reason =
                        "a room is synced with the server's replica or kept sealed, not both";
                    return Err(Close(close::POLICY, reason.into()));
                }
                if !sealed.as_deref().is_none_or(valid_id) {
                    let reason = "a sealed room's key name is 1 to 64 of A-Z a-z 0-9 _ -";
                    return Err(Close(close::POLICY, reason.into()));
                }
                let role = self.authorize(&room, token.as_deref())?;
                let kept = match sealed {
                    Some(key) => Kept::Sealed(key),
                    None if sync => Kept::Synced,
                    None => Kept::No,
                };
                self.join(room, peer, browser, kept, role).await
            }
            ClientMessage::Leave { room } => {
                let peer = self.member(&room)?.to_owned();
                self.leave(&room, &peer);
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

    async fn join(
        &mut self,
        room: String,
        peer: String,
        browser: Option<String>,
        kept: Kept,
        role: Option<Role>,
    ) -> Result<(), Close> {
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
        if peer == SERVER_PEER {
            return Err(Close(
                close::POLICY,
                format!("the peer id {SERVER_PEER:?} is the server's own"),
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
        let member =
            Member::new(self.id(), self.client, browser, self.outbox.clone()).with_role(role);
        // Channels are never reused on a connection: a late frame of a room
        // left cannot reach another.
        let channel = (kept != Kept::No).then_some(self.next_channel);
        let joined = self.hub.join(&room, &peer, member, channel);
        match joined {
            Ok(()) => {
                log!(Debug, "connection {} joined {room:?} as {peer}", self.id());
                self.rooms.insert(room.clone(), peer);
                self.writes.insert(room.clone(), role != Some(Role::Read));
                if channel.is_some() {
                    self.next_channel += 1;
                }
                if let (Some(channel), Kept::Sealed(key)) = (channel, &kept) {
                    let kept = Sealed {
                        // Apart from the plain room, and from another secret's.
                        kept_as: format!("{key}/{room}"),
                        room,
                        reassembly: SealedChannel::server(
                            self.sealed_share.get_or_insert_with(|| self.sealed.share()),
                        ),
                    };
                    self.sealed_channels.insert(channel, kept);
                } else if let Some(channel) = channel {
                    // Frames that follow on this connection wait for the load.
                    let outbox = self.outbox.clone();
                    let writes = role != Some(Role::Read);
                    let attached = self
                        .replicas
                        .attach(&room, self.id(), channel, outbox, writes);
                    if let Err(e) = attached.await {
                        log!(Warn, "room {room:?}: {e}");
                        return Err(Close(close::TRY_AGAIN_LATER, format!("room {room:?}: {e}")));
                    }
                    self.channels.insert(channel, room);
                }
            }
            Err(refusal) => {
                let reason = format!("cannot join {room:?} as {peer}");
                self.refuse(refusal, reason, &room);
            }
        }
        Ok(())
    }

    /// The role the join's token grants in `room` (`None` when the server
    /// checks no tokens). A join without a valid token closes the
    /// connection, the reason starting with the error's code: nothing of
    /// it is stored or relayed.
    fn authorize(&self, room: &str, token: Option<&str>) -> Result<Option<Role>, Close> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        auth.check(token, room)
            .map(Some)
            .map_err(|e| Close(close::FORBIDDEN, format!("{}: {e}", e.code())))
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
