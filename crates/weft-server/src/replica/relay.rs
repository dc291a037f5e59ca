//! Rooms relayed between server nodes through the Redis bus (`crate::bus`)
//! when several share one database: what a node's replica merges from its
//! own clients goes to the room's stream, and what other nodes publish
//! merges into it and goes on to this node's sessions, as from one more
//! connection (and is stored here too: any node's records may hold it).
//!
//! Nothing relies on the bus delivering everything. Each node publishes
//! its version of a loaded room when it subscribes, every few seconds, and
//! whenever the bus says entries were lost; a node that sees a version
//! lacking what it holds answers with an update. So entries lost to
//! trimming, a Redis restart or a slow reader, and edits a node holds but
//! has not stored yet when another loads the room, all arrive.

use super::{lock, Replica, Replicas, Slot};
use crate::bus::{Bus, BusEntry, BusEvent, EntryKind, Publisher};
use crate::log;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;
use weft::sync::SharedOutgoing;
use weft::{Doc, Version};

/// How often a node publishes its version of each room it has loaded.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// Publishes waiting for Redis at most; beyond, they are dropped (the
/// version exchange sends them again).
const OUTGOING: usize = 4096;

/// How long a room waits before subscribing again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// This node's end of the bus.
pub struct Relay {
    bus: Arc<Bus>,
    publisher: Publisher,
}

impl Relay {
    /// Relays through `bus`, publishing in order.
    pub fn new(bus: Arc<Bus>) -> Relay {
        let publisher = Publisher::new(bus.clone(), OUTGOING, "messages");
        Relay { bus, publisher }
    }

    fn send(&self, room: &str, kind: EntryKind, data: Vec<u8>) {
        if !self.publisher.send(room, kind, data) {
            log!(
                Warn,
                "room {room:?}: the bus is behind, a message to other nodes was dropped"
            );
        }
    }

    /// Sends what `room`'s replica `doc` merged from its own clients since
    /// `before` to the other nodes: the update its sessions were sent
    /// (`shared`), when they had `before`.
    pub(super) fn merged(
        &self,
        room: &str,
        doc: &mut Doc,
        shared: &mut SharedOutgoing,
        before: &Version,
    ) {
        match shared.update_since(doc, before) {
            Ok(update) => self.send(room, EntryKind::Update, update.to_vec()),
            Err(e) => log!(Warn, "room {room:?}: could not encode what it merged: {e}"),
        }
    }

    fn announce(&self, room: &str, replica: &Replica) {
        self.send(room, EntryKind::Version, replica.doc.version().encode());
    }
}

impl Replicas {
    /// Starts relaying `room` (just loaded into `slot`) with the other
    /// nodes, if there are any; ends once the room is unloaded.
    pub(super) fn start_relaying(self: &Arc<Self>, room: &str, slot: &Arc<Slot>) {
        if self.relay.is_some() {
            let (replicas, room, slot) = (self.clone(), room.to_owned(), Arc::downgrade(slot));
            tokio::spawn(async move { replicas.relay_room(&room, &slot).await });
        }
    }

    /// Subscribes to the room's stream (again after a failure), announces
    /// this node's version, then applies what other nodes send and
    /// announces again every [`ANNOUNCE_EVERY`] and after each loss.
    async fn relay_room(self: Arc<Self>, room: &str, slot: &Weak<Slot>) {
        let Some(relay) = &self.relay else {
            return;
        };
        loop {
            let mut subscription = match relay.bus.subscribe(room).await {
                Ok(s) => s,
                Err(e) => {
                    log!(
                        Warn,
                        "room {room:?}: not subscribed to other nodes' edits: {e}"
                    );
                    tokio::time::sleep(RETRY).await;
                    if !self.relaying(room, slot, None) {
                        return;
                    }
                    continue;
                }
            };
            let mut tick = tokio::time::interval(ANNOUNCE_EVERY);
            loop {
                tokio::select! {
                    event = subscription.recv() => match event {
                        Some(BusEvent::Entry(entry)) => self.from_bus(room, slot, entry),
                        Some(BusEvent::Lagged | BusEvent::Reconnected) => {
                            if !self.relaying(room, slot, Some(relay)) {
                                return;
                            }
                        }
                        // The bus was closed: the server is stopping.
                        None => return,
                    },
                    _ = tick.tick() => if !self.relaying(room, slot, Some(relay)) {
                        return;
                    },
                }
            }
        }
    }

    /// Whether `room` is still loaded in `slot`; if so, announces its
    /// version through `relay`, if given.
    fn relaying(&self, room: &str, slot: &Weak<Slot>, relay: Option<&Relay>) -> bool {
        let Some(slot) = slot.upgrade() else {
            return false;
        };
        let Some(mutex) = slot.replica.get() else {
            return false;
        };
        let replica = lock(mutex);
        if replica.unloaded {
            return false;
        }
        if let Some(relay) = relay {
            relay.announce(room, &replica);
        }
        true
    }

    /// Applies another node's entry: an update merges and goes on to this
    /// node's sessions (and to storage); a version lacking what this
    /// replica holds is answered with an update, and one holding what it
    /// lacks with this replica's version (its node then answers).
    fn from_bus(self: &Arc<Self>, room: &str, slot: &Weak<Slot>, entry: BusEntry) {
        let (Some(relay), Some(slot)) = (&self.relay, slot.upgrade()) else {
            return;
        };
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        let mut guard = lock(mutex);
        if guard.unloaded {
            return;
        }
        match entry.kind {
            EntryKind::Update => {
                let before = guard.doc.version();
                if let Err(e) = guard.doc.apply_update_unwatched(&entry.data) {
                    log!(
                        Warn,
                        "room {room:?}: node {:x} sent an update that does not merge: {e}",
                        entry.node
                    );
                    return;
                }
                let after = guard.doc.version();
                if after == before {
                    return;
                }
                let Replica { doc, sessions, .. } = &mut *guard;
                let mut shared = SharedOutgoing::at(after);
                for attached in sessions.values_mut() {
                    let frames = attached.session.outgoing_shared(doc, &mut shared);
                    attached.send(&frames);
                }
                self.start_saving(room, &slot, &mut guard);
            }
            EntryKind::Version => {
                let Ok(theirs) = Version::decode(&entry.data) else {
                    log!(
                        Warn,
                        "room {room:?}: node {:x} sent a version that does not decode",
                        entry.node
                    );
                    return;
                };
                let ours = guard.doc.version();
                if !theirs.includes(&ours) {
                    match guard.doc.encode_update(&theirs) {
                        Ok(update) => relay.send(room, EntryKind::Update, update),
                        Err(e) => log!(Warn, "room {room:?}: could not encode an answer: {e}"),
                    }
                }
                if !ours.includes(&theirs)
                    && guard
                        .announced
                        .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
                {
                    guard.announced = Some(Instant::now());
                    relay.announce(room, &guard);
                }
            }
            // Encrypted rooms and signaling have streams of their own.
            _ => {}
        }
    }
}
