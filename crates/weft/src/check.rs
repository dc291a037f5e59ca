//! Invariant checks across the document's structures.

use crate::content::Span;
use crate::oplog::{OpKind, OpRun};
use crate::Doc;

/// The ids of a set of items as maximal ranges `(agent, start, end)`, sorted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ItemRanges(Vec<(u32, u32, u32)>);

impl ItemRanges {
    fn new(it: impl Iterator<Item = (u32, u32, u32)>) -> Self {
        let mut v: Vec<(u32, u32, u32)> = it.collect();
        v.sort_unstable(); // nearly sorted already: linear in practice
        let mut merged: Vec<(u32, u32, u32)> = Vec::with_capacity(v.len());
        for (a, s, e) in v {
            match merged.last_mut() {
                Some(last) if last.0 == a && last.2 == s => last.2 = e,
                _ => merged.push((a, s, e)),
            }
        }
        ItemRanges(merged)
    }

    /// The items the insert runs of `runs` made.
    pub fn inserted_by(runs: &[OpRun]) -> Self {
        ItemRanges::new(
            runs.iter()
                .filter(|r| matches!(r.kind(), OpKind::Insert { .. }))
                .map(|r| (r.agent, r.seq, r.end())),
        )
    }

    /// The items `spans` hold.
    pub fn held_by(spans: impl Iterator<Item = Span>) -> Self {
        ItemRanges::new(spans.map(|s| (s.agent, s.seq, s.end_seq())))
    }

    /// Like `contains`, trying the ranges around `hint` (the range of the
    /// previous answer) before searching: references cluster.
    pub fn contains_near(&self, agent: u32, lo: u32, hi: u32, hint: &mut usize) -> bool {
        let fits = |i: usize| {
            self.0
                .get(i)
                .is_some_and(|&(a, s, e)| a == agent && s <= lo && hi <= e)
        };
        for i in [*hint, hint.wrapping_sub(1), *hint + 1] {
            if fits(i) {
                *hint = i;
                return true;
            }
        }
        let i = self.0.partition_point(|&(a, s, _)| (a, s) <= (agent, lo));
        *hint = i.saturating_sub(1);
        self.contains(agent, lo, hi)
    }

    /// True when items `lo..hi` of `agent` are all in the set.
    pub fn contains(&self, agent: u32, lo: u32, hi: u32) -> bool {
        let i = self.0.partition_point(|&(a, s, _)| (a, s) <= (agent, lo));
        i > 0 && {
            let (a, s, e) = self.0[i - 1];
            a == agent && s <= lo && hi <= e
        }
    }
}

/// True when `spans` hold exactly the items the insert runs of `runs` made,
/// each once.
pub(crate) fn same_items(runs: &[OpRun], spans: impl Iterator<Item = Span>) -> bool {
    ItemRanges::inserted_by(runs) == ItemRanges::held_by(spans)
}

impl Doc {
    /// Verifies every internal invariant and panics with an explanation if one
    /// fails. Called at the end of every property, fuzz and convergence test.
    ///
    /// Checks the tree (see `Tree::check`: balance, summaries, parent and
    /// sibling links, node and leaf sizes, text lengths, the id index) and,
    /// across structures: each replica's operations in the log are numbered
    /// `0..next_seq` without gaps; the tree holds exactly the items the log's
    /// inserts made; every origin and delete target names an item.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.tree.check();
        assert_eq!(
            self.next_seq.len(),
            self.agents.len(),
            "one counter per replica"
        );
        let mut next = vec![0u32; self.agents.len()];
        for run in &self.oplog.runs {
            assert_eq!(
                run.seq, next[run.agent as usize],
                "log of replica {} has a gap or overlap at {:?}",
                run.agent, run
            );
            assert!(run.len > 0, "empty run in the log");
            next[run.agent as usize] = run.end();
        }
        assert_eq!(next, self.next_seq, "log and version disagree");
        assert!(
            same_items(&self.oplog.runs, self.tree.spans().map(|(s, _)| s)),
            "tree items differ from the log's inserts"
        );
        for run in &self.oplog.runs {
            match run.kind() {
                OpKind::Insert { left, right } => {
                    for id in [left, right].into_iter().filter(|i| !i.is_none()) {
                        assert!(
                            self.tree.locate(id.agent(), id.seq()).is_some(),
                            "origin {id:?} of {run:?} is not an item"
                        );
                    }
                }
                OpKind::Delete { target, reversed } => {
                    let (lo, hi) = crate::remote::target_range(target.seq(), reversed, run.len)
                        .expect("valid range");
                    assert!(
                        self.all_items(target.agent(), lo, hi),
                        "delete {run:?} targets a non-item"
                    );
                }
            }
        }
    }
}
