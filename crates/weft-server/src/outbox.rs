//! A connection's outbound queue, bounded in messages and in bytes, and the
//! byte budget all queues share: a client that stops reading holds at most
//! its own bound, and all clients together at most the budget.

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
}

struct Queue {
    messages: VecDeque<String>,
    bytes: usize,
    open: bool,
}

/// A queue of at most `max_messages` and `max_bytes`, drawing on `budget`.
pub fn channel(budget: Arc<Budget>, max_messages: usize, max_bytes: usize) -> (Outbox, Outgoing) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            messages: VecDeque::new(),
            bytes: 0,
            open: true,
        }),
        ready: Notify::new(),
        budget,
        max_messages,
        max_bytes,
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
        queue.messages.push_back(text);
        drop(queue);
        shared.ready.notify_one();
        Ok(())
    }
}

impl Outgoing {
    /// The next message, once there is one. Cancel-safe: a message is
    /// taken only when this returns.
    pub async fn next(&self) -> String {
        loop {
            if let Some(text) = self.pop() {
                return text;
            }
            self.shared.ready.notified().await;
        }
    }

    fn pop(&self) -> Option<String> {
        let mut queue = self.shared.lock();
        let text = queue.messages.pop_front()?;
        queue.bytes -= text.len();
        self.shared.budget.release(text.len());
        Some(text)
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.open = false;
        queue.messages = VecDeque::new();
        self.shared.budget.release(std::mem::take(&mut queue.bytes));
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
        let (outbox, outgoing) = channel(budget.clone(), 3, 100);
        outbox.push(text(60)).unwrap();
        assert_eq!(outbox.push(text(41)), Err(Full::Connection));
        outbox.push(text(40)).unwrap();
        outbox.push(text(0)).unwrap();
        assert_eq!(outbox.push(text(0)), Err(Full::Connection));
        assert_eq!(budget.used(), 100);
        assert_eq!(outgoing.next().await.len(), 60);
        assert_eq!(budget.used(), 40);
        outbox.push(text(60)).unwrap();
    }

    #[test]
    fn all_queues_share_the_budget_and_a_dropped_queue_frees_its_share() {
        let budget = Arc::new(Budget::new(150));
        let (a, a_out) = channel(budget.clone(), 10, 100);
        let (b, _b_out) = channel(budget.clone(), 10, 100);
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
}
