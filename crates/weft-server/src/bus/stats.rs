//! What the bus counts, for logs, metrics and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since the bus connected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Entries handed to subscriptions.
    pub delivered: u64,
    /// Entries dropped for subscriptions that did not keep up.
    pub lagged: u64,
    /// Entries read and skipped: fields missing or not as published.
    pub malformed: u64,
    /// Entries read and skipped: more data than the bus carries.
    pub oversize: u64,
    /// Times the reader got Redis back after losing it.
    pub reconnects: u64,
}

/// The live counts behind [`BusStats`].
#[derive(Default)]
pub(super) struct Counters {
    pub delivered: AtomicU64,
    pub lagged: AtomicU64,
    pub malformed: AtomicU64,
    pub oversize: AtomicU64,
    pub reconnects: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> BusStats {
        let get = |count: &AtomicU64| count.load(Ordering::Relaxed);
        BusStats {
            delivered: get(&self.delivered),
            lagged: get(&self.lagged),
            malformed: get(&self.malformed),
            oversize: get(&self.oversize),
            reconnects: get(&self.reconnects),
        }
    }
}
