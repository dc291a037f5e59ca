//! Rooms and their members: who is where, and the queues to reach them.

use crate::admission::ConnectionId;
use crate::auth::Role;
use crate::limits::Limits;
use crate::outbox::{Full, Outbox};
use crate::protocol::{PeerInfo, ServerMessage};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

/// A peer in a room: the connection that holds its id, and how to reach it.
pub struct Member {
    connection: ConnectionId,
    client: IpAddr,
    browser: Option<String>,
    outbox: Outbox,
    role: Option<Role>,
}

impl Member {
    /// Peer of `connection` from `client` (see [`crate::address::client_of`]).
    pub fn new(
        connection: ConnectionId,
        client: IpAddr,
        browser: Option<String>,
        outbox: Outbox,
    ) -> Member {
        Member {
            connection,
            client,
            browser,
            outbox,
            role: None,
        }
    }

    /// This member, with the role its token grants (told to the others).
    pub fn with_role(mut self, role: Option<Role>) -> Member {
        self.role = role;
        self
    }

    fn info(&self, peer: &str) -> PeerInfo {
        PeerInfo {
            peer: peer.to_owned(),
            browser: self.browser.clone(),
            role: self.role,
        }
    }
}

/// Why a request was refused (sent back as an `error` message).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The room holds its maximum number of peers.
    RoomFull,
    /// The room holds its maximum number of peers from the joiner's address.
    AddressFull,
    /// The server holds its maximum number of rooms.
    ServerFull,
    /// Another connection is in the room under that peer id.
    PeerTaken,
    /// The target of a signal is not (or no longer) in the room.
    NoSuchPeer,
    /// The target's queue is full: it is not reading.
    PeerNotReading,
    /// All queues together hold the server's budget of bytes.
    ServerBusy,
}

impl Refusal {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::RoomFull => "room-full",
            Refusal::AddressFull => "address-full",
            Refusal::ServerFull => "server-full",
            Refusal::PeerTaken => "peer-taken",
            Refusal::NoSuchPeer => "no-such-peer",
            Refusal::PeerNotReading => "peer-not-reading",
            Refusal::ServerBusy => "server-busy",
        }
    }
}

impl From<Full> for Refusal {
    fn from(full: Full) -> Refusal {
        match full {
            Full::Connection => Refusal::PeerNotReading,
            Full::Server => Refusal::ServerBusy,
        }
    }
}

type Rooms = HashMap<String, BTreeMap<String, Member>>;

/// All rooms of the server.
pub struct Hub {
    rooms: Mutex<Rooms>,
    max_rooms: usize,
    max_peers_per_room: usize,
    max_peers_per_address: usize,
}

impl Hub {
    /// No rooms yet; `limits` caps rooms and their members.
    pub fn new(limits: &Limits) -> Hub {
        Hub {
            rooms: Mutex::default(),
            max_rooms: limits.max_rooms,
            max_peers_per_room: limits.max_peers_per_room,
            max_peers_per_address: limits.max_peers_per_address,
        }
    }

    /// Rooms with at least one member.
    pub fn room_count(&self) -> usize {
        self.lock().len()
    }

    /// The most rooms there may be.
    pub fn max_rooms(&self) -> usize {
        self.max_rooms
    }

