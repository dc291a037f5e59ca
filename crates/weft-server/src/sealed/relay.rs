//! Encrypted rooms across servers sharing a database (`--redis`). Records
//! are numbered by the room's counter in the database, whichever server
//! stores them, and each server must hand its connections every record in
//! order, none skipped: a client asks for what follows the last number it
//! has, and compacts up to it. A server that stores a record tells the
//! others on the room's stream; one that finds a gap before a number, told
//! or its own, reads what it lacks from the database and sends it in order
//! first (a number's record is committed once a later one is: the
//! counter's lock orders them).

use super::{Room, State};
use crate::admission::ConnectionId;
use crate::bus::{Bus, BusEvent, EntryKind};
use crate::log;
use crate::storage::{Storage, StorageError};
use std::sync::Arc;
use std::time::Duration;
use weft::sync::SealedMessage;

/// How often a room's follower reads what other servers stored, whatever
/// it was told, and checks that the room is still open here.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The bus stream of encrypted room `room`: under a name no plain room
/// can have (room names hold no control characters).
pub(super) fn stream(room: &str) -> String {
    format!("\u{1}sealed:{room}")
}

/// Sends the room's members what was stored after the last record they
/// were sent, in order: a checkpoint first if one covers records they
/// lack, then the records. `own` is a record this server just stored for
/// that connection: it is told `Stored` where the others get the record.
pub(super) async fn catch_up(
    storage: &Storage,
    room: &str,
    state: &mut State,
    own: Option<(ConnectionId, u64)>,
) -> Result<(), StorageError> {
    let after = state.last.unwrap_or(0);
    let loaded = storage.sealed_load(room, after).await?;
    let everyone = |message: &SealedMessage| state.members.values().for_each(|m| m.send(message));
    if let Some((seq, body)) = loaded.checkpoint {
        everyone(&SealedMessage::Checkpoint { seq, body });
    }
    let mut told = false;
    for (seq, body) in loaded.records {
        let record = SealedMessage::Record { seq, body };
        for (&id, member) in &state.members {
            if own == Some((id, seq)) {
                member.send(&SealedMessage::Stored { seq });
                told = true;
            } else {
                member.send(&record);
            }
        }
    }
    if let Some((connection, seq)) = own.filter(|_| !told) {
        // Covered by a checkpoint stored meanwhile: stored all the same.
        if let Some(member) = state.members.get(&connection) {
            member.send(&SealedMessage::Stored { seq });
        }
    }
    state.last = Some(loaded.last.max(after));
    state.covers = state.covers.max(loaded.covers);
    Ok(())
}

/// Follows `room`'s stream while it is open here: each record another
/// server stores past the last one sent here, and each loss the bus
/// reports, sends what the members lack.
pub(super) async fn follow(bus: Arc<Bus>, storage: Storage, room: String, handle: Arc<Room>) {
    loop {
        let mut subscription = match bus.subscribe(&stream(&room)).await {
            Ok(s) => s,
            Err(e) => {
                log!(
                    Warn,
                    "encrypted room {room:?}: not subscribed to other servers' records: {e}"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                if handle.lock().await.retired {
                    return;
                }
                continue;
            }
        };
        // Whatever was stored between reading the room and subscribing.
        if !send_past(&storage, &room, &handle, None).await {
            return;
        }
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            let open = tokio::select! {
                event = subscription.recv() => match event {
                    Some(BusEvent::Entry(entry)) if entry.kind == EntryKind::Sealed => {
                        let seq = <[u8; 8]>::try_from(entry.data.as_slice()).map(u64::from_le_bytes);
                        match seq {
                            Ok(seq) => send_past(&storage, &room, &handle, Some(seq)).await,
                            Err(_) => true,
                        }
                    }
                    Some(BusEvent::Entry(_)) => true,
                    Some(BusEvent::Lagged | BusEvent::Reconnected) => {
                        send_past(&storage, &room, &handle, None).await
                    }
                    // The bus was closed: the server is stopping.
                    None => false,
                },
                // Also heals a notice lost without a word (a trimmed stream).
                _ = tick.tick() => send_past(&storage, &room, &handle, None).await,
            };
            if !open {
                return;
            }
        }
    }
}

/// Sends the members what was stored past what they were sent, unless
/// they were sent `seq` already; false once the room is closed here.
async fn send_past(storage: &Storage, room: &str, handle: &Room, seq: Option<u64>) -> bool {
    let mut state = handle.lock().await;
    if state.retired {
        return false;
    }
    if seq.is_none_or(|seq| seq > state.last.unwrap_or(0)) {
        if let Err(e) = catch_up(storage, room, &mut state, None).await {
            // The next record told, or the next check, tries again.
            log!(
                Warn,
                "encrypted room {room:?}: could not read other servers' records: {e}"
            );
        }
    }
    true
}
