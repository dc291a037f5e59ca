//! The room bus: how server nodes sharing one database relay room updates
//! to each other through Redis streams.
//!
//! Each room has a stream, `weft:room:<room>`; a node appends its updates
//! (kind `u`) and its version of the room (kind `v`) to it, each entry
//! tagged with the node's id. Each node has one reader that blocks on all
//! the streams it subscribed to and hands other nodes' entries to the
//! room's [`Subscription`]s. The bus promises no more than Redis keeps:
//! streams are trimmed, Redis may restart empty, a slow subscriber loses
//! entries. Each loss is announced ([`BusEvent::Lagged`],
//! [`BusEvent::Reconnected`]) and healed by the nodes exchanging versions.
//!
//! ```no_run
//! # async fn example() -> Result<(), weft_server::bus::BusError> {
//! use weft_server::bus::{random_node_id, Bus, BusConfig, BusEvent};
//! let bus = Bus::connect("redis://127.0.0.1:6379/", random_node_id(), BusConfig::default()).await?;
//! // Subscribe first, then load the room: nothing published in between is missed.
//! let mut updates = bus.subscribe("room").await?;
//! bus.publish_update("room", b"an update").await?;
//! while let Some(event) = updates.recv().await {
//!     match event {
//!         BusEvent::Entry(entry) => { /* apply entry.data */ }
//!         BusEvent::Lagged | BusEvent::Reconnected => { /* publish our version */ }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod entry;
mod error;
mod publisher;
mod reader;
mod rooms;
mod stats;
mod subscription;
mod trim;

pub use entry::{BusEntry, EntryKind, StreamId};
pub use error::BusError;
pub use publisher::Publisher;
pub use stats::BusStats;
pub use subscription::{BusEvent, Subscription};
pub use trim::STREAM_RETAIN;

use crate::limits::Limits;
use crate::log;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Pipeline, RedisError, Value};
use rooms::{Queue, Rooms};
use stats::Counters;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use trim::RedisClock;

/// Entries a node's wake stream keeps: only the newest one matters.
const WAKE_MAX_LEN: usize = 16;

/// How long a stream nobody writes to stays in Redis: an abandoned room,
/// or the wake stream of a node that is gone, does not stay. Past
/// [`STREAM_RETAIN`] its entries are of no use.
const STREAM_TTL: Duration = Duration::from_secs(10 * 60);

/// Every room stream's key begins with it.
const ROOM_PREFIX: &str = "weft:room:";

/// A Redis URL, checked: it may hold a password, so `Debug` shows only
/// where it points.
#[derive(Clone)]
pub struct RedisUrl {
    url: String,
    address: String,
}

impl RedisUrl {
    /// `url` checked (`redis://[:password@]host[:port][/db]`).
    ///
    /// # Errors
    /// [`BusError::Url`] when it does not parse.
    pub fn new(url: &str) -> Result<RedisUrl, BusError> {
        let client = redis::Client::open(url).map_err(|e| BusError::Url {
            reason: e.to_string(),
        })?;
        Ok(RedisUrl {
            url: url.to_owned(),
            address: client.get_connection_info().addr().to_string(),
        })
    }

    /// The URL, password included.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for RedisUrl {
    /// `redis://host:port`, without the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redis://{}", self.address)
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// How a bus behaves.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Largest data an entry may carry: larger is refused on publish and
    /// skipped on read.
    pub max_entry_bytes: usize,
    /// Events one subscription may have waiting...
    pub queue_entries: usize,
    /// ...and bytes of entries (one entry is taken whatever its size).
    /// Beyond either, entries are dropped and it is told it lagged.
    pub queue_bytes: usize,
    /// How long one `XREAD` blocks. Subscribing wakes it, so this only
    /// bounds how long an unsubscribed room is still read.
    pub block: Duration,
    /// Entries one `XREAD` reads from each stream at most.
    pub read_count: usize,
    /// How long a publish or subscribe may take before it fails, and
    /// connecting to Redis.
    pub command_timeout: Duration,
    /// How long a room's stream keeps an entry (see [`STREAM_RETAIN`]).
    pub stream_retain: Duration,
}

