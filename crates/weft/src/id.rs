//! Replica ids, character ids and the table that maps replica ids to the
//! small local numbers used inside one document.

use std::collections::BTreeMap;

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
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentTable {
    ids: Vec<ReplicaId>,
    by_id: BTreeMap<ReplicaId, u32>,
}

impl AgentTable {
    pub fn get(&self, replica: ReplicaId) -> Option<u32> {
        self.by_id.get(&replica).copied()
    }

    pub fn get_or_add(&mut self, replica: ReplicaId) -> u32 {
        if let Some(a) = self.get(replica) {
            return a;
        }
        let a = self.ids.len() as u32;
        self.ids.push(replica);
        self.by_id.insert(replica, a);
        a
    }

    pub fn replica(&self, agent: u32) -> ReplicaId {
        self.ids[agent as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8 + self.by_id.len() * 24
    }
}
