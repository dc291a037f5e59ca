//! The operation log: every operation the document has seen, run-length
//! encoded, in the order it was applied (a causal order). Inserts keep the
//! origins the merge rule needs; deletes keep their targets. Text is not kept
//! here: visible text lives in the content tree, deleted text is dropped.

use crate::id::LocalId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Items `seq..seq+len`; item `seq` has origin `left`, each later one the
    /// item before it; all share origin `right`.
    Insert { left: LocalId, right: LocalId },
    /// Deletes `len` items of one agent: `target`, then the next ones (or the
    /// previous ones when `reversed`, as backspacing makes them).
    Delete { target: LocalId, reversed: bool },
}

/// A run of operations by one agent with consecutive sequence numbers.
/// 28 bytes: the kind is packed into the two ids (a delete's second id is a
/// marker no agent number reaches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpRun {
    pub agent: u32,
    pub seq: u32,
    pub len: u32,
    ids: [LocalId; 2],
}

/// Second id of a delete run: agent `DELETE_MARK`, seq 1 when reversed.
const DELETE_MARK: u32 = u32::MAX - 1;

impl OpRun {
    pub fn new(agent: u32, seq: u32, len: u32, kind: OpKind) -> Self {
        let mut run = OpRun {
            agent,
            seq,
            len,
            ids: [LocalId::NONE; 2],
        };
        run.set_kind(kind);
        run
    }

    pub fn kind(&self) -> OpKind {
        let [a, b] = self.ids;
        if b.agent() == DELETE_MARK {
            OpKind::Delete {
                target: a,
                reversed: b.seq() == 1,
            }
        } else {
            OpKind::Insert { left: a, right: b }
        }
    }

    pub fn set_kind(&mut self, kind: OpKind) {
        self.ids = match kind {
            OpKind::Insert { left, right } => [left, right],
            OpKind::Delete { target, reversed } => {
                [target, LocalId::new(DELETE_MARK, u32::from(reversed))]
            }
        };
    }

    pub fn end(&self) -> u32 {
        self.seq + self.len
    }

    /// The part of this run from `seq` on (`seq` inside the run).
    pub fn suffix(&self, seq: u32) -> OpRun {
        let skip = seq - self.seq;
        let kind = match self.kind() {
            OpKind::Insert { left, right } => OpKind::Insert {
                left: if skip == 0 {
                    left
                } else {
                    LocalId::new(self.agent, seq - 1)
                },
                right,
            },
            OpKind::Delete { target, reversed } => OpKind::Delete {
                target: delete_target(target, reversed, skip),
                reversed,
            },
        };
        OpRun::new(self.agent, seq, self.len - skip, kind)
    }

    /// The first `len` operations of this run.
    pub fn prefix(&self, len: u32) -> OpRun {
        OpRun { len, ..*self }
    }

