//! The operation log: every operation the document has seen, run-length
//! encoded, in the order it was applied (a causal order). Inserts keep the
//! origins the merge rule needs; deletes keep their targets. Text is not kept
//! here: visible text lives in the content tree, deleted text elsewhere.
//!
//! The newest runs are kept decoded (appending merges into the last one);
//! older ones are encoded in chunks (`frozen`), a few bytes a run instead of
//! 28, since the log lives as long as the document and is mostly appended to.

mod frozen;
mod run;

pub use run::{renumber, OpKind, OpRun};

use crate::id::LocalId;
use frozen::{Frozen, CHUNK};

/// Decoded runs at most: past this, the oldest chunk of them is encoded.
const TAIL_MAX: usize = 3 * CHUNK;

#[derive(Debug, Clone, Default)]
pub struct OpLog {
    /// Runs `0..frozen.len()`, encoded.
    frozen: Frozen,
    /// The runs after those, decoded: never empty unless the log is (at
    /// least `TAIL_MAX - CHUNK` stay decoded), so its first run names the
    /// agent of a log by one agent.
    tail: Vec<OpRun>,
    /// Per agent, where each of its runs starts, in sequence order. Empty
    /// while every run is by one agent (the common case of a document
    /// edited alone): the log itself is then in sequence order.
    by_agent: Vec<Vec<Start>>,
}

/// A run's first sequence number and its index in the log.
#[derive(Debug, Clone, Copy)]
struct Start {
    seq: u32,
    index: u32,
}

impl OpLog {
    /// A log of `runs`, in a causal order, as decoded (each agent's runs
    /// numbered without gaps: the decoder checks that).
    pub fn from_runs(runs: Vec<OpRun>) -> Self {
        let mut log = OpLog::default();
        let keep = runs.len().min(TAIL_MAX - CHUNK);
        let frozen = (runs.len() - keep) / CHUNK * CHUNK;
        for chunk in runs[..frozen].chunks(CHUNK) {
            log.frozen.push_chunk(chunk);
        }
        log.tail = runs[frozen..].to_vec();
        if runs.iter().any(|r| r.agent != runs[0].agent) {
            log.by_agent = Self::agent_index(runs.iter().copied());
        }
        log
    }

