//! Edit-to-other-clients latency. A sender notes each timed edit as its
//! own operation count right after the edit, with the instant the update
//! was produced; a receiver, after merging what arrived, compares each
//! author's count in its replica's version (Weft) or state vector (yrs)
//! with those notes. Deletes do not advance a yrs state vector, so only
//! inserts are timed (deletes still load the servers).

use crate::client::Clocks;
use crate::stats::Latencies;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The timed edits of one room's members.
pub struct RoomLog {
    /// Each member's author id.
    authors: Vec<u64>,
    /// Per member: (its count right after the edit, when it was sent).
    sent: Mutex<Vec<Vec<(u64, Instant)>>>,
}

impl RoomLog {
    pub fn new(authors: Vec<u64>) -> Arc<RoomLog> {
        let sent = Mutex::new(vec![Vec::new(); authors.len()]);
        Arc::new(RoomLog { authors, sent })
    }

    pub fn author(&self, member: usize) -> u64 {
        self.authors[member]
    }

    /// Notes that `member` sent the edit that brought its count to `count`.
    pub fn sent(&self, member: usize, count: u64, at: Instant) {
        self.sent.lock().expect("not poisoned")[member].push((count, at));
    }
}

/// What one receiver has seen of the others' timed edits.
pub struct Receiver {
    me: usize,
    log: Arc<RoomLog>,
    /// Per member: how many of its timed edits were seen here.
    seen: Vec<usize>,
    /// Per member: its count in this replica, as last looked at.
    counts: Vec<u64>,
    /// Latencies of edits sent in the measured window.
    pub latencies: Latencies,
}

impl Receiver {
    pub fn new(me: usize, log: Arc<RoomLog>) -> Receiver {
        let n = log.authors.len();
        Receiver {
            me,
            log,
            seen: vec![0; n],
            counts: vec![0; n],
            latencies: Latencies::default(),
        }
    }

    /// After a merge: times each edit that `clocks` now includes,
    /// counting those sent within `window`.
    pub fn merged(&mut self, clocks: &Clocks, window: (Instant, Instant)) {
        let now = Instant::now();
        let mut sent = None;
        for m in 0..self.counts.len() {
            let count = clocks.get(self.log.authors[m]);
            if m == self.me || count <= self.counts[m] {
                continue;
            }
            self.counts[m] = count;
            let sent = sent.get_or_insert_with(|| self.log.sent.lock().expect("not poisoned"));
            for &(c, at) in &sent[m][self.seen[m]..] {
                if c > count {
                    break;
                }
                self.seen[m] += 1;
                if at >= window.0 && at < window.1 {
                    self.latencies.push(now - at);
                }
            }
        }
    }

    /// Timed edits sent within `window` that never arrived here.
    pub fn missing(&self, window: (Instant, Instant)) -> usize {
        let sent = self.log.sent.lock().expect("not poisoned");
        (0..sent.len())
            .filter(|&m| m != self.me)
            .map(|m| {
                sent[m][self.seen[m]..]
                    .iter()
                    .filter(|&&(_, at)| at >= window.0 && at < window.1)
                    .count()
            })
            .sum()
    }
}
