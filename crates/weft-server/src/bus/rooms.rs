//! The rooms a node subscribed to: where the reader resumes each stream,
//! and handing entries to each subscription without ever waiting for it.

use super::entry::{BusEntry, StreamId};
use super::stats::Counters;
use super::subscription::{BusEvent, Slot};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// The subscribed rooms, shared by the bus, its reader and the
/// subscriptions (which leave when dropped).
#[derive(Default)]
pub(super) struct Rooms {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<String, Room>,
    next_id: u64,
    /// Set by `close`: nobody subscribes any more.
    closed: bool,
}

struct Room {
    /// The last entry the reader read from the room's stream.
    cursor: StreamId,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    id: u64,
    /// Entries up to this one are not for it: read before it subscribed,
    /// or handed to it already.
    after: StreamId,
    sender: mpsc::Sender<BusEvent>,
    slot: Arc<Slot>,
}

/// A subscriber added by [`Rooms::add`].
pub(super) struct Added {
    pub id: u64,
    pub receiver: mpsc::Receiver<BusEvent>,
    pub slot: Arc<Slot>,
    /// The reader must start its read over to include the room (it is
    /// new, or must be read from further back).
    pub wake: bool,
}

/// How much a subscriber may have waiting.
#[derive(Debug, Clone, Copy)]
pub(super) struct Queue {
    pub entries: usize,
    pub bytes: usize,
}

impl Rooms {
    /// Subscribes to `room` from after `start`; `None` once closed.
    pub fn add(&self, room: &str, start: StreamId, queue: Queue) -> Option<Added> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        // mpsc::channel panics on 0.
        let (sender, receiver) = mpsc::channel(queue.entries.max(1));
        let slot = Arc::new(Slot::new(queue.bytes));
        let subscriber = Subscriber {
            id,
            after: start,
            sender,
            slot: slot.clone(),
        };
        let wake = match inner.rooms.get_mut(room) {
            Some(existing) => {
                existing.subscribers.push(subscriber);
                // Only when Redis lost the stream and numbered it anew can
                // a later subscriber start before the reader's cursor: read
                // again from there (the others skip what they had).
                let behind = start < existing.cursor;
                existing.cursor = existing.cursor.min(start);
                behind
            }
            None => {
                let room_state = Room {
                    cursor: start,
                    subscribers: vec![subscriber],
                };
                inner.rooms.insert(room.to_owned(), room_state);
                true
            }
        };
        Some(Added {
            id,
            receiver,
            slot,
            wake,
        })
    }

    /// Removes subscriber `id` of `room`, and the room with its last one.
    pub fn remove(&self, room: &str, id: u64) {
        let mut inner = self.lock();
        if let Some(state) = inner.rooms.get_mut(room) {
            state.subscribers.retain(|s| s.id != id);
            if state.subscribers.is_empty() {
                inner.rooms.remove(room);
            }
        }
    }

    /// The rooms to read and where to resume each.
    pub fn cursors(&self) -> Vec<(String, StreamId)> {
        let inner = self.lock();
        inner
            .rooms
            .iter()
            .map(|(room, state)| (room.clone(), state.cursor))
            .collect()
    }

    /// How many rooms are subscribed.
    pub fn len(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Hands the entries read from `room`'s stream, in order, to its
    /// subscribers; `None` for an entry read but not for them (their own,
    /// malformed or too large), which only moves the cursor on.
    ///
    /// A subscriber whose queue is full loses the entry and is told it
    /// lagged; one whose receiver is gone leaves.
    pub fn deliver(
        &self,
        room: &str,
        entries: Vec<(StreamId, Option<BusEntry>)>,
        counters: &Counters,
    ) {
        let mut inner = self.lock();
        let Some(state) = inner.rooms.get_mut(room) else {
            return; // Unsubscribed while the read was under way.
        };
        for (id, entry) in entries {
            state.cursor = state.cursor.max(id);
            for subscriber in &mut state.subscribers {
                if id <= subscriber.after {
                    continue;
                }
                subscriber.after = id;
                if let Some(entry) = &entry {
                    subscriber.offer(entry, counters);
                }
            }
            state.subscribers.retain(|s| !s.sender.is_closed());
        }
        if state.subscribers.is_empty() {
            inner.rooms.remove(room);
        }
    }

    /// Tells every subscriber the reader lost Redis and reads again.
    pub fn reconnected(&self) {
        let inner = self.lock();
        for subscriber in inner.rooms.values().flat_map(|r| &r.subscribers) {
            if subscriber.sender.try_send(BusEvent::Reconnected).is_err() {
                // Full: lagging says as much.
                subscriber.slot.lagged.store(true, Ordering::Release);
            }
        }
    }

    /// Ends every subscription (their `recv` returns `None`) and refuses
    /// new ones.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.rooms.clear();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding it; a poisoned lock still holds
        // consistent rooms.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Subscriber {
    /// Queues a copy of `entry` if there is room in entries and bytes;
    /// else drops it and marks the subscriber lagged.
    fn offer(&self, entry: &BusEntry, counters: &Counters) {
        let len = entry.data.len();
        let queued = self.slot.queued_bytes.fetch_add(len, Ordering::AcqRel);
        // One entry always fits an empty queue, whatever its size.
        if queued == 0 || queued.saturating_add(len) <= self.slot.max_bytes {
            match self.sender.try_send(BusEvent::Entry(entry.clone())) {
                Ok(()) => {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    // Gone: `deliver` removes it.
                    self.slot.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                    return;
                }
                Err(mpsc::error::TrySendError::Full(_)) => {}
            }
        }
        self.slot.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        self.slot.lagged.store(true, Ordering::Release);
        counters.lagged.fetch_add(1, Ordering::Relaxed);
    }
}
