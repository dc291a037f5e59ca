//! A subscription to one room: what the bus reads from the room's stream
//! for it, until it is dropped.

use super::entry::BusEntry;
use super::rooms::Rooms;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// An entry another node published, in the stream's order.
    Entry(BusEntry),
    /// Entries were dropped because this subscription did not keep up:
    /// what follows is not all there was. Resync (exchange versions).
    Lagged,
    /// The bus lost Redis and reads again from where it was; entries may
    /// have been lost meanwhile (a Redis restarted without persistence
    /// forgets its streams). Resync (exchange versions).
    Reconnected,
}

/// What a subscription shares with the reader besides its channel.
pub(super) struct Slot {
    /// Bytes of entries in the channel.
    pub queued_bytes: AtomicUsize,
    /// Most bytes the channel may hold (one entry fits whatever its size).
    pub max_bytes: usize,
    /// Entries were dropped since the subscriber last heard so.
    pub lagged: AtomicBool,
}

impl Slot {
    pub fn new(max_bytes: usize) -> Slot {
        Slot {
            queued_bytes: AtomicUsize::new(0),
            max_bytes,
            lagged: AtomicBool::new(false),
        }
    }
}

/// Entries of one room from other nodes, published after
/// [`Bus::subscribe`](super::Bus::subscribe) returned it. Dropping it
/// unsubscribes.
pub struct Subscription {
    room: String,
    id: u64,
    receiver: mpsc::Receiver<BusEvent>,
    slot: Arc<Slot>,
    rooms: Arc<Rooms>,
}

impl Subscription {
    pub(super) fn new(
        room: &str,
        id: u64,
        receiver: mpsc::Receiver<BusEvent>,
        slot: Arc<Slot>,
        rooms: Arc<Rooms>,
    ) -> Subscription {
        Subscription {
            room: room.to_owned(),
            id,
            receiver,
            slot,
            rooms,
        }
    }

    /// The room subscribed to.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The next event; `None` once the bus is closed or dropped.
    ///
    /// [`BusEvent::Lagged`] comes as soon as entries were dropped, before
    /// entries that were queued earlier. Cancel-safe (for `select!`).
    pub async fn recv(&mut self) -> Option<BusEvent> {
        if self.slot.lagged.swap(false, Ordering::AcqRel) {
            return Some(BusEvent::Lagged);
        }
        let event = self.receiver.recv().await;
        self.received(event)
    }

    /// The next event if one is waiting, without waiting (`None` also
    /// once the bus is closed).
    pub fn try_recv(&mut self) -> Option<BusEvent> {
        if self.slot.lagged.swap(false, Ordering::AcqRel) {
            return Some(BusEvent::Lagged);
        }
        let event = self.receiver.try_recv().ok();
        self.received(event)
    }

    /// Counts an entry's bytes out of the queue.
    fn received(&self, event: Option<BusEvent>) -> Option<BusEvent> {
        if let Some(BusEvent::Entry(entry)) = &event {
            let len = entry.data.len();
            self.slot.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        }
        event
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.rooms.remove(&self.room, self.id);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("room", &self.room)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
