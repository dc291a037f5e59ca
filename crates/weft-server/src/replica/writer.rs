//! Each room's writer: one task at a time stores what the room holds and
//! the disk lacks, and acknowledges it; after a failed commit the
//! recovery reopens the storage, and each room is loaded again from disk,
//! memory merged in, before anything more of it is acknowledged.

use super::{lock, random_replica, Replica, Replicas, Slot};
use crate::log;
use crate::memory;
use crate::storage::{Storage, StorageError};
use crate::storage_health;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weft::journal::{Compaction, Journal};
use weft::sync::SharedOutgoing;
use weft::Doc;

/// The first pause before a write or load that failed without leaving the
/// file's state unknown is tried again; it doubles up to [`MAX_RETRY`].
const RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);

impl Replicas {
    /// Starts the room's writer, unless it runs (or rooms are not stored).
    pub(super) fn start_saving(
        self: &Arc<Self>,
        room: &str,
        slot: &Arc<Slot>,
        replica: &mut Replica,
    ) {
        if self.storage.is_none() || replica.saving {
            return;
        }
        replica.saving = true;
        let (replicas, room, slot) = (self.clone(), room.to_owned(), slot.clone());
        tokio::spawn(async move { replicas.save(&room, &slot).await });
    }

    /// Starts the room's writer if the storage was reopened since the
    /// room was loaded: it reloads the room before anything else.
    pub(super) fn refresh_if_stale(
        self: &Arc<Self>,
        room: &str,
        slot: &Arc<Slot>,
        replica: &mut Replica,
    ) {
        let reopened = self
            .storage
            .as_ref()
            .is_some_and(|s| s.generation().is_ok_and(|g| g != replica.generation));
        if reopened {
            self.start_saving(room, slot, replica);
        }
    }