impl BusConfig {
    /// The server's limits: entries as large as the largest sync message
    /// a session accepts, and a subscription queues as many bytes as a
    /// client's sync queue.
    pub fn new(limits: &Limits) -> BusConfig {
        BusConfig {
            max_entry_bytes: limits.sync_receive_bytes,
            queue_entries: 1024,
            queue_bytes: limits.sync_queue_bytes,
            block: Duration::from_secs(5),
            read_count: 128,
            command_timeout: Duration::from_secs(2),
            stream_retain: STREAM_RETAIN,
        }
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig::new(&Limits::default())
    }
}

/// A random node id (from the standard library's randomly keyed hasher,
/// mixed with the time and the process id).
pub fn random_node_id() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

/// One node's connection to the room bus. Needs a Tokio runtime: its
/// reader is a task.
pub struct Bus {
    shared: Arc<Shared>,
    /// For publishing and subscribing; it reconnects by itself.
    commands: ConnectionManager,
    reader: Mutex<Option<JoinHandle<()>>>,
}

/// What the bus, its reader and its subscriptions share.
struct Shared {
    node: u64,
    config: BusConfig,
    /// `host:port`, for messages.
    address: String,
    client: redis::Client,
    wake_key: String,
    rooms: Arc<Rooms>,
    counters: Counters,
    clock: RedisClock,
}

