//! A document's history, apart from its content: who edited (the replica
//! table), how many operations of each replica are applied, the log of
//! every operation (or, after loading a snapshot, its history still
//! encoded), and remote operations waiting for their dependencies.

use crate::content::Tree;
use crate::encoding::ops;
use crate::encoding::Reader;
use crate::id::{AgentTable, LocalId};
use crate::item_ranges::ItemRanges;
use crate::lazy::EncodedHistory;
use crate::oplog::{OpLog, OpRun};
use crate::pending::Pending;
use crate::references::check_references;
use crate::{DecodeError, Error, ReplicaId, Version};
use std::borrow::Cow;

#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    agents: AgentTable,
    /// Per agent, how many of its operations are applied.
    next_seq: Vec<u32>,
    /// Every operation applied, except, while `encoded` is set, those of
    /// the snapshot the document was loaded from.
    log: OpLog,
    /// The history of the snapshot the document was loaded from, until it
    /// is first needed (see `lazy`).
    encoded: Option<Box<EncodedHistory>>,
    pending: Pending,
}

impl History {
    /// A loaded snapshot's history: its replicas with their counts, and its
    /// operations section as stored, decoded when first needed.
    pub fn from_snapshot(replicas: &[(ReplicaId, u32)], section: &[u8]) -> History {
        let mut agents = AgentTable::default();
        agents.add_all(replicas.iter().map(|&(replica, _)| replica));
        let next_seq: Vec<u32> = replicas.iter().map(|&(_, count)| count).collect();
        History {
            agents,
            encoded: Some(Box::new(EncodedHistory::new(section, next_seq.clone()))),
            next_seq,
            log: OpLog::default(),
            pending: Pending::default(),
        }
    }

    /// A copy for reads that need every item: the replicas, counters and
    /// logs, without the waiting operations (reads ignore them).
    pub fn copy_for_reads(&self) -> History {
        History {
            agents: self.agents.clone(),
            next_seq: self.next_seq.clone(),
            log: self.log.clone(),
            encoded: self.encoded.clone(),
            pending: Pending::default(),
        }
    }

    // ---- replicas and counters ----

    /// The agent number of `replica`, added (with no operations) if new.
    pub fn agent(&mut self, replica: ReplicaId) -> u32 {
        let a = self.agents.get_or_add(replica);
        if self.next_seq.len() <= a as usize {
            self.next_seq.resize(a as usize + 1, 0);
        }
        a
    }

    /// Adds every replica of `replicas` not known yet (with no operations),
    /// in one go: see [`AgentTable::add_all`].
    pub fn add_agents(&mut self, replicas: impl IntoIterator<Item = ReplicaId>) {
        self.agents.add_all(replicas);
        self.next_seq.resize(self.agents.len(), 0);
    }

    /// The agent number of `replica`, if it is known.
    pub fn agent_of(&self, replica: ReplicaId) -> Option<u32> {
        self.agents.get(replica)
    }

    pub fn replica(&self, agent: u32) -> ReplicaId {
        self.agents.replica(agent)
    }

    /// Replicas known (each has an agent number below this).
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// How many operations of `agent` are applied: the next one's seq.
    pub fn next_seq(&self, agent: u32) -> u32 {
        self.next_seq[agent as usize]
    }

    /// Per agent, how many of its operations are applied.
    pub fn counters(&self) -> &[u32] {
        &self.next_seq
    }

    /// True for "no id", and for an id whose operation is applied.
    pub fn is_applied(&self, id: LocalId) -> bool {
        id.is_none() || id.seq() < self.next_seq(id.agent())
    }

    /// True when operation `seq` of `replica` is applied.
    pub fn has(&self, replica: ReplicaId, seq: u32) -> bool {
        self.agent_of(replica)
            .is_some_and(|a| seq < self.next_seq(a))
    }

    pub fn version(&self) -> Version {
        self.version_of(&self.next_seq)
    }

    /// The version of `counts` (per agent, how many operations).
    pub fn version_of(&self, counts: &[u32]) -> Version {
        (0..counts.len())
            .map(|a| (self.agents.replica(a as u32), counts[a]))
            .collect()
    }

    /// True before any operation, applied or waiting.
    pub fn is_empty(&self) -> bool {
        self.next_seq.iter().all(|&n| n == 0) && self.pending.is_empty()
    }

    // ---- the log ----

    /// Records an operation run, the next of its replica.
    pub fn record(&mut self, run: OpRun) {
        debug_assert_eq!(run.seq, self.next_seq(run.agent), "runs follow each other");
        self.next_seq[run.agent as usize] = run.end();
        self.log.push(run);
    }

    /// Extends `agent`'s last run, an insert of the items before `seq` with
    /// right origin `right`, by `len` more items, if it is that run.
    pub fn extend_insert(&mut self, agent: u32, seq: u32, right: LocalId, len: u32) -> bool {
        let extended = self.log.extend_insert(agent, seq, right, len);
        if extended {
            self.next_seq[agent as usize] += len;
        }
        extended
    }