    /// The room's writer: writes what the room holds and storage lacks,
    /// until nothing is left; after each commit every session hears what
    /// is stored. A failure is never acknowledged (see `StorageError`).
    /// After the storage was reopened, the room is first loaded again from
    /// it with everything in memory merged in, so the next round writes
    /// what did not reach the disk. While the storage is unusable the
    /// writer stops; the recovery starts it again.
    async fn save(self: &Arc<Self>, room: &str, slot: &Arc<Slot>) {
        let Some(storage) = &self.storage else {
            return;
        };
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        // After a reload, the sessions hear what is stored even if nothing
        // is left to write.
        let mut reloaded = false;
        let mut retry = RETRY;
        loop {
            // Checked and given up under the room's lock, so that the
            // recovery, which reopens and then starts every room's writer,
            // either sees this one stopped or is seen reopened here.
            let stale = {
                let mut replica = lock(mutex);
                match storage.generation() {
                    Ok(generation) => generation != replica.generation,
                    Err(_) => {
                        replica.saving = false;
                        return;
                    }
                }
            };
            if stale {
                match self.reload(room, storage, mutex).await {
                    Ok(()) => reloaded = true,
                    Err(e) => {
                        log!(Warn, "room {room:?}: loading it again failed: {e}");
                        if !self.failed(&e) {
                            tokio::time::sleep(retry).await;
                            retry = (retry * 2).min(MAX_RETRY);
                        }
                    }
                }
                continue;
            }
            // A large document merged whole into an empty room (say a
            // client's snapshot) goes in as a checkpoint, encoded off the
            // runtime: as a record it would be its whole history as an
            // update, encoded under the room's lock.
            let first = {
                let replica = lock(mutex);
                replica.journal.starts_with_checkpoint(&replica.doc)
            };
            if first {
                if !self
                    .compact_when(room, storage, slot, Journal::starts_with_checkpoint)
                    .await
                {
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(MAX_RETRY);
                }
                continue;
            }
            let (unsaved, generation) = {
                let mut replica = lock(mutex);
                let generation = replica.generation;
                let Replica { doc, journal, .. } = &mut *replica;
                match journal.unsaved(doc) {
                    Ok(Some(unsaved)) => (unsaved, generation),
                    Ok(None) => {
                        if reloaded {
                            self.acknowledge(slot, &mut replica);
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
            match storage.append(room, &unsaved).await {
                Ok((key, bytes)) => {
                    self.commits.committed(started.elapsed());
                    retry = RETRY;
                    let mut replica = lock(mutex);
                    // Otherwise the storage was reopened, or failed,
                    // meanwhile: the next round reloads the room, this
                    // record included.
                    if replica.generation == generation && self.current(&replica) {
                        replica.journal.appended(key, bytes, unsaved);
                        self.acknowledge(slot, &mut replica);
                    }
                }
                Err(e) => {
                    self.commits.failed();
                    log!(Warn, "room {room:?}: storing failed, not acknowledged: {e}");
                    if !self.failed(&e) {
                        // Rolled back, nothing written: try again shortly.
                        tokio::time::sleep(retry).await;
                        retry = (retry * 2).min(MAX_RETRY);
                    }
                    continue;
                }
            }
            self.compact_if_due(room, storage, slot).await;
        }
    }

    /// Loads the room again from storage and merges what memory holds into
    /// it: what did not reach the disk becomes unsaved in the new journal,
    /// and the sessions get whatever the disk held that memory lacked.
    async fn reload(
        &self,
        room: &str,
        storage: &Storage,
        mutex: &Mutex<Replica>,
    ) -> Result<(), StorageError> {
        let mut loaded = storage.load(room, random_replica(), self.policy).await?;
        for problem in &loaded.problems {
            log!(Warn, "room {room:?}: skipped a damaged entry: {problem:?}");
        }
        let mut replica = lock(mutex);
        let Replica {
            doc,
            journal,
            generation,
            sessions,
            ..
        } = &mut *replica;
        match loaded.doc.merge(doc, weft::IndexUnit::CodePoint) {
            Ok(_) => *doc = loaded.doc,
            // Memory stays the room; the new journal says what is stored.
            Err(e) => log!(
                Error,
                "room {room:?}: could not merge memory into what is stored: {e}"
            ),
        }
        *journal = loaded.journal;
        *generation = loaded.generation;
        let mut shared = SharedOutgoing::default();
        for attached in sessions.values_mut() {
            let frames = attached.session.outgoing_shared(doc, &mut shared);
            attached.send(&frames);
        }
        self.reloads.fetch_add(1, Ordering::Relaxed);
        log!(
            Debug,
            "room {room:?}: loaded again after the storage was reopened"
        );
        Ok(())
    }

    async fn compact_if_due(self: &Arc<Self>, room: &str, storage: &Storage, slot: &Arc<Slot>) {
        self.compact_when(room, storage, slot, |journal, _| journal.should_compact())
            .await;
    }

    /// Writes a checkpoint of the room if `due` says so (under the room's
    /// lock); false when storing it failed.
    async fn compact_when(
        self: &Arc<Self>,
        room: &str,
        storage: &Storage,
        slot: &Arc<Slot>,
        due: impl FnOnce(&Journal, &Doc) -> bool,
    ) -> bool {
        let Some(mutex) = slot.replica.get() else {
            return true;
        };
        let (planned, generation) = {
            let replica = lock(mutex);
            if !due(&replica.journal, &replica.doc) {
                return true;
            }
            let planned = replica.journal.compaction_to_encode(&replica.doc);
            (planned, replica.generation)
        };
        let Some(compaction) = super::encode::off_runtime(planned).await else {
            log!(Warn, "room {room:?}: could not encode its checkpoint");
            return false;
        };
        match storage.compact(room, &compaction).await {
            Ok((key, bytes)) => {
                let mut replica = lock(mutex);
                if replica.generation == generation && self.current(&replica) {
                    replica.journal.compacted(&compaction, key, bytes);
                    self.acknowledge(slot, &mut replica);
                    settle(&mut replica, &compaction);
                }
                memory::release_soon(self.storage.as_ref());
                true
            }
            Err(e) => {
                log!(Warn, "room {room:?}: compaction failed (records stay): {e}");
                self.failed(&e);
                false
            }
        }
    }

    /// After a failed write or load elsewhere (a sealed room's): as
    /// [`failed`](Self::failed).
    pub fn storage_failed(self: &Arc<Self>, error: &StorageError) {
        self.failed(error);
    }

    /// After a failed write or load: if it left the file's state unknown
    /// (returns true then), the storage is unusable until reopened: the
    /// failure is reported and the recovery started, once.
    pub(super) fn failed(self: &Arc<Self>, error: &StorageError) -> bool {
        if !matches!(error, StorageError::Unknown { .. }) {
            return false;
        }
        let Some(storage) = &self.storage else {
            return true;
        };
        if let Some(wait) = self.health.failed(error, || storage.generation().is_err()) {
            tokio::spawn(self.clone().recover(wait));
        }
        true
    }

    /// Reopens the storage after `wait`, trying again with backoff until
    /// it opens (and no write failed again meanwhile); then starts every
    /// loaded room's writer, which loads the room again from disk, memory
    /// merged in, before it writes or acknowledges anything.
    async fn recover(self: Arc<Self>, wait: Duration) {
        let Some(storage) = &self.storage else {
            return;
        };
        let mut retry = wait;
        loop {
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(storage_health::MAX_WAIT);
            if let Err(e) = storage.reopen().await {
                log!(
                    Warn,
                    "storage: reopening failed, trying again in {retry:?}: {e}"
                );
                continue;
            }
            if self.health.recovered(|| storage.generation().is_ok()) {
                break;
            }
        }
        let rooms: Vec<(String, Arc<Slot>)> = lock(&self.rooms)
            .iter()
            .map(|(room, slot)| (room.clone(), slot.clone()))
            .collect();
        for (room, slot) in rooms {
            if let Some(mutex) = slot.replica.get() {
                let mut replica = lock(mutex);
                if !replica.unloaded {
                    self.start_saving(&room, &slot, &mut replica);
                }
            }
        }
    }
}

/// A room that changed nothing while its checkpoint was written (a quiet
/// one) keeps its document as that checkpoint loads: history and pages
/// encoded (for the automerge-paper, 0.2 MB instead of 0.8), decoded again
/// by the next change merged. A busy room's changes arrive during the
/// write, so it keeps its decoded document and never pays that twice.
fn settle(replica: &mut Replica, compaction: &Compaction) {
    let doc = &replica.doc;
    if doc.version() != compaction.version || doc.stats().pending_ops > 0 {
        return;
    }
    match Doc::from_snapshot(&compaction.snapshot, doc.replica()) {
        Ok(loaded) => replica.doc = loaded,
        Err(e) => log!(Warn, "could not load a checkpoint just written: {e}"),
    }
}
