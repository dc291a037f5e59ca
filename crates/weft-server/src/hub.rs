//! Rooms and their members: who is where, and the queues to reach them.
//! Servers sharing a database (`--redis`) also know each other's members
//! of the rooms they have members in, and relay signals to them
//! (`hub/relay.rs`).

mod relay;

use crate::admission::ConnectionId;
use crate::auth::Role;
use crate::bus::{Bus, EntryKind, Publisher};
use crate::limits::Limits;
use crate::outbox::{Full, Outbox};
use crate::protocol::{PeerInfo, ServerMessage};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// Signaling messages waiting for Redis at most; beyond, they are dropped
/// (as a WebRTC signal to a member whose queue is full is).
const SIGNALS_WAITING: usize = 4096;

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

/// A member of a room on another server.
struct Remote {
    node: u64,
    info: PeerInfo,
    /// When its server last said it is there.
    seen: Instant,
}

/// A room with members here.
#[derive(Default)]
struct Room {
    members: BTreeMap<String, Member>,
    /// Its members on other servers, as they said.
    remote: BTreeMap<String, Remote>,
    /// This server reads the room's signaling stream: what is published
    /// now reaches its members. Before, a member joining is not announced
    /// (others would signal it through entries this server never reads);
    /// the list said once the stream is read announces it.
    following: bool,
    /// Which filling of the room this is (see `relay::follow`).
    generation: u64,
}

impl Room {
    /// Tells every member here `text`. A member whose queue is full misses
    /// it like any other message; it is closed if it does not read in time.
    fn tell(&self, text: &str) {
        for m in self.members.values() {
            let _ = m.outbox.push(text.to_owned());
        }
    }

    fn infos(&self) -> Vec<PeerInfo> {
        self.members.iter().map(|(id, m)| m.info(id)).collect()
    }
}

type Rooms = HashMap<String, Room>;

/// All rooms of the server.
pub struct Hub {
    rooms: Mutex<Rooms>,
    max_rooms: usize,
    max_peers_per_room: usize,
    max_peers_per_address: usize,
    /// The other servers sharing the database, if any, and the queue
    /// that publishes to them in order.
    bus: Option<(Arc<Bus>, Publisher)>,
    /// The generation of the next room created.
    next_generation: AtomicU64,
}