    fn lock(&self) -> MutexGuard<'_, Rooms> {
        // A panic elsewhere while holding the lock leaves the map consistent
        // (every change is a single insert or remove), so keep going.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `peer` to `room`: the newcomer's queue gets `joined` with who
    /// was there before, and everyone there is told. Both happen under the
    /// lock, so no `peer-joined` from a later join can overtake `joined`.
    /// A refused join changes nothing (no empty room is left behind).
    /// `channel`: the number the room's sync frames carry on the member's
    /// connection, when it syncs with the server (said in `joined`).
    pub fn join(
        &self,
        room: &str,
        peer: &str,
        member: Member,
        channel: Option<u32>,
    ) -> Result<(), Refusal> {
        let mut rooms = self.lock();
        let empty = BTreeMap::new();
        let members = match rooms.get(room) {
            Some(members) => members,
            None if rooms.len() >= self.max_rooms => return Err(Refusal::ServerFull),
            None => &empty,
        };
        if members.contains_key(peer) {
            return Err(Refusal::PeerTaken);
        }
        if members.len() >= self.max_peers_per_room {
            return Err(Refusal::RoomFull);
        }
        let same_client = members.values().filter(|m| m.client == member.client);
        if same_client.count() >= self.max_peers_per_address {
            return Err(Refusal::AddressFull);
        }
        let before = members.iter().map(|(id, m)| m.info(id)).collect();
        let joined = ServerMessage::Joined {
            room,
            peers: before,
            channel,
            role: member.role,
        };
        member.outbox.push(joined.to_json())?;
        let info = member.info(peer);
        let announce = ServerMessage::PeerJoined { room, peer: info }.to_json();
        for m in members.values() {
            // A member whose queue is full misses the announcement like any
            // other message; it is closed if it does not read in time.
            let _ = m.outbox.push(announce.clone());
        }
        rooms
            .entry(room.to_owned())
            .or_default()
            .insert(peer.to_owned(), member);
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
            let _ = m.outbox.push(announce.clone());
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
        Ok(member.outbox.push(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{channel, Budget, Outgoing};
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn queue() -> (Outbox, Outgoing) {
        channel(Arc::new(Budget::new(1 << 20)), 8, 1 << 16, 1 << 16)
    }

    fn text(item: Result<crate::outbox::Item, crate::outbox::Overflowed>) -> String {
        match item {
            Ok(crate::outbox::Item::Text(t)) => t,
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn member(connection: ConnectionId, browser: Option<&str>, outbox: &Outbox) -> Member {
        Member::new(connection, HOME, browser.map(Into::into), outbox.clone())
    }

    #[tokio::test]
    async fn join_relay_leave() {
        let hub = Hub::new(&Limits {
            max_peers_per_room: 2,
            ..Limits::default()
        });
        let (qa, ra) = queue();
        let (qb, rb) = queue();
        hub.join("r", "a", member(1, None, &qa), None).unwrap();
        assert!(text(ra.next().await).contains("\"peers\":[]"));
        assert_eq!(
            hub.join("r", "a", member(2, None, &qb), None).unwrap_err(),
            Refusal::PeerTaken
        );
        hub.join("r", "b", member(2, Some("x"), &qb), None).unwrap();
        assert!(text(rb.next().await).contains("\"peers\":[{\"peer\":\"a\"}]"));
        assert!(text(ra.next().await).contains("\"peer-joined\""));
        assert_eq!(
            hub.join("r", "c", member(3, None, &qa), None).unwrap_err(),
            Refusal::RoomFull
        );
        hub.relay("r", "b", "hi".into()).unwrap();
        assert_eq!(text(rb.next().await), "hi");
        assert_eq!(hub.relay("r", "z", "x".into()), Err(Refusal::NoSuchPeer));
        // Only the connection that holds a peer id can remove it.
        hub.leave("r", "b", 1);
        assert_eq!(hub.room_count(), 1);
        hub.leave("r", "b", 2);
        assert!(text(ra.next().await).contains("\"peer-left\""));
        hub.leave("r", "a", 1);
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn a_refused_join_leaves_no_room_behind() {
        let hub = Hub::new(&Limits {
            max_peers_per_room: 0,
            ..Limits::default()
        });
        let (outbox, _outgoing) = queue();
        for i in 0..3 {
            let refused = hub.join(&format!("r{i}"), "a", member(1, None, &outbox), None);
            assert_eq!(refused, Err(Refusal::RoomFull));
        }
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn rooms_and_places_per_address_are_capped() {
        let hub = Hub::new(&Limits {
            max_rooms: 1,
            max_peers_per_address: 2,
            ..Limits::default()
        });
        let (outbox, _outgoing) = queue();
        hub.join("r", "a", member(1, None, &outbox), None).unwrap();
        hub.join("r", "b", member(2, None, &outbox), None).unwrap();
        let third = hub.join("r", "c", member(3, None, &outbox), None);
        assert_eq!(third, Err(Refusal::AddressFull));
        let elsewhere = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        hub.join(
            "r",
            "c",
            Member::new(3, elsewhere, None, outbox.clone()),
            None,
        )
        .unwrap();
        let other_room = hub.join("s", "a", member(1, None, &outbox), None);
        assert_eq!(other_room, Err(Refusal::ServerFull));
        assert_eq!(hub.room_count(), 1);
    }
}
