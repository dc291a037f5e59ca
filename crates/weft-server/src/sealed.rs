//! Encrypted rooms: the server cannot read them, so it keeps no replica.
//! It stores what clients send as opaque records, numbered in the order it
//! receives them, replays them to whoever opens the room, and keeps the
//! latest sealed checkpoint a client uploads instead of the records it
//! covers (`weft::sync::SealedMessage` is the protocol). Servers sharing a
//! database hand each other's records on (`sealed/relay.rs`).

mod relay;

use crate::admission::ConnectionId;
use crate::bus::Bus;
use crate::outbox::Outbox;
use crate::replica::on_channel;
use crate::storage::{SealedLoaded, Storage, StorageError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use weft::sync::{Budget, SealedMessage};

/// Why a sealed request failed; the connection is closed with it.
#[derive(Debug, thiserror::Error)]
pub enum SealedError {
    /// The client broke the protocol.
    #[error("sealed room: {0}")]
    Protocol(&'static str),
    /// The storage failed: nothing was acknowledged, the client resends.
    #[error("sealed room: {0}")]
    Storage(#[from] StorageError),
}

/// A connection with the room open.
struct Member {
    outbox: Outbox,
    channel: u32,
}

impl Member {
    fn send(&self, message: &SealedMessage) {
        let channel = self.channel;
        self.outbox
            .push_frames(message.to_frames().iter().map(|f| on_channel(channel, f)));
    }
}

/// One encrypted room while connections have it open. Requests of a room
/// are handled one at a time (numbers and broadcasts stay in order).
type Room = tokio::sync::Mutex<State>;

#[derive(Default)]
struct State {
    members: HashMap<ConnectionId, Member>,
    /// The last record's number, once the room was read.
    last: Option<u64>,
    /// The last record the stored checkpoint covers.
    covers: u64,
    /// Without storage: the records and checkpoint themselves.
    memory: Memory,
    /// Forgotten since it was found: a request must find the room anew.
    retired: bool,
    /// Other servers' records are followed (`sealed/relay.rs`).
    followed: bool,
}

#[derive(Default)]
struct Memory {
    records: BTreeMap<u64, Vec<u8>>,
    checkpoint: Option<(u64, Vec<u8>)>,
}

/// Told of every storage failure, so that one that leaves the file's
/// state unknown is reported and the storage reopened (as for plain rooms).
pub type OnStorageFailure = Box<dyn Fn(&StorageError) + Send + Sync>;

/// Every open encrypted room.
pub struct SealedRooms {
    storage: Option<Storage>,
    on_failure: OnStorageFailure,
    /// What the connections' unfinished messages may hold between them...
    budget: Budget,
    /// ...and each connection's share of it.
    share_bytes: usize,
    /// Stored rooms while open; without storage, every room while the
    /// server runs (memory is where they are kept).
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// The other servers sharing the storage, if any.
    bus: Option<Arc<Bus>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SealedRooms {
    /// Rooms stored in `storage`, or kept in memory without it; storage
    /// failures are told to `on_failure`; `bus` reaches the other servers
    /// sharing the storage, if any.
    pub fn new(
        storage: Option<Storage>,
        on_failure: OnStorageFailure,
        limits: &crate::Limits,
        bus: Option<Arc<Bus>>,
    ) -> SealedRooms {
        SealedRooms {
            storage,
            on_failure,
            budget: Budget::new(limits.max_sync_receive_bytes),
            share_bytes: limits.sync_receive_bytes,
            rooms: Mutex::default(),
            bus,
        }
    }

    /// A connection's share of what messages may buffer, for its channels
    /// (so that one connection cannot take it all).
    pub fn share(&self) -> Budget {
        Budget::within(&self.budget, self.share_bytes)
    }

    /// Handles `message` from `connection`, whose frames for `room` carry
    /// `channel` (an `Open` makes it a member).
    ///
    /// # Errors
    /// A [`SealedError`]; the connection should be closed.
    pub async fn handle(
        &self,
        room: &str,
        connection: ConnectionId,
        channel: u32,
        outbox: &Outbox,
        message: SealedMessage,
    ) -> Result<(), SealedError> {
        let handled = self
            .handle_message(room, connection, channel, outbox, message)
            .await;
        if let Err(SealedError::Storage(e)) = &handled {
            (self.on_failure)(e);
        }
        handled
    }

    async fn handle_message(
        &self,
        room: &str,
        connection: ConnectionId,
        channel: u32,
        outbox: &Outbox,
        message: SealedMessage,
    ) -> Result<(), SealedError> {
        let (mut state, handle) = loop {
            let found = lock(&self.rooms)
                .entry(room.to_owned())
                .or_default()
                .clone();
            let state = found.clone().lock_owned().await;
            if !state.retired {
                break (state, found);
            }
        };
        let opened = state.members.contains_key(&connection);
        match message {
            SealedMessage::Open { .. } if opened => Err(SealedError::Protocol("opened twice")),
            SealedMessage::Open { after } => {
                let loaded = self.load(room, &mut state, after).await?;
                let member = Member {
                    outbox: outbox.clone(),
                    channel,
                };
                if let Some((seq, body)) = loaded.checkpoint {
                    member.send(&SealedMessage::Checkpoint { seq, body });
                }
                for (seq, body) in loaded.records {
                    member.send(&SealedMessage::Record { seq, body });
                }
                member.send(&SealedMessage::CaughtUp { seq: loaded.last });
                state.members.insert(connection, member);
                if let (Some(bus), Some(storage), false) =
                    (&self.bus, &self.storage, state.followed)
                {
                    state.followed = true;
                    let follow =
                        relay::follow(bus.clone(), storage.clone(), room.to_owned(), handle);
                    tokio::spawn(follow);
                }
                Ok(())
            }
            _ if !opened => Err(SealedError::Protocol("a request before Open")),
            SealedMessage::Append { body } => {
                let seq = match &self.storage {
                    Some(storage) => storage.sealed_append(room, body.clone()).await?,
                    None => {
                        let seq = state.last.unwrap_or(0) + 1;
                        state.memory.records.insert(seq, body.clone());
                        seq
                    }
                };
                if let (Some(bus), Some(storage)) = (&self.bus, &self.storage) {
                    let (bus, stream) = (bus.clone(), relay::stream(room));
                    tokio::spawn(async move { bus.publish_sealed(&stream, seq).await });
                    if seq > state.last.unwrap_or(0) + 1 {
                        // Other servers stored the records before it.
                        relay::catch_up(storage, room, &mut state, Some((connection, seq))).await?;
                        return Ok(());
                    }
                }
                state.last = Some(seq);
                let record = SealedMessage::Record { seq, body };
                for (id, member) in &state.members {
                    if *id == connection {
                        member.send(&SealedMessage::Stored { seq });
                    } else {
                        member.send(&record);
                    }
                }
                Ok(())
            }
            SealedMessage::Compact { covers, body } => {
                if covers > state.last.unwrap_or(0) {
                    return Err(SealedError::Protocol("a checkpoint of records not stored"));
                }
                if covers > state.covers {
                    match &self.storage {
                        Some(storage) => storage.sealed_compact(room, covers, body).await?,
                        None => {
                            let memory = &mut state.memory;
                            memory.records = memory.records.split_off(&(covers + 1));
                            memory.checkpoint = Some((covers, body));
                        }
                    }
                    state.covers = covers;
                }
                // A newer checkpoint may be stored already: said as it is.
                let seq = state.covers;
                if let Some(member) = state.members.get(&connection) {
                    member.send(&SealedMessage::Compacted { seq });
                }
                Ok(())
            }
            _ => Err(SealedError::Protocol("a server's message from a client")),
        }
    }

    /// What a client that has the records up to `after` lacks.
    async fn load(
        &self,
        room: &str,
        state: &mut State,
        after: u64,
    ) -> Result<SealedLoaded, StorageError> {
        let Some(storage) = &self.storage else {
            let memory = &state.memory;
            let checkpoint = memory.checkpoint.clone().filter(|(c, _)| *c > after);
            let from = checkpoint.as_ref().map_or(after, |(c, _)| *c);
            return Ok(SealedLoaded {
                checkpoint,
                records: memory
                    .records
                    .range(from + 1..)
                    .map(|(k, v)| (*k, v.clone()))
                    .collect(),
                last: state.last.unwrap_or(0),
                covers: state.covers,
            });
        };
        let loaded = storage.sealed_load(room, after).await?;
        state.last = Some(loaded.last);
        state.covers = loaded.covers;
        Ok(loaded)
    }

    /// `connection` no longer has `room` open. A stored room nobody has
    /// open is forgotten (it is read again when opened).
    pub fn detach(self: &Arc<Self>, room: &str, connection: ConnectionId) {
        let Some(handle) = lock(&self.rooms).get(room).cloned() else {
            return;
        };
        let this = self.clone();
        let name = room.to_owned();
        // The state's lock may be held by a request in progress.
        tokio::spawn(async move {
            let mut state = handle.lock().await;
            state.members.remove(&connection);
            if state.members.is_empty() && this.storage.is_some() {
                let mut rooms = lock(&this.rooms);
                if rooms.get(&name).is_some_and(|r| Arc::ptr_eq(r, &handle)) {
                    rooms.remove(&name);
                    state.retired = true;
                }
            }
        });
    }
}
