//! The server's own replica of each room it syncs: the core `Doc`, and a
//! sync `Session` per connection that asked for it. Whatever one
//! connection's frame merges goes out to the others, as between browsers:
//! the server is one more peer of the room.

use crate::admission::ConnectionId;
use crate::outbox::Outbox;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use weft::sync::{Budget, Session, SyncError};
use weft::Doc;

/// One connection's session with a room's replica.
struct Attached {
    session: Session,
    outbox: Outbox,
    /// The channel number its frames carry on that connection.
    channel: u32,
}

/// A room's replica and the sessions syncing with it.
struct Replica {
    doc: Doc,
    sessions: HashMap<ConnectionId, Attached>,
}

/// Every room's replica, created when a connection first syncs the room.
pub struct Replicas {
    rooms: Mutex<HashMap<String, Arc<Mutex<Replica>>>>,
    /// What all sessions may buffer between them while messages arrive.
    budget: Budget,
}

/// A frame prefixed with its channel: one binary WebSocket message.
pub fn on_channel(channel: u32, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len() + 5);
    let mut v = channel;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(frame);
    out
}

/// The channel and the frame of one binary WebSocket message, or `None`
/// when it does not start with a channel number (at most 5 bytes).
pub fn split_channel(message: &[u8]) -> Option<(u32, &[u8])> {
    let mut channel: u64 = 0;
    for (i, &byte) in message.iter().enumerate().take(5) {
        channel |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((u32::try_from(channel).ok()?, &message[i + 1..]));
        }
    }
    None
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change leaves the maps and documents consistent between calls
    // (a merge either applies whole or not at all), so a panic elsewhere
    // while holding the lock does not matter.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A random replica id for the server's documents: the server never edits,
/// but every document needs one.
fn random_replica() -> u64 {
    RandomState::new().build_hasher().finish()
}

impl Replicas {
    /// No rooms yet; sessions buffer against `budget`.
    pub fn new(budget: Budget) -> Replicas {
        Replicas {
            rooms: Mutex::default(),
            budget,
        }
    }

    /// Rooms with a replica.
    pub fn room_count(&self) -> usize {
        lock(&self.rooms).len()
    }

    fn replica(&self, room: &str) -> Option<Arc<Mutex<Replica>>> {
        lock(&self.rooms).get(room).cloned()
    }

    /// Starts syncing `room` with `connection`, whose frames for it carry
    /// `channel`: the replica says Hello on it.
    pub fn attach(&self, room: &str, connection: ConnectionId, channel: u32, outbox: Outbox) {
        let replica = lock(&self.rooms)
            .entry(room.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Replica {
                    doc: Doc::new(random_replica()),
                    sessions: HashMap::new(),
                }))
            })
            .clone();
        let mut replica = lock(&replica);
        let mut session = Session::new().with_budget(&self.budget);
        let hello = session.start(&replica.doc);
        outbox.push_frames(hello.iter().map(|f| on_channel(channel, f)));
        replica.sessions.insert(
            connection,
            Attached {
                session,
                outbox,
                channel,
            },
        );
    }

    /// Stops syncing `room` with `connection`. The replica stays (it is
    /// the room's document while the server runs).
    pub fn detach(&self, room: &str, connection: ConnectionId) {
        if let Some(replica) = self.replica(room) {
            lock(&replica).sessions.remove(&connection);
        }
    }

    /// Handles a frame from `connection` for `room`: its answer goes back,
    /// and what it merged goes to every other session.
    ///
    /// # Errors
    /// The session's refusal: the connection should be closed (the
    /// replica is unchanged).
    pub fn receive(
        &self,
        room: &str,
        connection: ConnectionId,
        frame: &[u8],
    ) -> Result<(), SyncError> {
        let Some(replica) = self.replica(room) else {
            return Ok(());
        };
        let mut guard = lock(&replica);
        let Replica { doc, sessions } = &mut *guard;
        let Some(attached) = sessions.get_mut(&connection) else {
            return Ok(());
        };
        let before = doc.version();
        let received = attached.session.receive_unwatched(doc, frame)?;
        let channel = attached.channel;
        attached
            .outbox
            .push_frames(received.frames.iter().map(|f| on_channel(channel, f)));
        if doc.version() != before {
            for (&other, attached) in sessions.iter_mut() {
                if other == connection {
                    continue;
                }
                let frames = attached.session.outgoing(doc);
                let channel = attached.channel;
                attached
                    .outbox
                    .push_frames(frames.iter().map(|f| on_channel(channel, f)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_and_refuse_garbage() {
        for channel in [0, 1, 127, 128, 300, u32::MAX] {
            let message = on_channel(channel, b"frame");
            assert_eq!(split_channel(&message), Some((channel, &b"frame"[..])));
        }
        assert_eq!(split_channel(&[]), None);
        assert_eq!(split_channel(&[0x80; 6]), None);
        // Five bytes that do not fit 32 bits.
        assert_eq!(split_channel(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
    }
}