    /// Every run of the log, in the order applied (all of them once the
    /// history is decoded).
    pub fn runs(&self) -> impl Iterator<Item = OpRun> + '_ {
        self.log.iter()
    }

    /// The run of the log holding operation `seq` of `agent`; `None` while
    /// it is in the encoded history.
    pub fn run(&self, agent: u32, seq: u32) -> Option<OpRun> {
        self.log.find(agent, seq)
    }

    /// The left and right origins of item `seq` of `agent` and where its run
    /// ends; `None` while that operation is in the encoded history.
    pub fn origins(&self, agent: u32, seq: u32) -> Option<(LocalId, LocalId, u32)> {
        self.log.origins(agent, seq)
    }

    /// Runs in the log (the encoded history's not counted).
    pub fn logged_runs(&self) -> usize {
        self.log.len()
    }

    pub fn log_bytes(&self) -> usize {
        self.log.heap_bytes()
    }

    pub fn heap_bytes(&self) -> usize {
        self.log.heap_bytes()
            + self.encoded.as_ref().map_or(0, |h| h.heap_bytes())
            + self.agents.heap_bytes()
            + self.next_seq.capacity() * 4
    }

    // ---- waiting operations ----

    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    pub fn pending_mut(&mut self) -> &mut Pending {
        &mut self.pending
    }

    // ---- the encoded history of a loaded snapshot ----

    /// The counters a loaded snapshot's pages are checked against: the
    /// snapshot's, not today's (items typed since must not be claimed by a
    /// page).
    pub fn snapshot_counters(&self) -> &[u32] {
        self.encoded.as_ref().map_or(&self.next_seq, |h| &h.ends)
    }

    /// True while a loaded snapshot's history is still encoded.
    #[cfg(test)]
    pub fn is_encoded(&self) -> bool {
        self.encoded.is_some()
    }

    /// The loaded snapshot's operations section, as stored, while it is
    /// still encoded and nothing was applied since: then it is this
    /// history's, its replica table numbered as the agents are. With the
    /// table's length.
    pub fn unchanged_section(&self) -> Option<(&[u8], usize)> {
        let h = self.encoded.as_ref()?;
        let unchanged = self.log.is_empty()
            && self
                .next_seq
                .iter()
                .enumerate()
                .all(|(a, &n)| n == h.ends.get(a).copied().unwrap_or(0));
        unchanged.then(|| (h.section(), h.ends.len()))
    }

    /// True unless the encoded history has operations `known` (per agent)
    /// lacks.
    pub fn covered_by(&self, known: &[u32]) -> bool {
        self.encoded.as_ref().is_none_or(|h| h.covered_by(known))
    }

    /// A log holding every operation that `known` (per agent) lacks: this
    /// one, or a decoded copy when the encoded history is needed. `tree`
    /// holds every item, decoded (the history is checked against them).
    pub fn log_since(&self, known: &[u32], tree: &Tree) -> Result<Cow<'_, OpLog>, Error> {
        match &self.encoded {
            Some(h) if !h.covered_by(known) => Ok(Cow::Owned(self.decode(h, tree)?)),
            _ => Ok(Cow::Borrowed(&self.log)),
        }
    }

    /// Decodes the encoded history, if any, into the log for good.
    pub fn finish_decoding(&mut self, tree: &Tree) -> Result<(), Error> {
        if let Some(h) = &self.encoded {
            self.log = self.decode(h, tree)?;
            self.log.shrink_to_fit();
            self.encoded = None;
        }
        Ok(())
    }

    /// The snapshot's history followed by the edits since, checked against
    /// the items of `tree`.
    fn decode(&self, h: &EncodedHistory, tree: &Tree) -> Result<OpLog, Error> {
        debug_assert_eq!(
            tree.cold_leaves(),
            0,
            "the history is checked against every item"
        );
        let mut r = Reader::new(h.section());
        let section = ops::read_history(&mut r)?;
        r.finish()?;
        if section.texts.iter().any(Option::is_some) {
            return Err(DecodeError::InvalidValue("snapshot operation carries text").into());
        }
        let inserted = ItemRanges::inserted_by(section.runs.iter().copied());
        check_references(&section, &inserted)?;
        let mut log = OpLog::from_runs(section.runs);
        for run in self.log.iter() {
            log.push(run);
        }
        // Without edits since loading, the log inserted what the section did.
        let inserted = if self.log.is_empty() {
            inserted
        } else {
            ItemRanges::inserted_by(log.iter())
        };
        let held = ItemRanges::held_by(tree.spans().map(|(s, _)| s));
        if !inserted.same_as(&held) {
            return Err(
                DecodeError::InvalidValue("spans do not match the inserted characters").into(),
            );
        }
        Ok(log)
    }
}