    /// If `next` continues this run (so the two can be stored as one), the
    /// merged run's kind.
    fn merged_kind(&self, next: &OpRun) -> Option<OpKind> {
        if next.agent != self.agent || next.seq != self.end() {
            return None;
        }
        match (self.kind(), next.kind()) {
            (OpKind::Insert { right: r1, .. }, OpKind::Insert { left, right: r2 }) => (r1 == r2
                && left == LocalId::new(self.agent, self.end() - 1))
            .then_some(self.kind()),
            (
                OpKind::Delete {
                    target: t1,
                    reversed: rev1,
                },
                OpKind::Delete {
                    target: t2,
                    reversed: rev2,
                },
            ) => {
                if t1.agent() != t2.agent() {
                    return None;
                }
                let (one, next_one) = (self.len == 1, next.len == 1);
                let forward = (!rev1 || one)
                    && (!rev2 || next_one)
                    && t1.seq().checked_add(self.len) == Some(t2.seq());
                let backward = (rev1 || one)
                    && (rev2 || next_one)
                    && t1.seq().checked_sub(self.len) == Some(t2.seq());
                match (forward, backward) {
                    (true, _) => Some(OpKind::Delete {
                        target: t1,
                        reversed: false,
                    }),
                    (_, true) => Some(OpKind::Delete {
                        target: t1,
                        reversed: true,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Renumbers the agents a run names (its own and those of its references).
pub fn renumber(run: &mut OpRun, map: &mut dyn FnMut(u32) -> u32) {
    let mut re = |id: LocalId| {
        if id.is_none() {
            id
        } else {
            LocalId::new(map(id.agent()), id.seq())
        }
    };
    let kind = match run.kind() {
        OpKind::Insert { left, right } => OpKind::Insert {
            left: re(left),
            right: re(right),
        },
        OpKind::Delete { target, reversed } => OpKind::Delete {
            target: re(target),
            reversed,
        },
    };
    run.set_kind(kind);
    run.agent = map(run.agent);
}

/// The target of the `skip`-th deletion of a delete run.
pub fn delete_target(target: LocalId, reversed: bool, skip: u32) -> LocalId {
    let seq = if reversed {
        target.seq() - skip
    } else {
        target.seq() + skip
    };
    LocalId::new(target.agent(), seq)
}

#[derive(Debug, Clone, Default)]
pub struct OpLog {
    pub runs: Vec<OpRun>,
    /// Per agent, the indices of its runs in `runs`, in sequence order.
    /// Empty while every run is by one agent (the common case of a document
    /// edited alone): `runs` itself is then in sequence order.
    by_agent: Vec<Vec<u32>>,
}

impl OpLog {
    /// A log of `runs`, in a causal order, as decoded (each agent's runs
    /// numbered without gaps: the decoder checks that).
    pub fn from_runs(runs: Vec<OpRun>) -> Self {
        let mut log = OpLog {
            runs,
            by_agent: Vec::new(),
        };
        if log.runs.iter().any(|r| r.agent != log.runs[0].agent) {
            for (i, r) in log.runs.iter().enumerate() {
                Self::list_of(&mut log.by_agent, r.agent).push(i as u32);
            }
        }
        log
    }

    /// Gives back what growing left unused (a decoded history is kept
    /// long, and mostly read).
    pub fn shrink_to_fit(&mut self) {
        self.runs.shrink_to_fit();
        for list in &mut self.by_agent {
            list.shrink_to_fit();
        }
    }

    /// Appends a run, merging it into the last one when it continues it.
    pub fn push(&mut self, run: OpRun) {
        if let Some(last) = self.runs.last_mut() {
            if let Some(kind) = last.merged_kind(&run) {
                last.set_kind(kind);
                last.len += run.len;
                return;
            }
        }
        let single = self.by_agent.is_empty();
        if single && self.runs.first().is_some_and(|r| r.agent != run.agent) {
            for (i, r) in self.runs.iter().enumerate() {
                Self::list_of(&mut self.by_agent, r.agent).push(i as u32);
            }
        }
        if !self.by_agent.is_empty() {
            Self::list_of(&mut self.by_agent, run.agent).push(self.runs.len() as u32);
        }
        if self.runs.len() == self.runs.capacity() {
            // By a quarter: the log lives as long as the document, and
            // doubling would leave up to half of it unused. Over the log's
            // life that copies about four times its size, against twice.
            self.runs.reserve_exact((self.runs.len() / 4).max(64));
        }
        self.runs.push(run);
    }

    /// Grows the last run by `len` items when it is an insert by `agent`
    /// ending at `seq` with right origin `right`: what an insert typed right
    /// after it, before the same item, would merge into. Returns whether it did.
    pub fn extend_insert(&mut self, agent: u32, seq: u32, right: LocalId, len: u32) -> bool {
        let Some(last) = self.runs.last_mut() else {
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

    fn list_of(by_agent: &mut Vec<Vec<u32>>, agent: u32) -> &mut Vec<u32> {
        let a = agent as usize;
        if by_agent.len() <= a {
            by_agent.resize_with(a + 1, Vec::new);
        }
        &mut by_agent[a]
    }

    /// The run holding operation `(agent, seq)`.
    pub fn find(&self, agent: u32, seq: u32) -> Option<&OpRun> {
        let run = if self.by_agent.is_empty() {
            if self.runs.first()?.agent != agent {
                return None;
            }
            let i = self.runs.partition_point(|r| r.seq <= seq);
            &self.runs[i.checked_sub(1)?]
        } else {
            let list = self.by_agent.get(agent as usize)?;
            let i = list.partition_point(|&r| self.runs[r as usize].seq <= seq);
            &self.runs[*list.get(i.checked_sub(1)?)? as usize]
        };
        (seq < run.end()).then_some(run)
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

    /// Indices into `runs` of every run with operations not in `version`
    /// (given per agent), in log order.
    pub fn runs_since(&self, version: &[u32]) -> Vec<u32> {
        let known = |a: u32| version.get(a as usize).copied().unwrap_or(0);
        if self.by_agent.is_empty() {
            let Some(first) = self.runs.first() else {
                return Vec::new();
            };
            let k = known(first.agent);
            let i = self.runs.partition_point(|r| r.end() <= k);
            return (i as u32..self.runs.len() as u32).collect();
        }
        let mut out = Vec::new();
        for (a, list) in self.by_agent.iter().enumerate() {
            let k = known(a as u32);
            let i = list.partition_point(|&r| self.runs[r as usize].end() <= k);
            out.extend_from_slice(&list[i..]);
        }
        crate::radix::sort_by_u64_key(&mut out, |&i| u64::from(i));
        out
    }

    pub fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<OpRun>()
            + self
                .by_agent
                .iter()
                .map(|l| l.capacity() * 4 + 24)
                .sum::<usize>()
    }
}
