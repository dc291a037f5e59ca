//! Invariant checks across the document's structures.

use crate::content::Span;
use crate::item_ranges::ItemRanges;
use crate::oplog::OpRun;
use crate::references::refers_to_items;
use crate::Doc;

/// True when `spans` hold exactly the items the insert runs of `runs` made,
/// each once.
pub(crate) fn same_items(
    runs: impl Iterator<Item = OpRun>,
    spans: impl Iterator<Item = Span>,
) -> bool {
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
    /// inserts made; every origin and delete target names an item; the
    /// deleted text (see `DeletedText::check`) is that of tombstones.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.tree.check();
        self.authors.check();
        // The rest needs every item: check a copy with every page decoded.
        if let Some(hot) = self.thawed().expect("the snapshot's pages decode") {
            return hot.check_invariants();
        }
        assert_eq!(
            self.history.counters().len(),
            self.history.agent_count(),
            "one counter per replica"
        );
        let log = self.full_log().expect("the snapshot's history decodes");
        let mut next = vec![0u32; self.history.agent_count()];
        for run in log.iter() {
            assert_eq!(
                run.seq, next[run.agent as usize],
                "log of replica {} has a gap or overlap at {:?}",
                run.agent, run
            );
            assert!(run.len > 0, "empty run in the log");
            next[run.agent as usize] = run.end();
        }
        assert_eq!(next, self.history.counters(), "log and version disagree");
        assert!(
            same_items(log.iter(), self.tree.spans().map(|(s, _)| s)),
            "tree items differ from the log's inserts"
        );
        for run in log.iter() {
            assert!(
                refers_to_items(&run, &self.tree),
                "{run:?} refers to a non-item"
            );
        }
        self.deleted.check(|agent, seq| {
            self.tree
                .locate(agent, seq)
                .is_some_and(|loc| self.tree.span_at(loc).deleted())
        });
    }
}
