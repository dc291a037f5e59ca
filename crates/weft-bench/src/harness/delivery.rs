//! Edit-to-other-clients latency. A sender notes each timed edit as its
//! own operation count right after the edit, with the instant the update
//! was produced and the server node it was connected to; a receiver,
//! after merging what arrived, compares each author's count in its
//! replica's version (Weft) or state vector (yrs) with those notes. Deletes
//! do not advance a yrs state vector, so only inserts are timed (deletes
//! still load the servers).

use super::client::Clocks;
use super::stats::Latencies;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The timed edits of one room's members.
pub struct RoomLog {
    /// Each member's author id.
    authors: Vec<u64>,
    /// Per member, its timed edits in the order sent.
    sent: Mutex<Vec<Vec<Sent>>>,
}

#[derive(Clone, Copy)]
struct Sent {
    /// The author's count right after the edit.
    count: u64,
    at: Instant,
    /// The node the author was connected to.
    node: usize,
}

impl RoomLog {
    pub fn new(authors: Vec<u64>) -> Arc<RoomLog> {
        let sent = Mutex::new(vec![Vec::new(); authors.len()]);
        Arc::new(RoomLog { authors, sent })
    }

    pub fn author(&self, member: usize) -> u64 {
        self.authors[member]
    }

    /// Notes that `member`, connected to `node`, sent the edit that
    /// brought its count to `count`.
    pub fn sent(&self, member: usize, count: u64, at: Instant, node: usize) {
        self.sent.lock().expect("not poisoned")[member].push(Sent { count, at, node });
    }
}

/// Which deliveries a receiver times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every other client's edits.
    All,
    /// Only edits sent through another node than the receiver's.
    OtherNodes,
}

/// What one receiver has seen of the others' timed edits.
pub struct Receiver {
    me: usize,
    log: Arc<RoomLog>,
    scope: Scope,
    /// The node this receiver is connected to now.
    node: usize,
    /// Per member: how many of its timed edits were seen here.
    seen: Vec<usize>,
    /// Per member: its count in this replica, as last looked at.
    counts: Vec<u64>,
    /// Latencies of edits sent in the measured window.
    pub latencies: Latencies,
}

impl Receiver {
    pub fn new(me: usize, log: Arc<RoomLog>, scope: Scope) -> Receiver {
        let n = log.authors.len();
        Receiver {
            me,
            log,
            scope,
            node: 0,
            seen: vec![0; n],
            counts: vec![0; n],
            latencies: Latencies::default(),
        }
    }

    /// The receiver moved to `node` (it connected, or reconnected).
    pub fn at_node(&mut self, node: usize) {
        self.node = node;
    }

    fn times(&self, sent: &Sent, window: (Instant, Instant)) -> bool {
        sent.at >= window.0
            && sent.at < window.1
            && (self.scope == Scope::All || sent.node != self.node)
    }

    /// After a merge: times each edit that `clocks` now includes,
    /// counting those sent within `window` (and in scope).
    pub fn merged(&mut self, clocks: &Clocks, window: (Instant, Instant)) {
        let now = Instant::now();
        let mut log = None;
        for m in 0..self.counts.len() {
            let count = clocks.get(self.log.authors[m]);
            if m == self.me || count <= self.counts[m] {
                continue;
            }
            self.counts[m] = count;
            let log = log.get_or_insert_with(|| self.log.sent.lock().expect("not poisoned"));
            for sent in &log[m][self.seen[m]..] {
                if sent.count > count {
                    break;
                }
                self.seen[m] += 1;
                if self.times(sent, window) {
                    self.latencies.push(now - sent.at);
                }
            }
        }
    }

    /// Timed edits sent within `window` (and in scope) that never arrived
    /// here.
    pub fn missing(&self, window: (Instant, Instant)) -> usize {
        let log = self.log.sent.lock().expect("not poisoned");
        (0..log.len())
            .filter(|&m| m != self.me)
            .map(|m| {
                log[m][self.seen[m]..]
                    .iter()
                    .filter(|sent| self.times(sent, window))
                    .count()
            })
            .sum()
    }
}
