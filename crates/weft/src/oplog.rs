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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpRun {
    pub agent: u32,
    pub seq: u32,
    pub len: u32,
    pub kind: OpKind,
}

impl OpRun {
    pub fn end(&self) -> u32 {
        self.seq + self.len
    }

    /// The part of this run from `seq` on (`seq` inside the run).
    pub fn suffix(&self, seq: u32) -> OpRun {
        let skip = seq - self.seq;
        let kind = match self.kind {
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
        OpRun {
            agent: self.agent,
            seq,
            len: self.len - skip,
            kind,
        }
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
        match (self.kind, next.kind) {
            (OpKind::Insert { right: r1, .. }, OpKind::Insert { left, right: r2 }) => {
                (r1 == r2 && left == LocalId::new(self.agent, self.end() - 1)).then_some(self.kind)
            }
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
    run.kind = match run.kind {
        OpKind::Insert { left, right } => OpKind::Insert {
            left: re(left),
            right: re(right),
        },
        OpKind::Delete { target, reversed } => OpKind::Delete {
            target: re(target),
            reversed,
        },
    };
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
    by_agent: Vec<Vec<u32>>,
}

impl OpLog {
    /// Appends a run, merging it into the last one when it continues it.
    pub fn push(&mut self, run: OpRun) {
        let a = run.agent as usize;
        if self.by_agent.len() <= a {
            self.by_agent.resize_with(a + 1, Vec::new);
        }
        if let Some(&last_i) = self.by_agent[a].last() {
            if last_i as usize == self.runs.len() - 1 {
                let last = &mut self.runs[last_i as usize];
                if let Some(kind) = last.merged_kind(&run) {
                    last.kind = kind;
                    last.len += run.len;
                    return;
                }
            }
        }
        self.by_agent[a].push(self.runs.len() as u32);
        self.runs.push(run);
    }

    /// The run holding operation `(agent, seq)`.
    pub fn find(&self, agent: u32, seq: u32) -> Option<&OpRun> {
        let list = self.by_agent.get(agent as usize)?;
        let i = list.partition_point(|&r| self.runs[r as usize].seq <= seq);
        let run = &self.runs[*list.get(i.checked_sub(1)?)? as usize];
        (seq < run.end()).then_some(run)
    }

    /// Origins `(left, right)` of item `(agent, seq)`; `None` if it is not an
    /// inserted item.
    pub fn origins(&self, agent: u32, seq: u32) -> Option<(LocalId, LocalId, u32)> {
        let run = self.find(agent, seq)?;
        match run.kind {
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
        let mut out = Vec::new();
        for (a, list) in self.by_agent.iter().enumerate() {
            let known = version.get(a).copied().unwrap_or(0);
            let i = list.partition_point(|&r| self.runs[r as usize].end() <= known);
            out.extend_from_slice(&list[i..]);
        }
        out.sort_unstable();
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
