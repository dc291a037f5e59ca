//! The tree's invariant checks.

use super::ids::{LeafId, NodeId};
use super::leaf::{LEAF_BYTES, LEAF_SPANS};
use super::summary::Summary;
use super::tree::{Tree, FANOUT};
use crate::unit::TextMetrics;

impl Tree {
    /// Panics unless: every internal node has 1..=FANOUT children (only the
    /// root may have one) whose stored summaries equal their real ones; parent
    /// links and heights agree and all leaves are at one depth; each leaf has
    /// at most LEAF_SPANS non-empty spans and LEAF_BYTES of text, exactly as
    /// many characters of text as visible items, and is non-empty unless it is
    /// the only leaf; the prev/next chain visits leaves in tree order; and the
    /// id index maps both ends of every span to its leaf. A cold leaf (a page
    /// not decoded yet) holds no spans and text of the length its directory
    /// entry gives, of any size, or none while its text is still deflated
    /// (then its declared sizes count, and once read its text has them).
    pub fn check(&self) {
        assert_eq!(self.node(self.root).parent, None, "the root has no parent");
        let mut order = Vec::new();
        let (total, _) = self.check_node(self.root, &mut order);
        assert_eq!(total, self.total(), "cached total is stale");
        self.check_finger();
        let chain: Vec<LeafId> = self.leaves_in_order().map(|(id, _)| id).collect();
        assert_eq!(chain, order, "leaf chain differs from tree order");
        let mut prev = None;
        for &l in &chain {
            assert_eq!(self.leaf(l).prev, prev, "leaf {l} has a wrong prev link");
            prev = Some(l);
        }
        let cold = order.iter().filter(|&&l| self.is_cold(l)).count();
        assert_eq!(cold as u32, self.cold_leaves(), "cold leaf count is stale");
        for &l in &order {
            let leaf = self.leaf(l);
            if let Some(c) = &leaf.cold {
                // A page whose spans are still encoded: only its text is here.
                assert!(leaf.spans.is_empty(), "cold leaf {l} holds spans");
                let metrics = match &c.text {
                    // Still deflated: its declared sizes, and once read
                    // (if it was valid), its text is of those sizes.
                    Some(t) => {
                        assert!(leaf.text.is_empty(), "cold leaf {l} holds two texts");
                        if let Some(text) = t.if_read() {
                            assert_eq!(
                                TextMetrics::of(text),
                                t.metrics(),
                                "cold leaf {l}: text and sizes differ"
                            );
                        }
                        t.metrics()
                    }
                    None => TextMetrics::of(&leaf.text),
                };
                assert_eq!(
                    metrics.chars, c.chars,
                    "cold leaf {l}: text and directory differ"
                );
                continue;
            }
            assert!(
                leaf.spans.len() <= LEAF_SPANS,
                "leaf {l} holds {} spans",
                leaf.spans.len()
            );
            assert!(
                leaf.text.len() <= LEAF_BYTES,
                "leaf {l} holds {} bytes",
                leaf.text.len()
            );
            assert!(
                !leaf.spans.is_empty() || order.len() == 1,
                "leaf {l} is empty"
            );
            let visible: u32 = leaf.spans.iter().map(|s| s.visible()).sum();
            assert_eq!(
                TextMetrics::of(&leaf.text).chars,
                visible,
                "leaf {l}: text and visible items differ"
            );
            for s in &leaf.spans {
                assert!(s.len() > 0, "empty span in leaf {l}");
                assert_eq!(
                    self.index().get(s.agent, s.seq),
                    Some(l),
                    "index: start of {s:?} not in leaf {l}"
                );
                assert_eq!(
                    self.index().get(s.agent, s.end_seq() - 1),
                    Some(l),
                    "index: end of {s:?} not in leaf {l}"
                );
            }
        }
        assert_eq!(order.len(), self.leaves.len(), "unreachable leaves");
    }

    /// Checks the subtree at `n`, appends its leaves, returns its summary and height.
    fn check_node(&self, n: NodeId, order: &mut Vec<LeafId>) -> (Summary, u8) {
        let node = self.node(n);
        assert!(!node.children.is_empty(), "node {n} has no children");
        assert!(
            node.children.len() <= FANOUT,
            "node {n} has {} children",
            node.children.len()
        );
        assert_eq!(
            node.children.len(),
            node.sums.len(),
            "node {n}: children and sums differ in count"
        );
        let mut total = Summary::default();
        let pending = self.pending_of(n);
        for (slot, (&c, stored)) in node.children.iter().zip(&node.sums).enumerate() {
            let mut stored = *stored;
            if let Some((_, p)) = pending.filter(|&(s, _)| s == slot) {
                stored.add(&p);
            }
            let stored = &stored;
            let real = if node.height == 1 {
                let c = c.leaf();
                let leaf = self.leaf(c);
                assert_eq!(leaf.parent, n, "leaf {c} has a wrong parent");
                order.push(c);
                leaf.summary()
            } else {
                let c = c.node();
                let child = self.node(c);
                assert_eq!(child.parent, Some(n), "node {c} has a wrong parent");
                let (s, h) = self.check_node(c, order);
                assert_eq!(h + 1, node.height, "node {c} is at the wrong height");
                s
            };
            assert_eq!(
                *stored, real,
                "node {n}: stored summary of child {c} is stale"
            );
            total.add(&real);
        }
        (total, node.height)
    }
}