impl Hub {
    /// No rooms yet; `limits` caps rooms and their members; `bus`
    /// reaches the other servers sharing the database, if any.
    pub fn new(limits: &Limits, bus: Option<Arc<Bus>>) -> Hub {
        Hub {
            rooms: Mutex::default(),
            max_rooms: limits.max_rooms,
            max_peers_per_room: limits.max_peers_per_room,
            max_peers_per_address: limits.max_peers_per_address,
            bus: bus.map(|bus| {
                let publisher = Publisher::new(bus.clone(), SIGNALS_WAITING, "signaling messages");
                (bus, publisher)
            }),
            next_generation: AtomicU64::new(0),
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
    /// With other servers, their members are among those in the room.
    pub fn join(
        self: &Arc<Self>,
        room: &str,
        peer: &str,
        member: Member,
        channel: Option<u32>,
    ) -> Result<(), Refusal> {
        let mut rooms = self.lock();
        let empty = Room::default();
        let found = match rooms.get(room) {
            Some(found) => found,
            None if rooms.len() >= self.max_rooms => return Err(Refusal::ServerFull),
            None => &empty,
        };
        if found.members.contains_key(peer) {
            return Err(Refusal::PeerTaken);
        }
        // A member of another server moving here (its server died or
        // dropped it): the others know it already.
        let moved = found.remote.contains_key(peer);
        if found.members.len() >= self.max_peers_per_room {
            return Err(Refusal::RoomFull);
        }
        let same_client = found.members.values().filter(|m| m.client == member.client);
        if same_client.count() >= self.max_peers_per_address {
            return Err(Refusal::AddressFull);
        }
        let mut before = found.infos();
        let others = found.remote.iter().filter(|(id, _)| *id != peer);
        before.extend(others.map(|(_, r)| r.info.clone()));
        let joined = ServerMessage::Joined {
            room,
            peers: before,
            channel,
            role: member.role,
        };
        member.outbox.push(joined.to_json())?;
        let info = member.info(peer);
        if !moved {
            found.tell(
                &ServerMessage::PeerJoined {
                    room,
                    peer: info.clone(),
                }
                .to_json(),
            );
        }
        let first = !rooms.contains_key(room);
        let here = rooms.entry(room.to_owned()).or_insert_with(|| Room {
            generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
            ..Room::default()
        });
        here.remote.remove(peer);
        here.members.insert(peer.to_owned(), member);
        if let Some((_, publisher)) = &self.bus {
            if first {
                tokio::spawn(relay::follow(
                    self.clone(),
                    room.to_owned(),
                    here.generation,
                ));
            } else if here.following {
                let info = serde_json::to_vec(&info).expect("peer info serializes");
                relay::publish(publisher, room, EntryKind::Joined, info);
            }
        }
        Ok(())
    }

    /// Removes `peer` from `room` (if this connection holds it) and tells
    /// the others.
    pub fn leave(&self, room: &str, peer: &str, connection: ConnectionId) {
        let mut rooms = self.lock();
        let Some(found) = rooms.get_mut(room) else {
            return;
        };
        if found.members.get(peer).map(|m| m.connection) != Some(connection) {
            return;
        }
        found.members.remove(peer);
        found.tell(&ServerMessage::PeerLeft { room, peer }.to_json());
        if found.members.is_empty() {
            rooms.remove(room);
        }
        if let Some((_, publisher)) = &self.bus {
            relay::publish(publisher, room, EntryKind::Left, peer.as_bytes().to_vec());
        }
    }

    /// Queues `text` for member `to` of `room`, here or on another server.
    pub fn relay(&self, room: &str, to: &str, text: String) -> Result<(), Refusal> {
        let rooms = self.lock();
        let found = rooms.get(room).ok_or(Refusal::NoSuchPeer)?;
        if let Some(member) = found.members.get(to) {
            return Ok(member.outbox.push(text)?);
        }
        match (&self.bus, found.remote.contains_key(to)) {
            (Some((_, publisher)), true) => {
                relay::publish(publisher, room, EntryKind::Signal, relay::signal(to, &text));
                Ok(())
            }
            _ => Err(Refusal::NoSuchPeer),
        }
    }
}

/// What the other servers say of their members (`hub/relay.rs`), for
/// rooms with members here; members here are told who came and went.
impl Hub {
    /// The members here of `room` in its `generation` (`None`: none, the
    /// room is not here, or is another filling of it).
    fn members_here(&self, room: &str, generation: u64) -> Option<Vec<PeerInfo>> {
        self.lock()
            .get(room)
            .filter(|r| r.generation == generation)
            .map(Room::infos)
    }

    /// Whether `room` has members here, in its `generation`.
    fn follows(&self, room: &str, generation: u64) -> bool {
        self.lock()
            .get(room)
            .is_some_and(|r| r.generation == generation)
    }

    /// This server now reads `room`'s signaling stream (in `generation`):
    /// its members from now on are announced as they join. Returns those
    /// here already (to be announced at once), or None if it is gone.
    fn following(&self, room: &str, generation: u64) -> Option<Vec<PeerInfo>> {
        let mut rooms = self.lock();
        let found = rooms.get_mut(room).filter(|r| r.generation == generation)?;
        found.following = true;
        Some(found.infos())
    }

    /// `info` is a member of `room` on server `node`, as of now.
    fn remote_joined(&self, room: &str, node: u64, info: PeerInfo) {
        let mut rooms = self.lock();
        let Some(found) = rooms.get_mut(room) else {
            return;
        };
        if found.members.contains_key(&info.peer) {
            return; // an id taken here stays with its member here
        }
        let seen = Instant::now();
        match found.remote.get_mut(&info.peer) {
            Some(known) => (known.node, known.seen) = (node, seen),
            None => {
                found.tell(
                    &ServerMessage::PeerJoined {
                        room,
                        peer: info.clone(),
                    }
                    .to_json(),
                );
                let peer = info.peer.clone();
                found.remote.insert(peer, Remote { node, info, seen });
            }
        }
    }

    /// Members of `room` on other servers that `gone` says left (their
    /// server said so, or has been silent too long): the members here are
    /// told.
    fn forget_remote(&self, room: &str, gone: impl Fn(&str, &Remote) -> bool) {
        let mut rooms = self.lock();
        let Some(found) = rooms.get_mut(room) else {
            return;
        };
        let left: Vec<String> = found
            .remote
            .iter()
            .filter(|(peer, r)| gone(peer, r))
            .map(|(peer, _)| peer.clone())
            .collect();
        for peer in left {
            found.remote.remove(&peer);
            found.tell(&ServerMessage::PeerLeft { room, peer: &peer }.to_json());
        }
    }

    /// Queues `text` for member `to` of `room` if it is here.
    fn deliver(&self, room: &str, to: &str, text: String) {
        if let Some(member) = self.lock().get(room).and_then(|r| r.members.get(to)) {
            let _ = member.outbox.push(text);
        }
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
        let hub = Arc::new(Hub::new(
            &Limits {
                max_peers_per_room: 2,
                ..Limits::default()
            },
            None,
        ));
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

    #[tokio::test]
    async fn a_member_of_another_server_may_move_here() {
        let hub = Arc::new(Hub::new(&Limits::default(), None));
        let (qb, rb) = queue();
        hub.join("r", "bob", member(1, None, &qb), None).unwrap();
        assert!(text(rb.next().await).contains("\"peers\":[]"));
        let ada = PeerInfo {
            peer: "ada".into(),
            browser: None,
            role: None,
        };
        hub.remote_joined("r", 7, ada);
        assert!(text(rb.next().await).contains("\"peer\":\"ada\""));
        // Her server died; she comes here under the same id.
        let (qa, ra) = queue();
        hub.join("r", "ada", member(2, None, &qa), None).unwrap();
        let joined = text(ra.next().await);
        assert!(
            joined.contains("\"peers\":[{\"peer\":\"bob\"}]"),
            "{joined}"
        );
        // Bob knew her already: told nothing, and her old server's
        // silence does not make her leave.
        let later = Instant::now() + std::time::Duration::from_secs(1);
        hub.forget_remote("r", |_, r| r.seen < later);
        hub.relay("r", "bob", "ping".into()).unwrap();
        assert_eq!(text(rb.next().await), "ping");
        hub.relay("r", "ada", "pong".into()).unwrap();
        assert_eq!(text(ra.next().await), "pong");
    }

    #[test]
    fn a_refused_join_leaves_no_room_behind() {
        let hub = Arc::new(Hub::new(
            &Limits {
                max_peers_per_room: 0,
                ..Limits::default()
            },
            None,
        ));
        let (outbox, _outgoing) = queue();
        for i in 0..3 {
            let refused = hub.join(&format!("r{i}"), "a", member(1, None, &outbox), None);
            assert_eq!(refused, Err(Refusal::RoomFull));
        }
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn rooms_and_places_per_address_are_capped() {
        let hub = Arc::new(Hub::new(
            &Limits {
                max_rooms: 1,
                max_peers_per_address: 2,
                ..Limits::default()
            },
            None,
        ));
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
