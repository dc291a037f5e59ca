//! The server's own replica of each room it syncs: the core `Doc`, and a
//! sync `Session` per connection that asked for it. Whatever one
//! connection's frame merges goes out to the others, as between browsers:
//! the server is one more peer of the room.
//!
//! Each room is written back by one task at a time, and acknowledged
//! (`Durable`) only from a journal loaded in the storage's current
//! generation: after a failed commit the storage is reopened and every
//! loaded room reloaded from disk, memory merged in, before anything more
//! of it is acknowledged (`replica/writer.rs`). A room nobody syncs has one
//! idle timer, pushed back by each detach, that unloads it
//! (`replica/idle.rs`). Each connection's sessions buffer what arrives
//! within its share of one budget.

use crate::admission::ConnectionId;
use crate::limits::Limits;
use crate::log;
use crate::memory;
use crate::metrics::Commits;
use crate::outbox::Outbox;
use crate::storage::{Storage, StorageError};
use crate::storage_health::{Report, StorageHealth};
use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use weft::journal::{CompactionPolicy, Journal};
use weft::sync::{Budget, Session, SharedOutgoing, SyncError};
use weft::{Doc, Version};

mod durable;
mod encode;
mod idle;
mod relay;
mod writer;

pub use relay::Relay;

/// Answers at least this large (a new client sent the whole document)
/// leave memory to give back.
const BIG_ANSWER: usize = 64 * 1024;

/// One connection's session with a room's replica.
struct Attached {
    session: Session,
    outbox: Outbox,
    /// The channel number its frames carry on that connection.
    channel: u32,
    /// The room's version after this connection's last change, until a
    /// report that it is stored went out (`replica/durable.rs`).
    merged: Option<Version>,
    /// What is stored grew beyond its last report, and it changed nothing
    /// since: a report is due with the room's next late reports.
    late: bool,
}

impl Attached {
    /// Queues `frames` on the connection, behind the session's channel.
    fn send(&self, frames: &[Vec<u8>]) {
        let channel = self.channel;
        self.outbox
            .push_frames(frames.iter().map(|f| on_channel(channel, f)));
    }
}

/// A room's replica, what of it is stored, and the sessions syncing with it.
struct Replica {
    doc: Doc,
    journal: Journal,
    /// The storage generation `journal` was loaded in. Behind the
    /// storage's, what the journal says is stored may not be: the room is
    /// loaded again, memory merged in, before anything of it is written or
    /// acknowledged.
    generation: u64,
    sessions: HashMap<ConnectionId, Attached>,
    /// A task is writing what is unsaved (it loops until nothing is).
    saving: bool,
    /// Taken out of the map: a connection that found it just before must
    /// load the room anew.
    unloaded: bool,
    /// When the room, synced by nobody, is to be unloaded (`None` while
    /// someone syncs it).
    idle_until: Option<Instant>,
    /// Its idle timer runs: one per room, however often sessions come and
    /// go.
    timer: bool,
    /// Its late reports of what is stored are scheduled.
    reporting: bool,
    /// It is relayed with other nodes (`replica/relay.rs`), since it
    /// loaded.
    relayed: bool,
    /// When it last announced its version because another node's held
    /// what it lacks.
    announced: Option<Instant>,
}

/// A room's place in the map: loaded once, however many join at once.
#[derive(Default)]
struct Slot {
    replica: OnceCell<Mutex<Replica>>,
}

/// One connection's share of the sync budget, while it has sessions.
struct Share {
    budget: Budget,
    sessions: usize,
}

/// Every room's replica, loaded from storage when a connection first syncs
/// the room, written back as it changes, and unloaded once nobody has
/// synced it for the idle time.
pub struct Replicas {
    rooms: Mutex<HashMap<String, Arc<Slot>>>,
    /// What all sessions may buffer between them while messages arrive...
    budget: Budget,
    /// ...and each connection's share of it, so that one connection cannot
    /// take it all.
    shares: Mutex<HashMap<ConnectionId, Share>>,
    share_bytes: usize,
    /// Where rooms live; `None`: in memory only, while the server runs.
    storage: Option<Storage>,
    /// Whether the storage is usable, and its failures since start.
    health: StorageHealth,
    policy: CompactionPolicy,
    /// How long a room nobody syncs stays loaded.
    idle: Duration,
    /// Commit latency and failures, for `/metrics`.
    commits: Commits,
    /// Rooms loaded again after a reopen, and rooms unloaded.
    reloads: AtomicU64,
    unloads: AtomicU64,
    /// Rooms loaded at once.
    max_loaded: usize,
    /// The other nodes sharing the database, if any.
    relay: Option<Relay>,
}

/// Why a room could not be synced.
#[derive(Debug)]
pub enum AttachError {
    /// Loading it failed.
    Load(StorageError),
    /// As many rooms as allowed are loaded, and none is idle.
    Full {
        /// The most rooms loaded at once.
        max: usize,
    },
}