    /// Runs in the log.
    pub fn len(&self) -> usize {
        self.frozen.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives back what growing left unused (a decoded history is kept
    /// long, and mostly read).
    pub fn shrink_to_fit(&mut self) {
        self.frozen.shrink_to_fit();
        for list in &mut self.by_agent {
            list.shrink_to_fit();
        }
    }

    /// Appends a run, merging it into the last one when it continues it.
    pub fn push(&mut self, run: OpRun) {
        if let Some(last) = self.tail.last_mut() {
            if let Some(kind) = last.merged_kind(&run) {
                last.set_kind(kind);
                last.len += run.len;
                return;
            }
        }
        if self.by_agent.is_empty() && self.tail.first().is_some_and(|r| r.agent != run.agent) {
            // Read from the log as it is (no copy of its runs decoded).
            let index = Self::agent_index(self.iter());
            self.by_agent = index;
        }
        if !self.by_agent.is_empty() {
            let start = Start {
                seq: run.seq,
                index: self.len() as u32,
            };
            Self::list_of(&mut self.by_agent, run.agent).push(start);
        }
        if self.tail.len() == TAIL_MAX || self.tail.capacity() == 0 {
            self.make_room();
        }
        self.tail.push(run);
    }

    /// Encodes the oldest chunk of decoded runs, or gives the first its
    /// room. Out of line: once every 64 runs, and `push` is hot.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) {
        if self.tail.len() == TAIL_MAX {
            self.frozen.push_chunk(&self.tail[..CHUNK]);
            self.tail.drain(..CHUNK);
        }
        if self.tail.capacity() == 0 {
            self.tail.reserve_exact(TAIL_MAX);
        }
    }

    /// Grows the last run by `len` items when it is an insert by `agent`
    /// ending at `seq` with right origin `right`: what an insert typed right
    /// after it, before the same item, would merge into. Returns whether it did.
    pub fn extend_insert(&mut self, agent: u32, seq: u32, right: LocalId, len: u32) -> bool {
        let Some(last) = self.tail.last_mut() else {
            return false;
        };
        let continues = last.agent == agent
            && last.end() == seq
            && matches!(last.kind(), OpKind::Insert { right: r, .. } if r == right);
        if continues {
            last.len += len;
        }
        continues
    }

    /// Per agent, where each of its runs in `runs` (a whole log) starts.
    fn agent_index(runs: impl Iterator<Item = OpRun>) -> Vec<Vec<Start>> {
        let mut by_agent = Vec::new();
        for (index, r) in runs.enumerate() {
            let start = Start {
                seq: r.seq,
                index: index as u32,
            };
            Self::list_of(&mut by_agent, r.agent).push(start);
        }
        by_agent
    }

    fn list_of(by_agent: &mut Vec<Vec<Start>>, agent: u32) -> &mut Vec<Start> {
        let a = agent as usize;
        if by_agent.len() <= a {
            by_agent.resize_with(a + 1, Vec::new);
        }
        &mut by_agent[a]
    }

    /// Run `index` of the log.
    fn get(&self, index: usize) -> OpRun {
        match index.checked_sub(self.frozen.len()) {
            Some(i) => self.tail[i],
            None => self.frozen.get(index),
        }
    }

    /// The run holding operation `(agent, seq)`.
    pub fn find(&self, agent: u32, seq: u32) -> Option<OpRun> {
        let run = if self.by_agent.is_empty() {
            if self.tail.first()?.agent != agent {
                return None;
            }
            match self.tail.first() {
                Some(first) if first.seq <= seq => {
                    let i = self.tail.partition_point(|r| r.seq <= seq);
                    self.tail[i - 1]
                }
                _ => {
                    let k = self.frozen.chunk_of_seq(seq)?;
                    self.frozen.scan(k, |_, r| seq < r.end())
                }
            }
        } else {
            let list = self.by_agent.get(agent as usize)?;
            let i = list.partition_point(|s| s.seq <= seq);
            self.get(list.get(i.checked_sub(1)?)?.index as usize)
        };
        (run.seq <= seq && seq < run.end()).then_some(run)
    }

    /// Origins `(left, right)` of item `(agent, seq)`; `None` if it is not an
    /// inserted item.
    pub fn origins(&self, agent: u32, seq: u32) -> Option<(LocalId, LocalId, u32)> {
        let run = self.find(agent, seq)?;
        match run.kind() {
            OpKind::Insert { left, right } => {
                let l = if seq == run.seq {
                    left
                } else {
                    LocalId::new(agent, seq - 1)
                };
                Some((l, right, run.end()))
            }
            OpKind::Delete { .. } => None,
        }
    }

    /// Every run with operations not in `version` (given per agent), in
    /// log order.
    pub fn runs_since(&self, version: &[u32]) -> Vec<OpRun> {
        let known = |a: u32| version.get(a as usize).copied().unwrap_or(0);
        if self.by_agent.is_empty() {
            let Some(first) = self.tail.first() else {
                return Vec::new();
            };
            let k = known(first.agent);
            let from = match self.tail.first() {
                Some(t) if t.seq <= k => self.frozen.len(),
                _ => self.frozen.chunk_of_seq(k).unwrap_or(0) * CHUNK,
            };
            return self.runs_from(from).filter(|r| r.end() > k).collect();
        }
        let mut indices = Vec::new();
        for (a, list) in self.by_agent.iter().enumerate() {
            let k = known(a as u32);
            // The run holding `k`, if any, and every one after it.
            let i = list.partition_point(|s| s.seq <= k).saturating_sub(1);
            let from = match list.get(i) {
                Some(s) if self.get(s.index as usize).end() <= k => i + 1,
                _ => i,
            };
            indices.extend(list[from.min(list.len())..].iter().map(|s| s.index));
        }
        crate::radix::sort_by_u64_key(&mut indices, |&i| u64::from(i));
        let mut chunk = (usize::MAX, Vec::new());
        indices
            .into_iter()
            .map(|i| {
                let i = i as usize;
                if i >= self.frozen.len() {
                    return self.tail[i - self.frozen.len()];
                }
                if chunk.0 != i / CHUNK {
                    chunk.0 = i / CHUNK;
                    self.frozen.decode_chunk(chunk.0, &mut chunk.1);
                }
                chunk.1[i % CHUNK]
            })
            .collect()
    }

    /// Every run, in log order.
    pub fn iter(&self) -> Runs<'_> {
        self.runs_from(0)
    }

    /// The runs from index `from` (a chunk's first, or past the frozen ones).
    fn runs_from(&self, from: usize) -> Runs<'_> {
        Runs {
            log: self,
            next: from,
            chunk: Vec::new(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.frozen.heap_bytes()
            + self.tail.capacity() * std::mem::size_of::<OpRun>()
            + self
                .by_agent
                .iter()
                .map(|l| l.capacity() * std::mem::size_of::<Start>() + 24)
                .sum::<usize>()
    }
}

/// The log's runs in order, frozen ones decoded a chunk at a time.
pub struct Runs<'a> {
    log: &'a OpLog,
    next: usize,
    chunk: Vec<OpRun>,
}

impl Iterator for Runs<'_> {
    type Item = OpRun;

    fn next(&mut self) -> Option<OpRun> {
        let i = self.next;
        let frozen = self.log.frozen.len();
        let run = if i >= frozen {
            *self.log.tail.get(i - frozen)?
        } else {
            if i % CHUNK == 0 || self.chunk.is_empty() {
                self.log.frozen.decode_chunk(i / CHUNK, &mut self.chunk);
            }
            self.chunk[i % CHUNK]
        };
        self.next += 1;
        Some(run)
    }
}
