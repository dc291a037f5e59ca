//! Publishing from code that cannot wait for Redis: entries queue here and
//! one task appends them in the order they were sent, what queued during
//! a round trip going in the next one. Order matters: a WebRTC offer must
//! reach the other node before the candidates that follow it.

use super::{Bus, EntryKind};
use crate::log;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Entries sent to Redis in one round trip at most.
const BATCH: usize = 256;

/// One entry waiting: its stream (a room name), kind and data.
type Queued = (String, EntryKind, Vec<u8>);

/// The sending end; the task stops when it is dropped.
pub struct Publisher {
    queue: mpsc::Sender<Queued>,
}

impl Publisher {
    /// Publishes through `bus`, holding at most `capacity` entries while
    /// Redis is slow; `what` names them in the log.
    pub fn new(bus: Arc<Bus>, capacity: usize, what: &'static str) -> Publisher {
        let (queue, mut waiting) = mpsc::channel::<Queued>(capacity);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while waiting.recv_many(&mut batch, BATCH).await > 0 {
                let entries: Vec<(&str, EntryKind, &[u8])> = batch
                    .iter()
                    .map(|(stream, kind, data)| (stream.as_str(), *kind, &data[..]))
                    .collect();
                if let Err(e) = bus.publish_all(&entries).await {
                    log!(
                        Warn,
                        "{} {what} were not relayed to other servers: {e}",
                        entries.len()
                    );
                }
                batch.clear();
            }
        });
        Publisher { queue }
    }

    /// Queues `data` for `stream`'s stream, after everything sent before;
    /// false (and nothing queued) when the queue is full.
    pub fn send(&self, stream: &str, kind: EntryKind, data: Vec<u8>) -> bool {
        self.queue.try_send((stream.to_owned(), kind, data)).is_ok()
    }
}
