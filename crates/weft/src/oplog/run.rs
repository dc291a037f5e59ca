//! One run of the operation log: operations of one agent with consecutive
//! sequence numbers, the origins of an insert or the target of a delete.

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
    pub(super) fn merged_kind(&self, next: &OpRun) -> Option<OpKind> {
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
fn delete_target(target: LocalId, reversed: bool, skip: u32) -> LocalId {
    let seq = if reversed {
        target.seq() - skip
    } else {
        target.seq() + skip
    };
    LocalId::new(target.agent(), seq)
}
