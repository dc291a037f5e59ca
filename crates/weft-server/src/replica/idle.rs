//! Rooms nobody syncs: one idle timer per room, pushed back by each detach
//! and ended by an attach, unloads the room once everything of it is
//! stored; the cap on loaded rooms unloads idle ones early.

use super::{lock, AttachError, Replicas, Slot};
use crate::log;
use crate::memory;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::Instant;

impl Replicas {
    /// Unloads idle rooms until `room` fits under the cap (if it is not
    /// loaded already).
    pub(super) async fn make_room_for(self: &Arc<Self>, room: &str) -> Result<(), AttachError> {
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

    /// The room's idle timer: waits until nobody has synced it for the
    /// idle time (each detach pushes the time back), then unloads it, and
    /// ends when someone syncs it again. A room that cannot be unloaded
    /// yet (something is not stored, or being written) is tried again
    /// after another idle time.
    pub(super) async fn idle_timer(self: Arc<Self>, room: &str, slot: &Arc<Slot>) {
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        loop {
            let deadline = {
                let mut replica = lock(mutex);
                match replica.idle_until {
                    Some(deadline) if !replica.unloaded => deadline,
                    _ => {
                        replica.timer = false;
                        return;
                    }
                }
            };
            if Instant::now() < deadline {
                tokio::time::sleep_until(deadline).await;
                continue;
            }
            if self.unload_if_idle(room, slot).await {
                return;
            }
            let mut replica = lock(mutex);
            if replica.idle_until.is_some() {
                replica.idle_until = Some(Instant::now() + self.idle);
                self.refresh_if_stale(room, slot, &mut replica);
            }
        }
    }

    /// Folds the room's records into a checkpoint (the next load reads one
    /// snapshot) and unloads it, unless someone synced it meanwhile or it
    /// holds what is not stored yet. Returns whether it was unloaded.
    async fn unload_if_idle(self: &Arc<Self>, room: &str, slot: &Arc<Slot>) -> bool {
        let (Some(storage), Some(mutex)) = (&self.storage, slot.replica.get()) else {
            return false;
        };
        let planned = {
            let replica = lock(mutex);
            if !replica.sessions.is_empty() || replica.saving || !self.stored(&replica) {
                return false;
            }
            let journal = &replica.journal;
            let planned = journal
                .has_records()
                .then(|| journal.compaction_to_encode(&replica.doc));
            planned.map(|p| (p, replica.generation))
        };
        // A snapshot that cannot be made leaves the records to the next load.
        let planned = match planned {
            Some((p, generation)) => super::encode::off_runtime(p).await.map(|c| (c, generation)),
            None => None,
        };
        if let Some((compaction, generation)) = planned {
            match storage.compact(room, &compaction).await {
                Ok((key, bytes)) => {
                    let mut replica = lock(mutex);
                    if replica.generation != generation || !self.current(&replica) {
                        // Reopened meanwhile: the reload finds it on disk.
                        return false;
                    }
                    replica.journal.compacted(&compaction, key, bytes);
                }
                Err(e) => {
                    // The room stays loaded: memory may be all there is.
                    log!(
                        Warn,
                        "room {room:?}: compacting before unloading failed: {e}"
                    );
                    self.failed(&e);
                    return false;
                }
            }
        }
        let mut rooms = lock(&self.rooms);
        let mut replica = lock(mutex);
        // Someone may have synced, edited and left meanwhile.
        let idle = replica.sessions.is_empty() && !replica.saving && self.stored(&replica);
        if !idle || !rooms.get(room).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            return false;
        }
        replica.unloaded = true;
        rooms.remove(room);
        self.unloads.fetch_add(1, Ordering::Relaxed);
        log!(Debug, "room {room:?}: unloaded");
        memory::release_soon(self.storage.as_ref());
        true
    }
}
