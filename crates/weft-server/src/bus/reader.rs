//! The node's one reader: a blocking `XREAD` over every subscribed room's
//! stream and the node's wake stream, on a connection of its own (a
//! blocking command would hold up the commands queued behind it).

use super::entry::{self, BusEntry, StreamId};
use super::{room_key, Shared, ROOM_PREFIX};
use crate::log;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long a read waits after the previous one started, per stream it
/// names: an `XREAD` costs Redis about a microsecond per stream named,
/// whether or not it has entries, so reading no more often than this
/// keeps one node's reads under about a tenth of Redis's time, however
/// many rooms it follows and edits arrive. What arrives meanwhile is read
/// together; an entry waits at most this long more (2 ms at 200 streams).
const READ_GAP_PER_STREAM: Duration = Duration::from_micros(10);

/// The longest wait between reads, whatever the number of streams.
const MAX_READ_GAP: Duration = Duration::from_millis(20);

/// The first wait after losing Redis, doubled after each failed attempt...
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// ...up to this.
const LAST_RETRY: Duration = Duration::from_secs(2);

/// Reads until the task is aborted ([`Bus::close`](super::Bus::close)).
pub(super) async fn run(shared: Arc<Shared>) {
    let mut wait = FIRST_RETRY;
    // Whether Redis was lost since the reader last read.
    let mut lost = false;
    loop {
        let failure = match connect(&shared).await {
            Ok((mut connection, mut wake)) => {
                if lost {
                    log!(Info, "bus: Redis at {} is back", shared.address);
                    shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    shared.rooms.reconnected();
                    lost = false;
                }
                loop {
                    let started = tokio::time::Instant::now();
                    let read = read(&shared, &mut connection, &mut wake).await;
                    let streams = u32::try_from(shared.rooms.len() + 1).unwrap_or(u32::MAX);
                    let gap = (READ_GAP_PER_STREAM * streams).min(MAX_READ_GAP);
                    tokio::time::sleep_until(started + gap).await;
                    match read {
                        // Waits again from the first step only once reads
                        // succeed: Redis may take connections and still
                        // refuse the read.
                        Ok(()) => wait = FIRST_RETRY,
                        Err(e) => break e,
                    }
                }
            }
            Err(e) => e,
        };
        if !lost {
            log!(Warn, "bus: lost Redis at {}: {failure}", shared.address);
            lost = true;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(LAST_RETRY);
    }
}

/// A connection of the reader's own, and where its wake stream ends.
async fn connect(shared: &Shared) -> Result<(MultiplexedConnection, StreamId), RedisError> {
    let timeout = shared.config.command_timeout;
    // The response may take the whole block: the client's default (half a
    // second) would fail every read that waits longer.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(shared.config.block + timeout));
    let mut connection = shared
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    // Read before the rooms are (in `read`): a room subscribed after that
    // adds a wake entry after this one, and the read returns at once.
    let reply: Value = super::last_id_command(&shared.wake_key)
        .query_async(&mut connection)
        .await?;
    Ok((connection, super::last_id_in(&reply)))
}

/// One `XREAD` over every room subscribed now, handing what it returns to
/// the subscriptions. Returns at the latest after the block time, and at
/// once when a room is subscribed (an entry in the wake stream).
async fn read(
    shared: &Shared,
    connection: &mut MultiplexedConnection,
    wake: &mut StreamId,
) -> Result<(), RedisError> {
    let cursors = shared.rooms.cursors();
    let config = &shared.config;
    let mut xread = redis::cmd("XREAD");
    xread
        .arg("COUNT")
        .arg(config.read_count.max(1))
        .arg("BLOCK")
        .arg(config.block.as_millis().max(1) as u64)
        .arg("STREAMS");
    for (room, _) in &cursors {
        xread.arg(room_key(room));
    }
    xread.arg(&shared.wake_key);
    for (_, cursor) in &cursors {
        xread.arg(cursor.to_string());
    }
    xread.arg(wake.to_string());
    let reply: Value = xread.query_async(connection).await?;
    for (key, entries) in entry::streams(&reply) {
        let entries = entry::entries(entries);
        if key == shared.wake_key.as_bytes() {
            if let Some((last, _)) = entries.last() {
                *wake = (*wake).max(*last);
            }
            continue;
        }
        // Keys are ours, made from room names: UTF-8 after the prefix.
        let Some(room) = key
            .strip_prefix(ROOM_PREFIX.as_bytes())
            .and_then(|room| std::str::from_utf8(room).ok())
        else {
            continue;
        };
        let entries = entries
            .into_iter()
            .map(|(id, fields)| (id, check(shared, room, id, fields)))
            .collect();
        shared.rooms.deliver(room, entries, &shared.counters);
    }
    Ok(())
}

/// The entry for subscribers, or `None` if it is the node's own, or
/// skipped (malformed or too large: counted and logged).
fn check(shared: &Shared, room: &str, id: StreamId, fields: &Value) -> Option<BusEntry> {
    match entry::parse_fields(fields) {
        Ok(entry) if entry.node == shared.node => None,
        Ok(entry) if entry.data.len() > shared.config.max_entry_bytes => {
            shared.counters.oversize.fetch_add(1, Ordering::Relaxed);
            log!(
                Warn,
                "bus: room {room:?}: skipped entry {id} of {} bytes (at most {})",
                entry.data.len(),
                shared.config.max_entry_bytes
            );
            None
        }
        Ok(entry) => Some(entry),
        Err(why) => {
            shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
            log!(
                Warn,
                "bus: room {room:?}: skipped malformed entry {id}: {why:?}"
            );
            None
        }
    }
}
