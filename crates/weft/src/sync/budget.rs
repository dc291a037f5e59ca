//! The memory the sessions of a document (or of a whole program) may hold
//! in messages they are still receiving, shared between them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Default limit of a [`Budget`]: 128 MiB.
pub const DEFAULT_BUDGET: usize = 128 << 20;

/// Bytes that sessions sharing it may buffer between them while messages
/// arrive frame by frame: without it, each of many connections could hold
/// an unfinished message of the largest size, together more than a wasm
/// instance has. Counted on what is actually buffered (buffer capacity, as
/// it grows), given back when a message completes or fails and when a
/// session is dropped.
///
/// Cloning shares the budget: create one per document (or per program)
/// and pass it to every session with [`Session::with_budget`]. A share of
/// it ([`Budget::within`]) caps what some of those sessions hold (those of
/// one connection, say) while every byte still counts against the whole,
/// so one peer cannot take all of it from the others.
///
/// [`Session::with_budget`]: super::Session::with_budget
#[derive(Debug, Clone)]
pub struct Budget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    used: AtomicUsize,
    limit: usize,
    /// The budget this one is a share of.
    whole: Option<Budget>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_BUDGET)
    }
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget(Arc::new(Inner {
            used: AtomicUsize::new(0),
            limit,
            whole: None,
        }))
    }

    /// A share of `whole` of at most `limit` bytes: what sessions given
    /// this share buffer counts against both, so they hold at most `limit`
    /// between them, and everything sharing `whole` at most its limit.
    pub fn within(whole: &Budget, limit: usize) -> Budget {
        Budget(Arc::new(Inner {
            used: AtomicUsize::new(0),
            limit,
            whole: Some(whole.clone()),
        }))
    }

    /// Its limit in bytes.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// Bytes the sessions sharing it hold now.
    pub fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes if they are left, here and in the budget this is a
    /// share of (if any); otherwise takes nothing and returns the limit of
    /// the budget that has too little left.
    pub(crate) fn take(&self, n: usize) -> Result<(), usize> {
        self.0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(n).filter(|&u| u <= self.0.limit)
            })
            .map_err(|_| self.0.limit)?;
        if let Some(whole) = &self.0.whole {
            if let Err(limit) = whole.take(n) {
                self.0.used.fetch_sub(n, Ordering::Relaxed);
                return Err(limit);
            }
        }
        Ok(())
    }

    /// Gives back `n` bytes taken earlier (to the whole as well).
    pub(crate) fn give(&self, n: usize) {
        self.0.used.fetch_sub(n, Ordering::Relaxed);
        if let Some(whole) = &self.0.whole {
            whole.give(n);
        }
    }
}
