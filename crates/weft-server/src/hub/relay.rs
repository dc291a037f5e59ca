//! Signaling across servers sharing a database (`--redis`): browsers in
//! one room but on different servers find each other and exchange WebRTC
//! offers, answers and candidates as if on one.
//!
//! Each room with members here has a stream of its own; a server appends
//! who joins and leaves it, and the signals for members on other servers
//! (whose server delivers them). It asks who is there when it starts
//! following the room and says who is here every [`HERE_EVERY`]; members
//! of a server not heard of for [`GONE_AFTER`] are taken as gone (the
//! server died), and those missing from its list as left.

use super::Hub;
use crate::bus::{BusEntry, BusEvent, EntryKind, Publisher};
use crate::log;
use crate::protocol::PeerInfo;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often a server says who is here.
const HERE_EVERY: Duration = Duration::from_secs(5);

/// How long a server's members count after it last said so: three lists
/// missed.
const GONE_AFTER: Duration = Duration::from_secs(16);

/// The stream of signaling room `room`: under a name no plain room can
/// have (room names hold no control characters).
fn stream(room: &str) -> String {
    format!("\u{2}signal:{room}")
}

/// The data of a [`EntryKind::Signal`]: `to`'s length, `to`, the text.
pub(super) fn signal(to: &str, text: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + to.len() + text.len());
    data.push(to.len() as u8); // peer ids are at most 64 bytes
    data.extend_from_slice(to.as_bytes());
    data.extend_from_slice(text.as_bytes());
    data
}

/// Appends an entry to `room`'s signaling stream, after those queued
/// before it (the hub's callers cannot wait for Redis).
pub(super) fn publish(publisher: &Publisher, room: &str, kind: EntryKind, data: Vec<u8>) {
    if !publisher.send(&stream(room), kind, data) {
        log!(
            Warn,
            "room {room:?}: Redis is behind, signaling not relayed to other servers"
        );
    }
}

/// Follows `room`'s signaling stream while it has members here, as the
/// room's `generation` (a room emptied and filled again is another: its
/// own task follows it, and this one stops, so nothing is delivered twice).
pub(super) async fn follow(hub: Arc<Hub>, room: String, generation: u64) {
    let Some((bus, publisher)) = &hub.bus else {
        return;
    };
    let key = stream(&room);
    loop {
        let mut subscription = match bus.subscribe(&key).await {
            Ok(s) => s,
            Err(e) => {
                log!(
                    Warn,
                    "room {room:?}: not following other servers' members: {e}"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                if !hub.follows(&room, generation) {
                    return;
                }
                continue;
            }
        };
        // Members here are announced once others can reach them through
        // entries this server reads; then the others are asked who is there.
        let Some(members) = hub.following(&room, generation) else {
            return;
        };
        publish(publisher, &room, EntryKind::Here, list(&members));
        publish(publisher, &room, EntryKind::Who, Vec::new());
        let mut tick = tokio::time::interval(HERE_EVERY);
        tick.tick().await; // the first tick is now: said above
        loop {
            let here = tokio::select! {
                event = subscription.recv() => match event {
                    Some(BusEvent::Entry(entry)) => {
                        let here = hub.follows(&room, generation);
                        if here {
                            from_bus(&hub, publisher, &room, generation, entry);
                        }
                        here
                    }
                    Some(BusEvent::Lagged | BusEvent::Reconnected) => {
                        let here = hub.follows(&room, generation);
                        if here {
                            publish(publisher, &room, EntryKind::Who, Vec::new());
                        }
                        here
                    }
                    None => false,
                },
                _ = tick.tick() => {
                    let silent_since = Instant::now() - GONE_AFTER;
                    hub.forget_remote(&room, |_, r| r.seen < silent_since);
                    say_here(&hub, publisher, &room, generation)
                }
            };
            if !here {
                return;
            }
        }
    }
}

fn list(members: &[PeerInfo]) -> Vec<u8> {
    serde_json::to_vec(members).expect("peer infos serialize")
}

/// Says who is here; false when nobody is (the room is not here, in
/// this `generation`).
fn say_here(hub: &Hub, publisher: &Publisher, room: &str, generation: u64) -> bool {
    let Some(members) = hub.members_here(room, generation) else {
        return false;
    };
    publish(publisher, room, EntryKind::Here, list(&members));
    true
}

fn from_bus(hub: &Hub, publisher: &Publisher, room: &str, generation: u64, entry: BusEntry) {
    let node = entry.node;
    match entry.kind {
        EntryKind::Joined => match serde_json::from_slice::<PeerInfo>(&entry.data) {
            Ok(info) => hub.remote_joined(room, node, info),
            Err(_) => log!(
                Warn,
                "room {room:?}: node {node:x} sent a member that does not parse"
            ),
        },
        EntryKind::Left => {
            let peer = String::from_utf8_lossy(&entry.data);
            hub.forget_remote(room, |id, r| r.node == node && id == peer);
        }
        EntryKind::Here => match serde_json::from_slice::<Vec<PeerInfo>>(&entry.data) {
            Ok(list) => {
                let missing = |id: &str| list.iter().all(|p| p.peer != id);
                hub.forget_remote(room, |id, r| r.node == node && missing(id));
                for info in list {
                    hub.remote_joined(room, node, info);
                }
            }
            Err(_) => log!(
                Warn,
                "room {room:?}: node {node:x} sent members that do not parse"
            ),
        },
        EntryKind::Who => {
            say_here(hub, publisher, room, generation);
        }
        EntryKind::Signal => {
            let data = &entry.data;
            let Some((&len, rest)) = data.split_first() else {
                return;
            };
            let (to, text) = rest.split_at(usize::from(len).min(rest.len()));
            if let (Ok(to), Ok(text)) = (std::str::from_utf8(to), std::str::from_utf8(text)) {
                hub.deliver(room, to, text.to_owned());
            }
        }
        _ => {}
    }
}
