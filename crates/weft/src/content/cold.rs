//! Cold leaves: the pages of a loaded snapshot whose spans are still
//! encoded. Each holds its page's text and column; the tree over them is
//! built at load, and a page splits into ordinary leaves when it thaws.

use super::ids::{Child, LeafId, NodeId};
use super::leaf::{ColdSpans, Leaf};
use super::span::Span;
use super::summary::Summary;
use super::tree::{Node, Tree, FANOUT};
use crate::unit::TextMetrics;
use std::cell::OnceCell;

impl Tree {
    /// A tree over `leaves`, in document order (links and parents are set
    /// here), packing nodes three quarters full. Used when loading a
    /// snapshot, whose pages start as cold leaves.
    pub fn from_leaves(mut leaves: Vec<Leaf>) -> Tree {
        if leaves.is_empty() {
            return Tree::default();
        }
        let count = leaves.len();
        for (i, leaf) in leaves.iter_mut().enumerate() {
            leaf.prev = i.checked_sub(1).map(LeafId::new);
            leaf.next = (i + 1 < count).then(|| LeafId::new(i + 1));
        }
        let mut tree = Tree {
            nodes: Vec::new(),
            cold: leaves.iter().filter(|l| l.cold.is_some()).count() as u32,
            leaves,
            root: NodeId::new(0),
            total: Summary::default(),
            finger: None,
            cursor: None,
            index: OnceCell::new(),
        };
        // Build internal levels bottom-up.
        let mut level: Vec<(Child, Summary)> = tree
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (LeafId::new(i).into(), l.summary()))
            .collect();
        let mut height = 1u8;
        loop {
            let per = (FANOUT * 3 / 4).max(2);
            let mut next_level = Vec::new();
            for chunk in level.chunks(per) {
                let id = NodeId::new(tree.nodes.len());
                let mut sum = Summary::default();
                for &(c, s) in chunk {
                    sum.add(&s);
                    tree.set_parent(c, height, id);
                }
                tree.nodes.push(Node {
                    children: chunk.iter().map(|c| c.0).collect(),
                    sums: chunk.iter().map(|c| c.1).collect(),
                    parent: None,
                    height,
                });
                next_level.push((id, sum));
            }
            if let [(root, total)] = next_level[..] {
                tree.root = root;
                tree.total = total;
                return tree;
            }
            level = next_level.into_iter().map(|(n, s)| (n.into(), s)).collect();
            height += 1;
        }
    }

    /// A copy, without the id index (rebuilt on first use).
    pub fn copy_without_index(&self) -> Tree {
        let mut copy = Tree {
            nodes: self.nodes.clone(),
            leaves: self.leaves.clone(),
            root: self.root,
            total: self.total,
            finger: self.finger,
            cursor: None,
            index: OnceCell::new(),
            cold: self.cold,
        };
        // Its summaries take what the finger had pending.
        copy.let_go_of_finger();
        copy
    }

    /// How many leaves are cold.
    pub fn cold_leaves(&self) -> u32 {
        self.cold
    }

    /// Every page in document order with its stored spans, while no page
    /// was thawed since loading (a snapshot can then write them as
    /// stored); `None` once one was.
    pub fn stored_pages(&self) -> Option<Vec<(LeafId, &ColdSpans)>> {
        self.leaves_in_order()
            .map(|(id, l)| Some((id, l.cold.as_deref()?)))
            .collect()
    }

    /// The cold leaves, in no particular order.
    pub fn cold_leaf_ids(&self) -> Vec<LeafId> {
        (0..self.leaves.len())
            .map(LeafId::new)
            .filter(|&l| self.is_cold(l))
            .collect()
    }

    /// Gives cold leaf `leaf` its decoded `spans` (which hold exactly its
    /// items and visible characters: the caller checked them against the
    /// page's directory entry, and read its text: see `leaf_text`), then
    /// splits it into leaves of the usual size.
    pub fn thaw(&mut self, leaf: LeafId, spans: Vec<Span>) {
        let l = self.leaf_mut(leaf);
        debug_assert!(l.cold.is_some(), "leaf {leaf} is not cold");
        if let Some(text) = l.cold.take().and_then(|c| c.text) {
            l.text = text.into_text();
            l.ascii = l.text.is_ascii();
        }
        debug_assert_eq!(
            spans.iter().map(|s| s.visible()).sum::<u32>(),
            TextMetrics::of(&l.text).chars
        );
        l.spans = spans;
        self.cold -= 1;
        self.let_go_of_finger();
        self.cursor = None;
        if let Some(ix) = self.index.get_mut() {
            for s in &self.leaves[leaf.slot()].spans {
                ix.set(s.agent, s.seq, s.end_seq(), leaf);
            }
        }
        self.fix_overflow(leaf);
    }
}
