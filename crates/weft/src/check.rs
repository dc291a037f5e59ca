//! Invariant checks across the document's structures.

use crate::content::Span;
use crate::item_ranges::ItemRanges;
use crate::oplog::{OpKind, OpRun};
use crate::Doc;

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
        // The rest needs every item: check a copy with every page decoded.
        if let Some(hot) = self.thawed().expect("the snapshot's pages decode") {
            return hot.check_invariants();
        }
        assert_eq!(
            self.next_seq.len(),
            self.agents.len(),
            "one counter per replica"
        );
        let log = self.full_log().expect("the snapshot's history decodes");
        let mut next = vec![0u32; self.agents.len()];
        for run in &log.runs {
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
            same_items(&log.runs, self.tree.spans().map(|(s, _)| s)),
            "tree items differ from the log's inserts"
        );
        for run in &log.runs {
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
