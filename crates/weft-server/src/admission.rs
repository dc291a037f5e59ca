//! How many WebSocket connections are open, and whether one more may be.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Identifies one WebSocket connection inside the server.
pub type ConnectionId = u64;

/// Counts open connections against a cap.
#[derive(Debug)]
pub struct Admission {
    open: AtomicUsize,
    max: usize,
    next_id: AtomicU64,
}

/// One admitted connection; it stops counting when dropped (also when its
/// task panics).
#[derive(Debug)]
pub struct Admitted {
    id: ConnectionId,
    admission: Arc<Admission>,
}

impl Admission {
    /// Admits up to `max` connections at once.
    pub fn new(max: usize) -> Admission {
        Admission {
            open: AtomicUsize::new(0),
            max,
            next_id: AtomicU64::new(0),
        }
    }

    /// Counts a new connection, unless `max` are open already.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        self.open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |open| {
                (open < self.max).then_some(open + 1)
            })
            .ok()?;
        Some(Admitted {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            admission: self.clone(),
        })
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The most connections there may be.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Admitted {
    /// This connection's id.
    pub fn id(&self) -> ConnectionId {
        self.id
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.admission.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_cap_and_again_after_a_close() {
        let admission = Arc::new(Admission::new(2));
        let a = admission.admit().unwrap();
        let b = admission.admit().unwrap();
        assert_ne!(a.id(), b.id());
        assert!(admission.admit().is_none());
        assert_eq!(admission.open(), 2);
        drop(a);
        assert!(admission.admit().is_some());
        assert_eq!(admission.open(), 1);
    }
}
