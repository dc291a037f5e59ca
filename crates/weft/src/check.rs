//! Invariant checks across the document's structures.

use crate::content::Span;
use crate::oplog::{OpKind, OpRun};
use crate::Doc;

/// The ids of a set of items: per agent, maximal ranges `starts[i]..ends[i]`
/// sorted by start. Starts and ends sit in separate arrays so a search
/// touches only the starts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ItemRanges {
    agents: Vec<AgentRanges>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct AgentRanges {
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl ItemRanges {
    fn new(it: impl Iterator<Item = (u32, u32, u32)>) -> Self {
        let mut per_agent: Vec<Vec<(u32, u32)>> = Vec::new();
        for (a, s, e) in it {
            let a = a as usize;
            if per_agent.len() <= a {
                per_agent.resize_with(a + 1, Vec::new);
            }
            per_agent[a].push((s, e));
        }
        let agents = per_agent
            .into_iter()
            .map(|mut ranges| {
                // Runs of one agent come in order already; spans do not.
                if !ranges.is_sorted_by_key(|r| r.0) {
                    crate::radix::sort_by_u32_key(&mut ranges, |r| r.0);
                }
                let mut out = AgentRanges::default();
                for (s, e) in ranges {
                    match out.ends.last_mut() {
                        Some(last) if *last == s => *last = e,
                        _ => {
                            out.starts.push(s);
                            out.ends.push(e);
                        }
                    }
                }
                out
            })
            .collect();
        ItemRanges { agents }
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

    /// True when the two sets are equal (agents without items count as absent).
    pub fn same_as(&self, other: &ItemRanges) -> bool {
        let empty = AgentRanges::default();
        let n = self.agents.len().max(other.agents.len());
        (0..n)
            .all(|a| self.agents.get(a).unwrap_or(&empty) == other.agents.get(a).unwrap_or(&empty))
    }

    /// Like `contains`, trying the ranges around `hint` (the range of the
    /// previous answer) before searching: references cluster.
    pub fn contains_near(&self, agent: u32, lo: u32, hi: u32, hint: &mut usize) -> bool {
        let Some(r) = self.agents.get(agent as usize) else {
            return false;
        };
        let fits = |i: usize| i < r.starts.len() && r.starts[i] <= lo && hi <= r.ends[i];
        for i in [*hint, hint.wrapping_sub(1), *hint + 1] {
            if fits(i) {
                *hint = i;
                return true;
            }
        }
        let i = r.starts.partition_point(|&s| s <= lo);
        *hint = i.wrapping_sub(1);
        fits(*hint)
    }
}

/// True when `spans` hold exactly the items the insert runs of `runs` made,
/// each once.
pub(crate) fn same_items(runs: &[OpRun], spans: impl Iterator<Item = Span>) -> bool {
    ItemRanges::inserted_by(runs).same_as(&ItemRanges::held_by(spans))
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
