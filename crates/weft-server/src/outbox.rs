//! A connection's outbound queue, bounded in messages and in bytes, and the
//! byte budget all queues share: a client that stops reading holds at most
//! its own bound, and all clients together at most the budget. Signaling
//! messages (text) and sync frames (binary) share the queue, in order;
//! frames have a bound of their own, since one update may take many.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Bytes queued across all connections, and the most there may be.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    /// An empty budget of `max` bytes.
    pub fn new(max: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Bytes queued now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes there may be queued.
    pub fn max(&self) -> usize {
        self.max
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.max)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Why a message was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// This client's queue is at its bound: it is not reading.
    Connection,
    /// All queues together are at the budget.
    Server,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A signaling message (JSON).
    Text(String),
    /// A sync frame, behind its channel number.
    Binary(Vec<u8>),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Text(t) => t.len(),
            Item::Binary(b) => b.len(),
        }
    }
}

/// The queue overflowed with sync frames: the connection must close (a
/// dropped frame would leave its session out of step).
#[derive(Debug, PartialEq, Eq)]
pub struct Overflowed;

/// Queues messages for one connection; the hub holds a clone per room.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// What the connection's task takes messages from. Dropping it frees what
/// is still queued and makes later messages vanish.
pub struct Outgoing {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Notify,
    budget: Arc<Budget>,
    max_messages: usize,
    max_bytes: usize,
    max_frame_bytes: usize,
}

struct Queue {
    messages: VecDeque<Item>,
    /// Bytes of text messages, and of sync frames.
    bytes: usize,
    frame_bytes: usize,
    open: bool,
    overflowed: bool,
}

/// A queue of at most `max_messages` and `max_bytes` of text, and
/// `max_frame_bytes` of sync frames, drawing on `budget`.
pub fn channel(
    budget: Arc<Budget>,
    max_messages: usize,
    max_bytes: usize,
    max_frame_bytes: usize,
) -> (Outbox, Outgoing) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            messages: VecDeque::new(),
            bytes: 0,
            frame_bytes: 0,
            open: true,
            overflowed: false,
        }),
        ready: Notify::new(),
        budget,
        max_messages,
        max_bytes,
        max_frame_bytes,
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        Outgoing { shared },
    )
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change leaves the queue consistent, so a panic elsewhere
        // while holding the lock does not matter.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Outbox {
    /// Queues `text`, or says which bound it would break. A message to a
    /// connection that has ended is dropped.
    pub fn push(&self, text: String) -> Result<(), Full> {
        let shared = &self.shared;
        let mut queue = shared.lock();
        if !queue.open {
            return Ok(());
        }
        let bytes = queue.bytes.saturating_add(text.len());
        if queue.messages.len() >= shared.max_messages || bytes > shared.max_bytes {
            return Err(Full::Connection);
        }
        if !shared.budget.reserve(text.len()) {
            return Err(Full::Server);
        }
        queue.bytes = bytes;
        queue.messages.push_back(Item::Text(text));
        drop(queue);
        shared.ready.notify_one();
        Ok(())
    }

    /// Queues sync frames (each behind its channel number). Frames cannot
    /// be dropped like signaling messages, so past the bounds the queue is
    /// marked overflowed and the connection closes; the client's next
    /// session starts over.
    pub fn push_frames(&self, frames: impl IntoIterator<Item = Vec<u8>>) {
        let shared = &self.shared;
        let mut queue = shared.lock();
        for frame in frames {
            if !queue.open || queue.overflowed {
                return;
            }
            let bytes = queue.frame_bytes.saturating_add(frame.len());
            if bytes > shared.max_frame_bytes || !shared.budget.reserve(frame.len()) {
                queue.overflowed = true;
                break;
            }
            queue.frame_bytes = bytes;
            queue.messages.push_back(Item::Binary(frame));
        }
        drop(queue);
        shared.ready.notify_one();
    }
}

impl Outgoing {
    /// The next message, once there is one, or [`Overflowed`] once sync
    /// frames overflowed the queue. Cancel-safe: a message is taken only
    /// when this returns.
    pub async fn next(&self) -> Result<Item, Overflowed> {
        loop {
            if let Some(item) = self.pop()? {
                return Ok(item);
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next message if one is queued now (see [`Outgoing::next`]).
    pub fn try_next(&self) -> Result<Option<Item>, Overflowed> {
        self.pop()
    }

    fn pop(&self) -> Result<Option<Item>, Overflowed> {
        let mut queue = self.shared.lock();
        if queue.overflowed {
            return Err(Overflowed);
        }
        let Some(item) = queue.messages.pop_front() else {
            return Ok(None);
        };
        match &item {
            Item::Text(t) => queue.bytes -= t.len(),
            Item::Binary(b) => queue.frame_bytes -= b.len(),
        }
        self.shared.budget.release(item.len());
        Ok(Some(item))
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.open = false;
        queue.messages = VecDeque::new();
        let held = std::mem::take(&mut queue.bytes) + std::mem::take(&mut queue.frame_bytes);
        self.shared.budget.release(held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: usize) -> String {
        "x".repeat(bytes)
    }

    #[tokio::test]
    async fn a_queue_is_bounded_in_messages_and_in_bytes() {
        let budget = Arc::new(Budget::new(1000));
        let (outbox, outgoing) = channel(budget.clone(), 3, 100, 100);
        outbox.push(text(60)).unwrap();
        assert_eq!(outbox.push(text(41)), Err(Full::Connection));
        outbox.push(text(40)).unwrap();
        outbox.push(text(0)).unwrap();
        assert_eq!(outbox.push(text(0)), Err(Full::Connection));
        assert_eq!(budget.used(), 100);
        assert_eq!(outgoing.next().await.unwrap().len(), 60);
        assert_eq!(budget.used(), 40);
        outbox.push(text(60)).unwrap();
    }

    #[test]
    fn all_queues_share_the_budget_and_a_dropped_queue_frees_its_share() {
        let budget = Arc::new(Budget::new(150));
        let (a, a_out) = channel(budget.clone(), 10, 100, 100);
        let (b, _b_out) = channel(budget.clone(), 10, 100, 100);
        a.push(text(100)).unwrap();
        assert_eq!(b.push(text(60)), Err(Full::Server));
        b.push(text(50)).unwrap();
        drop(a_out);
        assert_eq!(budget.used(), 50);
        // The connection is gone: its messages vanish and take nothing.
        a.push(text(10)).unwrap();
        assert_eq!(budget.used(), 50);
        b.push(text(50)).unwrap();
    }

    #[tokio::test]
    async fn frames_keep_their_order_among_messages_and_overflow_closes() {
        let budget = Arc::new(Budget::new(1000));
        let (outbox, outgoing) = channel(budget.clone(), 10, 100, 50);
        outbox.push(text(5)).unwrap();
        outbox.push_frames([vec![1; 20], vec![2; 20]]);
        outbox.push(text(6)).unwrap();
        assert_eq!(outgoing.next().await, Ok(Item::Text(text(5))));
        assert_eq!(outgoing.next().await, Ok(Item::Binary(vec![1; 20])));
        assert_eq!(outgoing.next().await, Ok(Item::Binary(vec![2; 20])));
        assert_eq!(outgoing.next().await, Ok(Item::Text(text(6))));
        assert_eq!(budget.used(), 0);
        // More frames than the bound: the connection must close.
        outbox.push_frames([vec![0; 30], vec![0; 30]]);
        assert_eq!(outgoing.next().await, Err(Overflowed));
        drop(outgoing);
        assert_eq!(budget.used(), 0);
    }
}