impl std::fmt::Display for AttachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachError::Load(e) => write!(f, "the room could not be loaded: {e}"),
            AttachError::Full { max } => {
                write!(f, "the server holds {max} rooms loaded, none idle")
            }
        }
    }
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
    /// No rooms loaded yet; rooms are kept in `storage` (if any) and
    /// unloaded after `idle` without a session; `limits` caps the rooms
    /// loaded and what sessions buffer; `relay` reaches the other nodes
    /// sharing the storage, if any.
    pub fn new(
        storage: Option<Storage>,
        limits: &Limits,
        idle: Duration,
        relay: Option<Relay>,
    ) -> Arc<Replicas> {
        Arc::new(Replicas {
            rooms: Mutex::default(),
            budget: Budget::new(limits.max_sync_receive_bytes),
            shares: Mutex::default(),
            share_bytes: limits.sync_receive_bytes,
            storage,
            health: StorageHealth::default(),
            policy: CompactionPolicy::default(),
            idle,
            commits: Commits::default(),
            reloads: AtomicU64::new(0),
            unloads: AtomicU64::new(0),
            max_loaded: limits.max_loaded_rooms,
            relay,
        })
    }

    /// Rooms loaded.
    pub fn room_count(&self) -> usize {
        lock(&self.rooms).len()
    }

    /// Commit latency and failures.
    pub fn commits(&self) -> &Commits {
        &self.commits
    }

    /// The storage's state (`None`: rooms are not stored).
    pub fn storage_report(&self) -> Option<Report> {
        self.storage.as_ref().map(|_| self.health.report())
    }

    /// Rooms loaded again after the storage was reopened, and rooms
    /// unloaded, since start.
    pub fn reloads_and_unloads(&self) -> (u64, u64) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (load(&self.reloads), load(&self.unloads))
    }

    /// Storage transactions committed since start (`None`: rooms are not
    /// stored).
    pub fn transactions(&self) -> Option<u64> {
        self.storage.as_ref().map(Storage::commits)
    }

    /// Group transactions lost to another server's and tried again.
    pub fn conflicts(&self) -> Option<u64> {
        self.storage.as_ref().map(Storage::conflicts)
    }

    /// Why the database does not answer now, if it does not (`None`: it
    /// does, or rooms are not stored).
    pub async fn storage_unreachable(&self) -> Option<String> {
        let probe = self
            .storage
            .as_ref()?
            .probe(crate::storage_health::PROBE_TIMEOUT);
        probe.await.err().map(|e| e.to_string())
    }

    /// Bytes stored for every room (`None`: rooms are not stored, or the
    /// database cannot say now).
    pub async fn stored_bytes(&self) -> Option<u64> {
        self.storage.as_ref()?.stored_bytes().await.ok()
    }

    fn slot(&self, room: &str) -> Arc<Slot> {
        lock(&self.rooms)
            .entry(room.to_owned())
            .or_default()
            .clone()
    }

    /// The loaded replica of `room`, if it is loaded.
    fn loaded(&self, room: &str) -> Option<Arc<Slot>> {
        let slot = lock(&self.rooms).get(room).cloned()?;
        slot.replica.initialized().then_some(slot)
    }

    /// What `room` holds: loaded from storage, or empty.
    async fn load(self: &Arc<Self>, room: &str) -> Result<Mutex<Replica>, StorageError> {
        let replica = random_replica();
        let (doc, journal, generation) = match &self.storage {
            Some(storage) => {
                let loaded = match storage.load(room, replica, self.policy).await {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        self.failed(&e);
                        return Err(e);
                    }
                };
                for problem in &loaded.problems {
                    log!(Warn, "room {room:?}: skipped a damaged entry: {problem:?}");
                }
                (loaded.doc, loaded.journal, loaded.generation)
            }
            None => (Doc::new(replica), Journal::empty(self.policy), 0),
        };
        memory::release_soon(self.storage.as_ref());
        Ok(Mutex::new(Replica {
            doc,
            journal,
            generation,
            sessions: HashMap::new(),
            saving: false,
            unloaded: false,
            idle_until: None,
            timer: false,
            reporting: false,
            relayed: false,
            announced: None,
        }))
    }

    /// Whether the room's journal can be trusted: loaded in the storage's
    /// generation, and the storage usable.
    fn current(&self, replica: &Replica) -> bool {
        self.storage
            .as_ref()
            .is_some_and(|s| s.generation().is_ok_and(|g| g == replica.generation))
    }

    /// Whether everything the room holds is stored, as far as can be told.
    fn stored(&self, replica: &Replica) -> bool {
        self.current(replica) && replica.journal.saved().includes(&replica.doc.version())
    }

    /// Starts syncing `room` with `connection`, whose frames for it carry
    /// `channel`: loads the room if needed, then the replica says Hello on
    /// it, and what of it is stored. Unless `writes`, the connection may
    /// only read: changes it sends are refused ([`SyncError::ReadOnly`]).
    ///
    /// # Errors
    /// The room could not be loaded.
    pub async fn attach(
        self: &Arc<Self>,
        room: &str,
        connection: ConnectionId,
        channel: u32,
        outbox: Outbox,
        writes: bool,
    ) -> Result<(), AttachError> {
        loop {
            self.make_room_for(room).await?;
            let slot = self.slot(room);
            let mutex = match slot.replica.get_or_try_init(|| self.load(room)).await {
                Ok(mutex) => mutex,
                Err(e) => {
                    // Not left behind: the next join tries again.
                    let mut rooms = lock(&self.rooms);
                    if rooms.get(room).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                        rooms.remove(room);
                    }
                    return Err(AttachError::Load(e));
                }
            };
            let mut replica = lock(mutex);
            if replica.unloaded {
                continue; // unloaded since it was found: load it anew
            }
            if !replica.relayed {
                replica.relayed = true;
                self.start_relaying(room, &slot);
            }
            let mut session = Session::new().with_budget(&self.share(connection));
            if !writes {
                session = session.peer_reads_only();
            }
            let mut frames = session.start(&replica.doc);
            if self.current(&replica) {
                frames.extend(session.durable(replica.journal.saved()));
            } else {
                // Loaded before a reopen: reloaded (and acknowledged) by
                // its writer.
                self.refresh_if_stale(room, &slot, &mut replica);
            }
            let attached = Attached {
                session,
                outbox,
                channel,
                merged: None,
                late: false,
            };
            attached.send(&frames);
            replica.sessions.insert(connection, attached);
            replica.idle_until = None;
            return Ok(());
        }
    }

    /// `connection`'s share of the sync budget, for one more session.
    fn share(&self, connection: ConnectionId) -> Budget {
        let mut shares = lock(&self.shares);
        let share = shares.entry(connection).or_insert_with(|| Share {
            budget: Budget::within(&self.budget, self.share_bytes),
            sessions: 0,
        });
        share.sessions += 1;
        share.budget.clone()
    }

    /// One session of `connection` fewer.
    fn unshare(&self, connection: ConnectionId) {
        if let Entry::Occupied(mut share) = lock(&self.shares).entry(connection) {
            share.get_mut().sessions -= 1;
            if share.get().sessions == 0 {
                share.remove();
            }
        }
    }

    /// Stops syncing `room` with `connection`. A room nobody syncs is
    /// unloaded after the idle time (counted from the last detach), once
    /// everything is stored.
    pub fn detach(self: &Arc<Self>, room: &str, connection: ConnectionId) {
        let Some(slot) = self.loaded(room) else {
            return;
        };
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        let mut replica = lock(mutex);
        if replica.sessions.remove(&connection).is_none() {
            return;
        }
        self.unshare(connection);
        // In memory only, the replica is the room: it stays.
        if !replica.sessions.is_empty() || self.storage.is_none() {
            return;
        }
        replica.idle_until = Some(Instant::now() + self.idle);
        if !replica.timer {
            replica.timer = true;
            let (replicas, room, slot) = (self.clone(), room.to_owned(), slot.clone());
            tokio::spawn(async move { replicas.idle_timer(&room, &slot).await });
        }
    }

    /// Handles a frame from `connection` for `room`: its answer goes back,
    /// what it merged goes to every other session, and to storage.
    ///
    /// # Errors
    /// The session's refusal: the connection should be closed (the
    /// replica is unchanged).
    pub fn receive(
        self: &Arc<Self>,
        room: &str,
        connection: ConnectionId,
        frame: &[u8],
    ) -> Result<(), SyncError> {
        let Some(slot) = self.loaded(room) else {
            return Ok(());
        };
        let Some(mutex) = slot.replica.get() else {
            return Ok(());
        };
        let mut guard = lock(mutex);
        let Replica { doc, sessions, .. } = &mut *guard;
        let Some(attached) = sessions.get_mut(&connection) else {
            return Ok(());
        };
        let before = doc.version();
        let received = attached.session.receive_unwatched(doc, frame)?;
        attached.send(&received.frames);
        if received.frames.iter().map(Vec::len).sum::<usize>() >= BIG_ANSWER {
            memory::release_soon(self.storage.as_ref());
        }
        let after = doc.version();
        if after == before {
            return Ok(());
        }
        attached.merged = Some(after.clone());
        // Peers in sync share one encoded update.
        let mut shared = SharedOutgoing::at(after);
        for (&other, attached) in sessions.iter_mut() {
            if other == connection {
                continue;
            }
            let frames = attached.session.outgoing_shared(doc, &mut shared);
            attached.send(&frames);
        }
        if let Some(relay) = &self.relay {
            relay.merged(room, doc, &mut shared, &before);
        }
        self.start_saving(room, &slot, &mut guard);
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
