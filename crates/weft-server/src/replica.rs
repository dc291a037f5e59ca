//! The server's own replica of each room it syncs: the core `Doc`, and a
//! sync `Session` per connection that asked for it. Whatever one
//! connection's frame merges goes out to the others, as between browsers:
//! the server is one more peer of the room.

use crate::admission::ConnectionId;
use crate::log;
use crate::metrics::Commits;
use crate::outbox::Outbox;
use crate::storage::{Storage, StorageError};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::OnceCell;
use weft::journal::{CompactionPolicy, Journal};
use weft::sync::{Budget, Session, SyncError};
use weft::Doc;

/// One connection's session with a room's replica.
struct Attached {
    session: Session,
    outbox: Outbox,
    /// The channel number its frames carry on that connection.
    channel: u32,
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
    sessions: HashMap<ConnectionId, Attached>,
    /// A task is writing what is unsaved (it loops until nothing is).
    saving: bool,
    /// Taken out of the map: a connection that found it just before must
    /// load the room anew.
    unloaded: bool,
}

/// A room's place in the map: loaded once, however many join at once.
#[derive(Default)]
struct Slot {
    replica: OnceCell<Mutex<Replica>>,
}

/// Every room's replica, loaded from storage when a connection first syncs
/// the room, written back as it changes, and unloaded once nobody has
/// synced it for the idle time.
pub struct Replicas {
    rooms: Mutex<HashMap<String, Arc<Slot>>>,
    /// What all sessions may buffer between them while messages arrive.
    budget: Budget,
    /// Where rooms live; `None`: in memory only, while the server runs.
    storage: Option<Storage>,
    policy: CompactionPolicy,
    /// How long a room nobody syncs stays loaded.
    idle: Duration,
    /// Commit latency and failures, for `/metrics`.
    commits: Commits,
    /// Rooms loaded at once.
    max_loaded: usize,
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

/// Tells every session of the room what is stored now (after a commit).
fn acknowledge(replica: &mut Replica) {
    let saved = replica.journal.saved().clone();
    for attached in replica.sessions.values_mut() {
        let frames = attached.session.durable(&saved);
        attached.send(&frames);
    }
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
    /// No rooms loaded yet; sessions buffer against `budget`; rooms are
    /// kept in `storage` (if any) and unloaded after `idle` without a
    /// session.
    pub fn new(
        budget: Budget,
        storage: Option<Storage>,
        idle: Duration,
        max_loaded: usize,
    ) -> Arc<Replicas> {
        Arc::new(Replicas {
            rooms: Mutex::default(),
            budget,
            storage,
            policy: CompactionPolicy::default(),
            idle,
            commits: Commits::default(),
            max_loaded,
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
    async fn load(&self, room: &str) -> Result<Mutex<Replica>, StorageError> {
        let replica = random_replica();
        let (doc, journal) = match &self.storage {
            Some(storage) => {
                let loaded = storage.load(room, replica, self.policy).await?;
                for problem in &loaded.problems {
                    log!(Warn, "room {room:?}: skipped a damaged entry: {problem:?}");
                }
                (loaded.doc, loaded.journal)
            }
            None => (Doc::new(replica), Journal::empty(self.policy)),
        };
        Ok(Mutex::new(Replica {
            doc,
            journal,
            sessions: HashMap::new(),
            saving: false,
            unloaded: false,
        }))
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
            let mut session = Session::new().with_budget(&self.budget);
            if !writes {
                session = session.peer_reads_only();
            }
            let mut frames = session.start(&replica.doc);
            if self.storage.is_some() {
                frames.extend(session.durable(replica.journal.saved()));
            }
            let attached = Attached {
                session,
                outbox,
                channel,
            };
            attached.send(&frames);
            replica.sessions.insert(connection, attached);
            return Ok(());
        }
    }

    /// Unloads idle rooms until `room` fits under the cap (if it is not
    /// loaded already).
    async fn make_room_for(&self, room: &str) -> Result<(), AttachError> {
        let idle: Vec<(String, Arc<Slot>)> = {
            let rooms = lock(&self.rooms);
            if rooms.contains_key(room) || rooms.len() < self.max_loaded {
                return Ok(());
            }
            rooms
                .iter()
                .filter(|(_, slot)| {
                    slot.replica
                        .get()
                        .is_some_and(|r| lock(r).sessions.is_empty())
                })
                .map(|(name, slot)| (name.clone(), slot.clone()))
                .collect()
        };
        for (name, slot) in idle {
            self.unload_if_idle(&name, &slot).await;
            if self.room_count() < self.max_loaded {
                return Ok(());
            }
        }
        Err(AttachError::Full {
            max: self.max_loaded,
        })
    }

    /// Stops syncing `room` with `connection`. A room nobody syncs is
    /// unloaded after the idle time, once everything is stored.
    pub fn detach(self: &Arc<Self>, room: &str, connection: ConnectionId) {
        let Some(slot) = self.loaded(room) else {
            return;
        };
        let Some(replica) = slot.replica.get() else {
            return;
        };
        let mut replica = lock(replica);
        replica.sessions.remove(&connection);
        if replica.sessions.is_empty() {
            let replicas = self.clone();
            let room = room.to_owned();
            let slot = slot.clone();
            tokio::spawn(async move {
                tokio::time::sleep(replicas.idle).await;
                replicas.unload_if_idle(&room, &slot).await;
            });
        }
    }

    /// Folds the room's records into a checkpoint (the next load reads one
    /// snapshot) and unloads it, unless someone synced it meanwhile or it
    /// holds what is not stored yet.
    async fn unload_if_idle(&self, room: &str, slot: &Arc<Slot>) {
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        let compaction = {
            let mut replica = lock(mutex);
            if !replica.sessions.is_empty() || replica.saving {
                return;
            }
            let stored =
                self.storage.is_none() || replica.journal.saved().includes(&replica.doc.version());
            if self.storage.is_none() || !stored {
                // In memory only, the replica is the room: it stays.
                return;
            }
            let Replica { doc, journal, .. } = &mut *replica;
            match journal.has_records().then(|| journal.compaction(doc)) {
                Some(Ok(c)) => Some(c),
                _ => None,
            }
        };
        if let (Some(storage), Some(compaction)) = (&self.storage, compaction) {
            match storage.compact(room, &compaction).await {
                Ok((key, bytes)) => lock(mutex).journal.compacted(&compaction, key, bytes),
                Err(e) => {
                    // The room stays loaded: memory may be all there is.
                    log!(
                        Warn,
                        "room {room:?}: compacting before unloading failed: {e}"
                    );
                    if matches!(e, StorageError::Unknown { .. }) {
                        let _ = self.recover(room, storage, mutex, &e).await;
                    }
                    return;
                }
            }
        }
        let mut rooms = lock(&self.rooms);
        let mut replica = lock(mutex);
        // Someone may have synced, edited and left meanwhile.
        let stored = replica.journal.saved().includes(&replica.doc.version());
        let idle = replica.sessions.is_empty() && !replica.saving && stored;
        if idle && rooms.get(room).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            replica.unloaded = true;
            rooms.remove(room);
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
        if doc.version() == before {
            return Ok(());
        }
        for (&other, attached) in sessions.iter_mut() {
            if other == connection {
                continue;
            }
            let frames = attached.session.outgoing(doc);
            attached.send(&frames);
        }
        if self.storage.is_some() && !guard.saving {
            guard.saving = true;
            let replicas = self.clone();
            let room = room.to_owned();
            let slot = slot.clone();
            tokio::spawn(async move { replicas.save(&room, &slot).await });
        }
        Ok(())
    }

    /// Writes what the room holds and storage lacks, until nothing is
    /// left; after each commit every session hears what is stored. A
    /// failure is never acknowledged (see `StorageError`): after one that
    /// leaves the file's state unknown the database is reopened and the
    /// room reloaded from it, with everything in memory merged in, so the
    /// next round writes what did not reach the disk.
    async fn save(&self, room: &str, slot: &Slot) {
        let Some(storage) = &self.storage else {
            return;
        };
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        // A recovery may find the failed write on disk after all: then
        // nothing is left to write, and the sessions hear it from here.
        let mut recovered = false;
        loop {
            let unsaved = {
                let mut replica = lock(mutex);
                let Replica { doc, journal, .. } = &mut *replica;
                match journal.unsaved(doc) {
                    Ok(Some(unsaved)) => unsaved,
                    Ok(None) => {
                        if recovered {
                            acknowledge(&mut replica);
                        }
                        replica.saving = false;
                        return;
                    }
                    Err(e) => {
                        log!(Warn, "room {room:?}: cannot encode what to store: {e}");
                        replica.saving = false;
                        return;
                    }
                }
            };
            let started = std::time::Instant::now();
            let appended = storage.append(room, &unsaved).await;
            match &appended {
                Ok(_) => self.commits.committed(started.elapsed()),
                Err(_) => self.commits.failed(),
            }
            match appended {
                Ok((key, bytes)) => {
                    let mut replica = lock(mutex);
                    replica.journal.appended(key, bytes, unsaved);
                    acknowledge(&mut replica);
                }
                Err(e) => {
                    log!(Warn, "room {room:?}: storing failed, not acknowledged: {e}");
                    if let Err(e) = self.recover(room, storage, mutex, &e).await {
                        log!(Warn, "room {room:?}: still cannot store: {e}");
                        lock(mutex).saving = false;
                        return;
                    }
                    recovered = true;
                    continue;
                }
            }
            self.compact_if_due(room, storage, mutex).await;
        }
    }

    /// After a failed write: when the file's state is unknown, reopens the
    /// database and reloads the room from it, merging in what memory
    /// holds; otherwise waits a moment before the next try.
    async fn recover(
        &self,
        room: &str,
        storage: &Storage,
        mutex: &Mutex<Replica>,
        error: &StorageError,
    ) -> Result<(), StorageError> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !matches!(error, StorageError::Unknown { .. }) {
            return Ok(());
        }
        storage.reopen().await?;
        let mut loaded = storage.load(room, random_replica(), self.policy).await?;
        let mut replica = lock(mutex);
        let mut memory = std::mem::replace(&mut replica.doc, Doc::new(0));
        if let Err(e) = loaded.doc.merge(&mut memory, weft::IndexUnit::CodePoint) {
            replica.doc = memory;
            log!(
                Warn,
                "room {room:?}: could not merge memory into what is stored: {e}"
            );
            return Ok(());
        }
        replica.doc = loaded.doc;
        replica.journal = loaded.journal;
        Ok(())
    }

    async fn compact_if_due(&self, room: &str, storage: &Storage, mutex: &Mutex<Replica>) {
        let compaction = {
            let mut replica = lock(mutex);
            if !replica.journal.should_compact() {
                return;
            }
            let Replica { doc, journal, .. } = &mut *replica;
            match journal.compaction(doc) {
                Ok(c) => c,
                Err(_) => return,
            }
        };
        match storage.compact(room, &compaction).await {
            Ok((key, bytes)) => {
                let mut replica = lock(mutex);
                replica.journal.compacted(&compaction, key, bytes);
                acknowledge(&mut replica);
            }
            Err(e) => {
                log!(Warn, "room {room:?}: compaction failed (records stay): {e}");
                if matches!(e, StorageError::Unknown { .. }) {
                    if let Err(e) = self.recover(room, storage, mutex, &e).await {
                        log!(Warn, "room {room:?}: still cannot store: {e}");
                    }
                }
            }
        }
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
