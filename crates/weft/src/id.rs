//! Replica ids, character ids and the table that maps replica ids to the
//! small local numbers used inside one document.

use crate::radix::sort_by_u64_key;

/// Identifies one replica (one editing session) of a document. Must be unique
/// among all replicas that ever edit the document; pick it at random.
pub type ReplicaId = u64;

/// Globally unique id of one operation (and of the character an insert made):
/// the replica that made it and that replica's sequence number for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId {
    /// The replica that made the operation.
    pub replica: ReplicaId,
    /// Counter within that replica, starting at 0, one per character inserted
    /// or deleted.
    pub seq: u32,
}

/// An id inside one document: a local agent number and a sequence number.
/// `NONE` stands for "no character" (the start or end of the document as an
/// origin). Two `u32`s rather than a `u64` so structures holding ids pack to
/// 4-byte alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LocalId {
    agent: u32,
    seq: u32,
}

impl LocalId {
    pub const NONE: LocalId = LocalId {
        agent: u32::MAX,
        seq: u32::MAX,
    };

    pub fn new(agent: u32, seq: u32) -> Self {
        LocalId { agent, seq }
    }
    pub fn agent(self) -> u32 {
        self.agent
    }
    pub fn seq(self) -> u32 {
        self.seq
    }
    pub fn is_none(self) -> bool {
        self == LocalId::NONE
    }
    pub fn some(self) -> Option<LocalId> {
        (!self.is_none()).then_some(self)
    }
}

/// Maps replica ids to dense local agent numbers and back.
///
/// Lookups by replica go through two sorted vectors rather than a
/// `BTreeMap` (the module carries one map type fewer, about 1.5 KB of
/// gzipped wasm): `sorted`, and the replicas added since it was last
/// rebuilt, `recent`, kept small (about the square root of the total), so
/// adding one replica costs about that many moves even when a hostile peer
/// sends a million replicas one update at a time. Many at once go through
/// [`add_all`](Self::add_all): one sort.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentTable {
    ids: Vec<ReplicaId>,
    sorted: Vec<(ReplicaId, u32)>,
    recent: Vec<(ReplicaId, u32)>,
}

fn find(entries: &[(ReplicaId, u32)], replica: ReplicaId) -> Result<usize, usize> {
    entries.binary_search_by_key(&replica, |&(r, _)| r)
}

impl AgentTable {
    pub fn get(&self, replica: ReplicaId) -> Option<u32> {
        [&self.sorted, &self.recent]
            .into_iter()
            .find_map(|entries| find(entries, replica).ok().map(|i| entries[i].1))
    }

    pub fn get_or_add(&mut self, replica: ReplicaId) -> u32 {
        if let Some(a) = self.get(replica) {
            return a;
        }
        let a = self.ids.len() as u32;
        self.ids.push(replica);
        if let Err(i) = find(&self.recent, replica) {
            self.recent.insert(i, (replica, a));
        }
        if self.recent.len().pow(2) > self.ids.len().max(1024) {
            self.rebuild();
        }
        a
    }

    /// Adds every replica of `replicas` not known yet, numbered in order of
    /// first appearance, as `get_or_add` one by one would, in one sort.
    pub fn add_all(&mut self, replicas: impl IntoIterator<Item = ReplicaId>) {
        // A batch's operations come in runs of one replica: one lookup per
        // run, not per operation (this is on every merge's path).
        let mut last = None;
        let fresh: Vec<ReplicaId> = replicas
            .into_iter()
            .filter(|&r| last.replace(r) != Some(r) && self.get(r).is_none())
            .collect();
        if fresh.len() <= 16 {
            for r in fresh {
                self.get_or_add(r);
            }
            return;
        }
        // Each new replica once, where it first appears (a stable sort
        // keeps the first of equal ones first).
        let mut firsts: Vec<(ReplicaId, u32)> = fresh
            .iter()
            .enumerate()
            .map(|(i, &r)| (r, i as u32))
            .collect();
        sort_by_u64_key(&mut firsts, |&(r, _)| r);
        firsts.dedup_by_key(|&mut (r, _)| r);
        sort_by_u64_key(&mut firsts, |&(_, at)| u64::from(at));
        for (r, _) in firsts {
            let a = self.ids.len() as u32;
            self.ids.push(r);
            self.recent.push((r, a));
        }
        self.rebuild();
    }

    /// Folds `recent` into `sorted`.
    fn rebuild(&mut self) {
        self.sorted.append(&mut self.recent);
        sort_by_u64_key(&mut self.sorted, |&(r, _)| r);
    }

    pub fn replica(&self, agent: u32) -> ReplicaId {
        self.ids[agent as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8 + (self.sorted.capacity() + self.recent.capacity()) * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    /// Whichever way replicas are added (one by one, in batches, repeated),
    /// each gets the number of its first appearance, and every lookup
    /// finds it.
    #[test]
    fn numbers_replicas_in_order_of_first_appearance() {
        let mut rng = Rng::new(3);
        let mut table = AgentTable::default();
        let mut expected: Vec<ReplicaId> = Vec::new();
        for round in 0..300 {
            let n = if round % 10 == 0 { 200 } else { 3 };
            let batch: Vec<ReplicaId> = (0..n)
                .map(|_| {
                    // Repeats, of earlier replicas and within the batch.
                    if !expected.is_empty() && rng.below(4) == 0 {
                        expected[rng.below(expected.len())]
                    } else {
                        rng.below(5_000) as ReplicaId
                    }
                })
                .collect();
            for &r in &batch {
                if !expected.contains(&r) {
                    expected.push(r);
                }
            }
            if round % 2 == 0 {
                table.add_all(batch);
            } else {
                for r in batch {
                    table.get_or_add(r);
                }
            }
            assert_eq!(table.len(), expected.len());
        }
        for (a, &r) in expected.iter().enumerate() {
            assert_eq!(table.get(r), Some(a as u32));
            assert_eq!(table.replica(a as u32), r);
        }
        assert_eq!(table.get(5_000), None);
    }
}