impl Bus {
    /// Connects to Redis at `url` (`redis://[:password@]host:port/[db]`)
    /// as node `node` (see [`random_node_id`]), and starts its reader.
    ///
    /// # Errors
    /// The URL does not parse, or Redis does not answer within
    /// `config.command_timeout`.
    pub async fn connect(url: &str, node: u64, config: BusConfig) -> Result<Bus, BusError> {
        let client = redis::Client::open(url).map_err(|e| BusError::Url {
            reason: e.to_string(),
        })?;
        let address = client.get_connection_info().addr().to_string();
        let timeout = config.command_timeout;
        // Few retries, each short: a publish fails while Redis is down
        // rather than waiting for it, and the next one connects again.
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connecting = ConnectionManager::new_with_config(client.clone(), manager);
        let commands = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(commands)) => commands,
            Ok(Err(source)) => return Err(BusError::Redis { address, source }),
            Err(_) => return Err(BusError::Timeout { address, timeout }),
        };
        let shared = Arc::new(Shared {
            node,
            config,
            address,
            client,
            wake_key: format!("weft:wake:{node}"),
            rooms: Arc::default(),
            counters: Counters::default(),
            clock: RedisClock::default(),
        });
        let reader = tokio::spawn(reader::run(shared.clone()));
        Ok(Bus {
            shared,
            commands,
            reader: Mutex::new(Some(reader)),
        })
    }

    /// This node's id, in every entry it publishes.
    pub fn node(&self) -> u64 {
        self.shared.node
    }

    /// Appends an update of `room` to its stream, for the other nodes.
    ///
    /// # Errors
    /// [`BusError::TooLarge`] past `max_entry_bytes`; a Redis error or
    /// [`BusError::Timeout`] while Redis is unreachable.
    pub async fn publish_update(&self, room: &str, update: &[u8]) -> Result<(), BusError> {
        self.publish(room, EntryKind::Update, update).await
    }

    /// Appends this node's version of `room` to its stream, so that the
    /// others send what it lacks.
    ///
    /// # Errors
    /// As [`Bus::publish_update`].
    pub async fn publish_version(&self, room: &str, version: &[u8]) -> Result<(), BusError> {
        self.publish(room, EntryKind::Version, version).await
    }

    /// Tells the other nodes that record `seq` of the encrypted room whose
    /// stream is `room` is stored.
    ///
    /// # Errors
    /// As [`Bus::publish_update`].
    pub async fn publish_sealed(&self, room: &str, seq: u64) -> Result<(), BusError> {
        self.publish(room, EntryKind::Sealed, &seq.to_le_bytes())
            .await
    }

    /// Appends an entry of `kind` carrying `data` to `room`'s stream.
    ///
    /// # Errors
    /// As [`Bus::publish_update`].
    pub async fn publish(&self, room: &str, kind: EntryKind, data: &[u8]) -> Result<(), BusError> {
        let max = self.shared.config.max_entry_bytes;
        if data.len() > max {
            return Err(BusError::TooLarge {
                len: data.len(),
                max,
            });
        }
        self.publish_all(&[(room, kind, data)]).await
    }

    /// Appends each `(room, kind, data)` to its room's stream, in order, in
    /// one round trip to Redis. Entries larger than `max_entry_bytes` are
    /// left out (logged).
    ///
    /// # Errors
    /// A Redis error or [`BusError::Timeout`] while Redis is unreachable:
    /// then any of them may have been appended, or none.
    pub async fn publish_all(&self, entries: &[(&str, EntryKind, &[u8])]) -> Result<(), BusError> {
        let shared = &self.shared;
        let min_id = shared.clock.min_id(shared.config.stream_retain);
        let node = shared.node.to_string();
        let mut pipe = redis::pipe();
        for &(room, kind, data) in entries {
            if data.len() > shared.config.max_entry_bytes {
                log!(
                    Warn,
                    "bus: room {room:?}: an entry of {} bytes was not published (at most {})",
                    data.len(),
                    shared.config.max_entry_bytes
                );
                continue;
            }
            let key = room_key(room);
            let xadd = pipe.cmd("XADD").arg(&key);
            if let Some(min_id) = min_id {
                xadd.arg("MINID").arg(min_id);
            }
            xadd.arg("*")
                .arg(entry::NODE)
                .arg(&node)
                .arg(entry::KIND)
                .arg(kind.tag())
                .arg(entry::DATA)
                .arg(data);
            expire(&mut pipe, &key);
        }
        if pipe.cmd_iter().next().is_none() {
            return Ok(());
        }
        let ids: Vec<Vec<u8>> = self.run(&pipe).await?;
        if let Some(id) = ids.last().and_then(|id| StreamId::parse(id)) {
            shared.clock.saw(id);
        }
        Ok(())
    }

    /// Subscribes to `room`: entries other nodes publish after this
    /// returns. Load the room after subscribing, and nothing is missed.
    ///
    /// # Errors
    /// [`BusError::Closed`] after [`Bus::close`]; a Redis error or
    /// [`BusError::Timeout`] while Redis is unreachable.
    pub async fn subscribe(&self, room: &str) -> Result<Subscription, BusError> {
        let shared = &self.shared;
        let key = room_key(room);
        let mut pipe = redis::pipe();
        pipe.add_command(last_id_command(&key));
        let (reply,): (Value,) = self.run(&pipe).await?;
        let start = last_id_in(&reply);
        let queue = Queue {
            entries: shared.config.queue_entries,
            bytes: shared.config.queue_bytes,
        };
        let added = shared
            .rooms
            .add(room, start, queue)
            .ok_or(BusError::Closed)?;
        // Dropped (unsubscribed) if waking the reader fails.
        let subscription = Subscription::new(
            room,
            added.id,
            added.receiver,
            added.slot,
            shared.rooms.clone(),
        );
        if added.wake {
            let mut pipe = redis::pipe();
            pipe.cmd("XADD")
                .arg(&shared.wake_key)
                .arg("MAXLEN")
                .arg("~")
                .arg(WAKE_MAX_LEN)
                .arg("*")
                .arg("room")
                .arg(room)
                .ignore();
            expire(&mut pipe, &shared.wake_key);
            self.run::<()>(&pipe).await?;
        }
        Ok(subscription)
    }

    /// Asks Redis for a round trip (for `/health`).
    ///
    /// # Errors
    /// A Redis error or [`BusError::Timeout`] while Redis is unreachable;
    /// [`BusError::Closed`] after [`Bus::close`].
    pub async fn probe(&self) -> Result<(), BusError> {
        let mut pipe = redis::pipe();
        pipe.cmd("PING").ignore();
        self.run::<()>(&pipe).await
    }

    /// Where Redis is (`host:port`), for messages.
    pub fn address(&self) -> &str {
        &self.shared.address
    }

    /// Rooms this node is subscribed to.
    pub fn room_count(&self) -> usize {
        self.shared.rooms.len()
    }

    /// What the bus counted.
    pub fn stats(&self) -> BusStats {
        self.shared.counters.snapshot()
    }

    /// Stops the reader and ends every subscription (their `recv` returns
    /// `None`); publishing and subscribing fail with [`BusError::Closed`].
    pub async fn close(&self) {
        let reader = self.stop();
        if let Some(reader) = reader {
            let _ = reader.await;
        }
    }

    /// Ends subscriptions, and aborts the reader (returned, to wait for).
    fn stop(&self) -> Option<JoinHandle<()>> {
        self.shared.rooms.close();
        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(reader) = &reader {
            reader.abort();
        }
        reader
    }

    /// Runs `pipe` on the command connection within the timeout. Once more
    /// if the connection was lost: the manager only reconnects after a
    /// command failed (so after Redis restarted, the first would fail). A
    /// publish may then be appended twice, which applying an update twice
    /// tolerates.
    async fn run<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, BusError> {
        if self.shared.rooms.is_closed() {
            return Err(BusError::Closed);
        }
        let mut commands = self.commands.clone();
        self.timed(async {
            match pipe.query_async(&mut commands).await {
                Err(e) if e.is_unrecoverable_error() || e.is_io_error() => {
                    pipe.query_async(&mut commands).await
                }
                done => done,
            }
        })
        .await
    }

    /// `command`, within `command_timeout`, its error naming Redis.
    async fn timed<T>(
        &self,
        command: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Result<T, BusError> {
        let address = &self.shared.address;
        let timeout = self.shared.config.command_timeout;
        match tokio::time::timeout(timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(BusError::Redis {
                address: address.clone(),
                source,
            }),
            Err(_) => Err(BusError::Timeout {
                address: address.clone(),
                timeout,
            }),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("node", &self.shared.node)
            .field("address", &self.shared.address)
            .finish_non_exhaustive()
    }
}

/// The stream of `room`.
fn room_key(room: &str) -> String {
    format!("{ROOM_PREFIX}{room}")
}

/// Adds to `pipe`: `key` expires [`STREAM_TTL`] after this write.
fn expire(pipe: &mut Pipeline, key: &str) {
    pipe.cmd("PEXPIRE")
        .arg(key)
        .arg(STREAM_TTL.as_millis() as u64)
        .ignore();
}

/// `XREVRANGE key + - COUNT 1`: the last entry of stream `key`, if any
/// (see [`last_id_in`]).
fn last_id_command(key: &str) -> redis::Cmd {
    let mut command = redis::cmd("XREVRANGE");
    command.arg(key).arg("+").arg("-").arg("COUNT").arg(1);
    command
}

/// The id of the last entry in [`last_id_command`]'s reply, or
/// [`StreamId::ZERO`] when the stream is empty or missing (so reading
/// after it misses nothing added later; `$` would be re-evaluated at each
/// read and miss what came in between).
fn last_id_in(reply: &Value) -> StreamId {
    let last = entry::entries(reply).first().map(|(id, _)| *id);
    last.unwrap_or(StreamId::ZERO)
}
