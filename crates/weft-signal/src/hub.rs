//! Rooms and their members: who is where, and the queues to reach them.

use crate::limits::Limits;
use crate::protocol::{PeerInfo, ServerMessage};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Identifies one WebSocket connection inside the server.
pub type ConnectionId = u64;

struct Member {
    connection: ConnectionId,
    browser: Option<String>,
    queue: mpsc::Sender<String>,
}

/// Why a request was refused (sent back as an `error` message).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The room holds its maximum number of peers.
    RoomFull,
    /// Another connection is in the room under that peer id.
    PeerTaken,
    /// The target of a signal is not (or no longer) in the room.
    NoSuchPeer,
    /// The target's queue is full: it is not reading.
    PeerNotReading,
}

impl Refusal {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::RoomFull => "room-full",
            Refusal::PeerTaken => "peer-taken",
            Refusal::NoSuchPeer => "no-such-peer",
            Refusal::PeerNotReading => "peer-not-reading",
        }
    }
}

/// All rooms of the server.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<String, BTreeMap<String, Member>>>,
    connections: AtomicUsize,
    next_connection: AtomicUsize,
}

impl Hub {
    /// A new connection's id (and it is counted as open).
    pub fn open(&self) -> ConnectionId {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.next_connection.fetch_add(1, Ordering::Relaxed) as ConnectionId
    }

    /// A connection closed.
    pub fn closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Rooms with at least one member.
    pub fn room_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, Member>>> {
        // A panic elsewhere while holding the lock leaves the map consistent
        // (every change is a single insert or remove), so keep going.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `peer` to `room`: everyone there is told, and the newcomer's
    /// queue gets `joined` with who was there before. Both happen under the
    /// lock, so no `peer-joined` from a later join can overtake `joined`.
    pub fn join(
        &self,
        room: &str,
        peer: &str,
        browser: Option<String>,
        connection: ConnectionId,
        queue: mpsc::Sender<String>,
        limits: &Limits,
    ) -> Result<(), Refusal> {
        let mut rooms = self.lock();
        let members = rooms.entry(room.to_owned()).or_default();
        if members.contains_key(peer) {
            return Err(Refusal::PeerTaken);
        }
        if members.len() >= limits.max_peers_per_room {
            return Err(Refusal::RoomFull);
        }
        let info = PeerInfo {
            peer: peer.to_owned(),
            browser: browser.clone(),
        };
        let announce = ServerMessage::PeerJoined { room, peer: info }.to_json();
        let mut before = Vec::with_capacity(members.len());
        for (id, m) in members.iter() {
            // A member too slow to take this misses one announcement; its
            // own connection is being closed for not reading anyway.
            let _ = m.queue.try_send(announce.clone());
            before.push(PeerInfo {
                peer: id.clone(),
                browser: m.browser.clone(),
            });
        }
        let joined = ServerMessage::Joined {
            room,
            peers: before,
        };
        // A newcomer whose queue is already full stopped reading; it misses
        // the answer like any other message.
        let _ = queue.try_send(joined.to_json());
        members.insert(
            peer.to_owned(),
            Member {
                connection,
                browser,
                queue,
            },
        );
        Ok(())
    }

    /// Removes `peer` from `room` (if this connection holds it) and tells
    /// the others.
    pub fn leave(&self, room: &str, peer: &str, connection: ConnectionId) {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        if members.get(peer).map(|m| m.connection) != Some(connection) {
            return;
        }
        members.remove(peer);
        let announce = ServerMessage::PeerLeft { room, peer }.to_json();
        for m in members.values() {
            let _ = m.queue.try_send(announce.clone());
        }
        if members.is_empty() {
            rooms.remove(room);
        }
    }

    /// Queues `text` for member `to` of `room`.
    pub fn relay(&self, room: &str, to: &str, text: String) -> Result<(), Refusal> {
        let rooms = self.lock();
        let member = rooms
            .get(room)
            .and_then(|m| m.get(to))
            .ok_or(Refusal::NoSuchPeer)?;
        member
            .queue
            .try_send(text)
            .map_err(|_| Refusal::PeerNotReading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_relay_leave() {
        let hub = Hub::default();
        let limits = Limits {
            max_peers_per_room: 2,
            ..Limits::default()
        };
        let (qa, mut ra) = mpsc::channel(8);
        let (qb, mut rb) = mpsc::channel(8);
        hub.join("r", "a", None, 1, qa.clone(), &limits).unwrap();
        assert!(ra.try_recv().unwrap().contains("\"peers\":[]"));
        assert_eq!(
            hub.join("r", "a", None, 2, qb.clone(), &limits)
                .unwrap_err(),
            Refusal::PeerTaken
        );
        hub.join("r", "b", Some("x".into()), 2, qb.clone(), &limits)
            .unwrap();
        assert!(rb
            .try_recv()
            .unwrap()
            .contains("\"peers\":[{\"peer\":\"a\"}]"));
        assert!(ra.try_recv().unwrap().contains("\"peer-joined\""));
        assert_eq!(
            hub.join("r", "c", None, 3, qa.clone(), &limits)
                .unwrap_err(),
            Refusal::RoomFull
        );
        hub.relay("r", "b", "hi".into()).unwrap();
        assert_eq!(rb.try_recv().unwrap(), "hi");
        assert_eq!(hub.relay("r", "z", "x".into()), Err(Refusal::NoSuchPeer));
        // Only the connection that holds a peer id can remove it.
        hub.leave("r", "b", 1);
        assert_eq!(hub.room_count(), 1);
        hub.leave("r", "b", 2);
        assert!(ra.try_recv().unwrap().contains("\"peer-left\""));
        hub.leave("r", "a", 1);
        assert_eq!(hub.room_count(), 0);
    }
}
