//! The B-tree over leaves: internal nodes hold their children's summaries so
//! any position in any unit is found in O(log n) by descent, and any leaf's
//! offset by walking up its parents.

use super::cold_text::ColdText;
use super::ids::{Child, LeafId, NodeId};
use super::index::IdIndex;
use super::leaf::{ColdSpans, InLeaf, Leaf, LEAF_SPANS, SMALL_CHUNKS};
use super::span::Span;
use super::summary::{Metric, Summary};
use crate::unit::TextMetrics;
use crate::{DecodeError, IndexUnit};
use std::cell::OnceCell;

/// Most children of an internal node.
pub(super) const FANOUT: usize = if SMALL_CHUNKS { 4 } else { 16 };

#[derive(Debug, Clone)]
pub(super) struct Node {
    /// Leaves when `height` is 1, else nodes.
    pub(super) children: Vec<Child>,
    pub(super) sums: Vec<Summary>,
    pub(super) parent: Option<NodeId>,
    /// 1 when the children are leaves, else one more than the children's.
    pub(super) height: u8,
}

/// Deepest tree the finger can describe. Nodes only split, into halves of
/// at least `FANOUT / 2`, so 11 levels hold more leaves than a document can
/// have items (a deeper tree works, without a finger). Each seek fills a
/// path this long, so no longer.
const MAX_DEPTH: usize = if SMALL_CHUNKS { 16 } else { 11 };

/// A leaf with the visible characters before it, its own summary, whether
/// it is the last leaf, and its path from the root as (node, slot) pairs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Finger {
    pub(super) leaf: LeafId,
    pub(super) before: u32,
    own: Summary,
    last: bool,
    depth: u8,
    path: [(NodeId, u8); MAX_DEPTH],
    /// What the leaf's edits changed and the summaries on its path do not
    /// hold yet: added to them when the finger moves (`let_go_of_finger`),
    /// and by the readers that pass along the path meanwhile. Typing in one
    /// leaf updates one summary, not one per level.
    pending: Summary,
}

/// A position in the document: a leaf and a position inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub leaf: LeafId,
    pub at: InLeaf,
}

/// Counts of the tree's parts, for `Doc::stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeStats {
    /// Spans in every leaf (a cold leaf has none until it thaws).
    pub spans: usize,
    pub leaves: usize,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub(super) nodes: Vec<Node>,
    pub(super) leaves: Vec<Leaf>,
    pub(super) root: NodeId,
    /// Summary of the whole tree.
    pub(super) total: Summary,
    /// Where the last local edit went: consecutive edits in one leaf skip
    /// the descent and the search for child slots on the way back up.
    pub(super) finger: Option<Finger>,
    /// Where the text after the last insert continues, or the character
    /// before the last delete, while nothing else changed: its visible
    /// character index and location. The next keystroke of someone typing
    /// or backspacing goes there without a descent or a scan of the leaf.
    pub(super) cursor: Option<(u32, Loc)>,
    /// Built on first use (merging remote operations, resolving sticky
    /// positions, encoding updates), then kept up to date: purely local
    /// editing never pays for it.
    pub(super) index: OnceCell<IdIndex>,
    /// How many leaves are cold (pages of a loaded snapshot whose spans are
    /// still encoded).
    pub(super) cold: u32,
}

impl Default for Tree {
    fn default() -> Self {
        let root = Node {
            children: vec![LeafId::new(0).into()],
            sums: vec![Summary::default()],
            parent: None,
            height: 1,
        };
        Tree {
            nodes: vec![root],
            leaves: vec![Leaf::new(NodeId::new(0))],
            root: NodeId::new(0),
            total: Summary::default(),
            finger: None,
            cursor: None,
            index: OnceCell::new(),
            cold: 0,
        }
    }
}

/// The child of `node` holding position `target` of `metric`: the first whose
/// range extends past it, or the last at the end. Adds the summaries of the
/// children before it to `before`. `pending` is the finger's, when `node`
/// is on its path: its slot and what that slot's summary lacks.
fn pick_child(
    node: &Node,
    metric: Metric,
    target: u32,
    before: &mut Summary,
    pending: Option<(usize, Summary)>,
) -> usize {
    let last = node.children.len() - 1;
    for (i, s) in node.sums.iter().enumerate().take(last) {
        let mut s = *s;
        if let Some((_, p)) = pending.filter(|&(slot, _)| slot == i) {
            s.add(&p);
        }
        if metric.of(before) + metric.of(&s) > target {
            return i;
        }
        before.add(&s);
    }
    last
}

/// Arena access, for the content module only.
impl Tree {
    #[inline]
    pub(super) fn leaf(&self, id: LeafId) -> &Leaf {
        &self.leaves[id.slot()]
    }

    #[inline]
    pub(super) fn leaf_mut(&mut self, id: LeafId) -> &mut Leaf {
        &mut self.leaves[id.slot()]
    }

    #[inline]
    pub(super) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.slot()]
    }

    #[inline]
    pub(super) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.slot()]
    }

    /// Sets the parent of `child`, a leaf when `height` (its parent's) is 1.
    pub(super) fn set_parent(&mut self, child: Child, height: u8, parent: NodeId) {
        if height == 1 {
            self.leaf_mut(child.leaf()).parent = parent;
        } else {
            self.node_mut(child.node()).parent = Some(parent);
        }
    }

    /// The leaves from `first` on, in document order.
    pub(super) fn leaves_from(&self, first: LeafId) -> impl Iterator<Item = (LeafId, &Leaf)> {
        std::iter::successors(Some(first), |&l| self.leaf(l).next).map(|l| (l, self.leaf(l)))
    }

    /// Every leaf in document order.
    pub(super) fn leaves_in_order(&self) -> impl Iterator<Item = (LeafId, &Leaf)> {
        self.leaves_from(self.first_leaf())
    }

    fn first_leaf(&self) -> LeafId {
        self.edge_leaf(|_| 0)
    }

    fn last_leaf(&self) -> LeafId {
        self.edge_leaf(|n| n.children.len() - 1)
    }

    /// The leaf reached from the root by taking child `pick(node)` each time.
    fn edge_leaf(&self, pick: impl Fn(&Node) -> usize) -> LeafId {
        let mut n = self.root;
        loop {
            let node = self.node(n);
            let child = node.children[pick(node)];
            if node.height == 1 {
                return child.leaf();
            }
            n = child.node();
        }
    }
}

/// Reading leaves, for code outside the tree: text, neighbours, coldness.
impl Tree {
    /// The visible text of `leaf`; a cold page's text is inflated on first
    /// read (an error when it is not what its directory entry says).
    pub fn leaf_text(&self, leaf: LeafId) -> Result<&str, DecodeError> {
        self.leaf(leaf).text()
    }

    /// The visible text in document order, one leaf at a time.
    pub fn chunks(&self) -> impl Iterator<Item = Result<&str, DecodeError>> {
        self.chunks_from(self.first_leaf())
    }

    /// The visible text from the start of `leaf` to the end, one leaf at a
    /// time.
    pub fn chunks_from(&self, leaf: LeafId) -> impl Iterator<Item = Result<&str, DecodeError>> {
        self.leaves_from(leaf).map(|(_, l)| l.text())
    }

    /// The leaf before `leaf` in document order.
    pub fn prev_leaf(&self, leaf: LeafId) -> Option<LeafId> {
        self.leaf(leaf).prev
    }

    /// The leaf after `leaf` in document order.
    pub fn next_leaf(&self, leaf: LeafId) -> Option<LeafId> {
        self.leaf(leaf).next
    }

    /// Whether `leaf` is a snapshot page whose spans are still encoded.
    pub fn is_cold(&self, leaf: LeafId) -> bool {
        self.leaf(leaf).cold.is_some()
    }

    /// The encoded spans of `leaf`, while it is cold.
    pub fn cold_spans(&self, leaf: LeafId) -> Option<&ColdSpans> {
        self.leaf(leaf).cold.as_deref()
    }

    /// Visible characters in `leaf`.
    pub fn leaf_chars(&self, leaf: LeafId) -> u32 {
        self.leaf(leaf).chars()
    }

    /// Whether `loc` is past the last span of its leaf.
    pub fn is_leaf_end(&self, loc: Loc) -> bool {
        loc.at.span == self.leaf(loc.leaf).spans.len()
    }

    /// Visible characters before `loc` within its leaf.
    pub fn chars_before_in_leaf(&self, loc: Loc) -> u32 {
        self.leaf(loc.leaf).before(loc.at).1
    }

    pub fn stats(&self) -> TreeStats {
        TreeStats {
            spans: self.leaves.iter().map(|l| l.spans.len()).sum(),
            leaves: self.leaves.len(),
        }
    }
}

impl Tree {
    pub fn total(&self) -> Summary {
        self.total
    }

    /// The id index. Items of cold leaves are not in it until they thaw.
    pub(super) fn index(&self) -> &IdIndex {
        self.index.get_or_init(|| {
            IdIndex::build(self.leaves.iter().enumerate().flat_map(|(slot, leaf)| {
                let id = LeafId::new(slot);
                leaf.spans.iter().map(move |s| (s.agent, s.seq, id))
            }))
        })
    }

    /// Records where items live, if the index has been built.
    fn index_set(&mut self, span: &Span, leaf: LeafId) {
        if let Some(ix) = self.index.get_mut() {
            ix.set(span.agent, span.seq, span.end_seq(), leaf);
        }
    }

    /// The location before the first item.
    pub fn start(&self) -> Loc {
        Loc {
            leaf: self.first_leaf(),
            at: InLeaf::START,
        }
    }

    /// The location after the last item.
    pub fn end(&self) -> Loc {
        let leaf = self.last_leaf();
        let span = self.leaf(leaf).spans.len();
        Loc {
            leaf,
            at: InLeaf { span, offset: 0 },
        }
    }

    /// Descends to the leaf holding position `target` of `metric`: the first
    /// child whose range extends past `target`, or the last child when
    /// `target` is the end. Returns the leaf and the summary before it.
    pub fn descend(&self, metric: Metric, target: u32) -> (LeafId, Summary) {
        let mut before = Summary::default();
        let mut n = self.root;
        loop {
            let node = self.node(n);
            let pending = self.pending_of(n);
            let child = node.children[pick_child(node, metric, target, &mut before, pending)];
            if node.height == 1 {
                return (child.leaf(), before);
            }
            n = child.node();
        }
    }

    /// The finger's pending summary, if node `n` is on its path: with the
    /// slot of `n`'s child it belongs to.
    pub(super) fn pending_of(&self, n: NodeId) -> Option<(usize, Summary)> {
        let f = self.finger.as_ref()?;
        let &(_, slot) = f.path[..f.depth as usize].iter().find(|p| p.0 == n)?;
        Some((slot as usize, f.pending))
    }

    /// Adds the finger's pending summary to its path, and forgets it:
    /// before the tree changes shape or a descent reads the summaries.
    pub(super) fn let_go_of_finger(&mut self) {
        if let Some(f) = self.finger.take() {
            for &(node, slot) in &f.path[..f.depth as usize] {
                self.nodes[node.slot()].sums[slot as usize].add(&f.pending);
            }
        }
    }

    /// The position of the `target`-th visible character (or the end of the
    /// text), without moving the finger. In a cold leaf, its start.
    pub fn locate_visible(&self, target: u32) -> Loc {
        let (leaf, before) = self.descend(Metric::Text(IndexUnit::CodePoint), target);
        let at = self.leaf(leaf).find_visible(target - before.text.chars);
        Loc { leaf, at }
    }

    /// The position of the `target`-th visible character (or the end of
    /// the text) and the number of visible characters before its leaf;
    /// sets the finger there.
    pub fn seek_visible(&mut self, target: u32) -> (Loc, u32) {
        if let Some((loc, before)) = self.cursor_at(target) {
            return (loc, before);
        }
        let (leaf, before) = self.seek_chars(target);
        let at = match self.finger {
            Some(f) if f.leaf == leaf => self
                .leaf(leaf)
                .find_visible_in(target - before, f.own.text.chars),
            _ => self.leaf(leaf).find_visible(target - before),
        };
        (Loc { leaf, at }, before)
    }

    /// Like `descend` by code points, but answers from the finger when the
    /// target lies in the leaf of the last edit, and leaves the finger on the
    /// leaf it finds. Adds up visible characters only: edits need no more.
    fn seek_chars(&mut self, target: u32) -> (LeafId, u32) {
        if let Some(f) = &self.finger {
            let start = f.before;
            let end = start + f.own.text.chars;
            if target >= start && (target < end || (target == end && f.last)) {
                return (f.leaf, f.before);
            }
        }
        self.let_go_of_finger();
        let mut before = 0;
        let mut last = true;
        let mut depth = 0usize;
        let mut path = [(self.root, 0u8); MAX_DEPTH];
        let mut n = self.root;
        loop {
            let node = self.node(n);
            let last_slot = node.children.len() - 1;
            let mut pick = last_slot;
            for (i, s) in node.sums[..last_slot].iter().enumerate() {
                if before + s.text.chars > target {
                    pick = i;
                    break;
                }
                before += s.text.chars;
            }
            last &= pick == last_slot;
            if depth < MAX_DEPTH {
                path[depth] = (n, pick as u8);
            }
            depth += 1;
            let child = node.children[pick];
            if node.height == 1 {
                let leaf = child.leaf();
                let own = node.sums[pick];
                self.finger = (depth <= MAX_DEPTH).then_some(Finger {
                    leaf,
                    before,
                    own,
                    last,
                    depth: depth as u8,
                    path,
                    pending: Summary::default(),
                });
                return (leaf, before);
            }
            n = child.node();
        }
    }

    /// Where `child` sits among the children of `node`.
    fn child_slot(&self, node: NodeId, child: Child) -> usize {
        self.node(node)
            .children
            .iter()
            .position(|&c| c == child)
            .expect("child is in its parent")
    }

    /// Everything before `leaf` in document order.
    pub(super) fn leaf_start(&self, leaf: LeafId) -> Summary {
        let mut before = Summary::default();
        let mut child = Child::from(leaf);
        let mut node = Some(self.leaf(leaf).parent);
        while let Some(n) = node {
            let slot = self.child_slot(n, child);
            for s in &self.node(n).sums[..slot] {
                before.add(s);
            }
            if let Some((_, p)) = self.pending_of(n).filter(|&(s, _)| s < slot) {
                before.add(&p);
            }
            child = n.into();
            node = self.node(n).parent;
        }
        before
    }

    /// Adds `delta` to the summaries on the path from `leaf` to the root.
    pub(super) fn add_delta(&mut self, leaf: LeafId, delta: &Summary) {
        self.total.add(delta);
        match &mut self.finger {
            Some(f) if f.leaf == leaf => {
                f.own.add(delta);
                f.pending.add(delta);
                return;
            }
            // An edit elsewhere may move the finger's leaf.
            Some(_) => self.let_go_of_finger(),
            None => {}
        }
        let mut child = Child::from(leaf);
        let mut node = Some(self.leaf(leaf).parent);
        while let Some(n) = node {
            let slot = self.child_slot(n, child);
            let parent = self.node_mut(n);
            parent.sums[slot].add(delta);
            child = n.into();
            node = parent.parent;
        }
    }

    /// Position of the item at `loc`: items and visible characters before it.
    pub fn offset_of(&self, loc: Loc) -> (u32, u32) {
        let start = self.leaf_start(loc.leaf);
        let (items, chars) = self.leaf(loc.leaf).before(loc.at);
        (start.items + items, start.text.chars + chars)
    }

    /// Where the item `(agent, seq)` is, if it is an item of this document.
    pub fn locate(&self, agent: u32, seq: u32) -> Option<Loc> {
        let leaf = self.index().get(agent, seq)?;
        let at = self.leaves.get(leaf.slot())?.find_id(agent, seq)?;
        Some(Loc { leaf, at })
    }

    /// Normalises a location at the end of a leaf to the start of the next
    /// one; `None` at the end of the document.
    pub fn normalize(&self, mut loc: Loc) -> Option<Loc> {
        while self.is_leaf_end(loc) {
            loc = Loc {
                leaf: self.next_leaf(loc.leaf)?,
                at: InLeaf::START,
            };
        }
        Some(loc)
    }

    pub fn span_at(&self, loc: Loc) -> Span {
        self.leaf(loc.leaf).spans[loc.at.span]
    }

    /// Moves `loc` forward by `n` items (`loc` must be normalised).
    pub fn advance(&self, mut loc: Loc, mut n: u32) -> Option<Loc> {
        loop {
            let span = self.span_at(loc);
            let left = span.len() - loc.at.offset;
            if n < left {
                loc.at.offset += n;
                return Some(loc);
            }
            n -= left;
            loc.at = InLeaf {
                span: loc.at.span + 1,
                offset: 0,
            };
            loc = self.normalize(loc)?;
            if n == 0 {
                return Some(loc);
            }
        }
    }

    /// The location of the item before `loc`, if any.
    pub fn prev_item(&self, loc: Loc) -> Option<Loc> {
        if loc.at.offset > 0 {
            return Some(Loc {
                leaf: loc.leaf,
                at: InLeaf {
                    span: loc.at.span,
                    offset: loc.at.offset - 1,
                },
            });
        }
        let mut leaf = loc.leaf;
        let mut span = loc.at.span;
        while span == 0 {
            leaf = self.prev_leaf(leaf)?;
            span = self.leaf(leaf).spans.len();
        }
        let s = self.leaf(leaf).spans[span - 1];
        Some(Loc {
            leaf,
            at: InLeaf {
                span: span - 1,
                offset: s.len() - 1,
            },
        })
    }

    /// Inserts `span` with its visible `text` (empty when deleted) at `loc`;
    /// `metrics` are the text's, which the caller has already measured.
    /// `chars_before` is the number of visible characters before `loc` in
    /// its leaf (callers usually know it already).
    pub fn insert(
        &mut self,
        loc: Loc,
        chars_before: u32,
        span: Span,
        text: &str,
        metrics: TextMetrics,
    ) {
        let leaf_id = loc.leaf;
        let leaf = self.leaf_mut(leaf_id);
        debug_assert!(leaf.cold.is_none(), "insert into cold leaf {leaf_id}");
        debug_assert_eq!(chars_before, leaf.before(loc.at).1);
        let byte = leaf.byte_of_char(chars_before);
        let i = leaf.split_at(loc.at);
        let merged = i > 0 && leaf.spans[i - 1].can_append(&span);
        if merged {
            let prev = &mut leaf.spans[i - 1];
            prev.set_len(prev.len() + span.len());
        } else {
            leaf.insert_span(i, span);
        }
        leaf.insert_text(byte, text);
        // What followed the insertion point now starts span `next`. The
        // cursor goes there when that is where the next visible character
        // is found: before a visible item, or at the very end.
        let next = if merged { i } else { i + 1 };
        let at_end = leaf.next.is_none();
        let follows_visibly = leaf.spans.get(next).map_or(at_end, |s| !s.deleted());
        let delta = Summary {
            items: span.len(),
            text: metrics,
        };
        self.add_delta(leaf_id, &delta);
        self.index_set(&span, leaf_id);
        self.cursor = None;
        if self.leaf(leaf_id).overfull() {
            self.fix_overflow(leaf_id);
        } else if let Some(f) = self.finger.filter(|f| f.leaf == leaf_id && follows_visibly) {
            let at = InLeaf {
                span: next,
                offset: 0,
            };
            let chars = f.before + chars_before + metrics.chars;
            self.cursor = Some((chars, Loc { leaf: leaf_id, at }));
        }
    }

    /// Marks `len` visible items starting at `loc` as deleted; they must lie
    /// within one visible span. `chars_before` is the number of visible
    /// characters before `loc` in its leaf. Hands the text they held to
    /// `keep` and returns its size.
    pub fn delete(
        &mut self,
        loc: Loc,
        chars_before: u32,
        len: u32,
        keep: &mut dyn FnMut(&str),
    ) -> TextMetrics {
        self.cursor = None;
        let leaf_id = loc.leaf;
        let leaf = self.leaf_mut(leaf_id);
        debug_assert!(leaf.cold.is_none(), "delete in cold leaf {leaf_id}");
        debug_assert!(!leaf.spans[loc.at.span].deleted());
        debug_assert_eq!(chars_before, leaf.before(loc.at).1);
        let from = leaf.byte_of_char(chars_before);
        let to = from + leaf.byte_len_of_chars(from, len);
        let removed = TextMetrics::of(&leaf.text[from..to]);
        keep(&leaf.text[from..to]);
        leaf.text.drain(from..to);
        leaf.give_back_text();
        if !leaf.ascii {
            leaf.ascii = leaf.text.is_ascii();
        }
        leaf.mark_deleted(loc.at, len);
        let mut delta = Summary {
            items: 0,
            text: removed,
        }
        .negated();
        delta.items = 0;
        self.add_delta(leaf_id, &delta);
        if self.leaf(leaf_id).overfull() {
            self.fix_overflow(leaf_id);
        } else if let Some(f) = self
            .finger
            .filter(|f| f.leaf == leaf_id && loc.at.offset > 0)
        {
            // The character before the deleted ones, still in their span
            // (they were not its first), is where a backspace goes next.
            let at = InLeaf {
                span: loc.at.span,
                offset: loc.at.offset - 1,
            };
            let chars = f.before + chars_before - 1;
            self.cursor = Some((chars, Loc { leaf: leaf_id, at }));
        }
        removed
    }

    /// Splits `leaf` until no part of it is overfull. Recursion, not a
    /// work list: one split usually does it, and a list would be allocated
    /// for it each time (a long paste recurses once per halving).
    pub(super) fn fix_overflow(&mut self, leaf: LeafId) {
        while self.leaf(leaf).overfull() {
            let new = self.split_leaf(leaf);
            self.fix_overflow(new);
        }
    }

    /// Splits an overfull leaf in two, returning the new right-hand leaf.
    fn split_leaf(&mut self, l: LeafId) -> LeafId {
        self.let_go_of_finger();
        let new_id = LeafId::new(self.leaves.len());
        let leaf = self.leaf_mut(l);
        let cut = if leaf.spans.len() > LEAF_SPANS {
            leaf.spans.len() / 2
        } else {
            let half = TextMetrics::of(&leaf.text).chars / 2;
            let at = leaf.find_visible(half);
            leaf.split_at(at).max(1)
        };
        let chars_before: u32 = leaf.spans[..cut].iter().map(|s| s.visible()).sum();
        let byte = leaf.byte_of_char(chars_before);
        let right_spans = leaf.spans.split_off(cut);
        let right_text = leaf.text.split_off(byte);
        leaf.spans.shrink_to_fit();
        leaf.text.shrink_to_fit();
        leaf.ascii = leaf.text.is_ascii();
        let parent = leaf.parent;
        let next = leaf.next.replace(new_id);
        let right = Leaf {
            ascii: right_text.is_ascii(),
            spans: right_spans,
            text: right_text,
            prev: Some(l),
            next,
            ..Leaf::new(parent)
        };
        if let Some(next) = next {
            self.leaf_mut(next).prev = Some(new_id);
        }
        if let Some(ix) = self.index.get_mut() {
            for s in &right.spans {
                ix.set(s.agent, s.seq, s.end_seq(), new_id);
            }
        }
        let right_sum = right.summary();
        // The tree lives as long as the document: see `grow`.
        crate::grow::vec(&mut self.leaves, 1);
        self.leaves.push(right);
        let left_sum = self.leaf(l).summary();
        self.insert_child_after(parent, l.into(), left_sum, new_id.into(), right_sum);
        self.fix_node(parent);
        new_id
    }

    /// Puts `new` (summarised by `new_sum`) right after `child` among the
    /// children of `parent`, and sets `child`'s summary to `child_sum`. The
    /// node's lists grow a few slots at a time: doubling would leave most
    /// nodes' lists a third empty for good.
    fn insert_child_after(
        &mut self,
        parent: NodeId,
        child: Child,
        child_sum: Summary,
        new: Child,
        new_sum: Summary,
    ) {
        let slot = self.child_slot(parent, child);
        let p = self.node_mut(parent);
        p.sums[slot] = child_sum;
        if p.children.len() == p.children.capacity() {
            p.children.reserve_exact(4);
            p.sums.reserve_exact(4);
        }
        p.children.insert(slot + 1, new);
        p.sums.insert(slot + 1, new_sum);
    }

    /// Splits internal nodes on the way up while they have too many children.
    fn fix_node(&mut self, mut n: NodeId) {
        self.let_go_of_finger();
        while self.node(n).children.len() > FANOUT {
            let new_id = NodeId::new(self.nodes.len());
            let node = self.node_mut(n);
            let mid = node.children.len() / 2;
            let children = node.children.split_off(mid);
            let sums = node.sums.split_off(mid);
            node.children.shrink_to_fit();
            node.sums.shrink_to_fit();
            let height = node.height;
            let parent = node.parent;
            for &c in &children {
                self.set_parent(c, height, new_id);
            }
            let sum_of = |v: &[Summary]| {
                let mut s = Summary::default();
                v.iter().for_each(|x| s.add(x));
                s
            };
            let right_sum = sum_of(&sums);
            let left_sum = sum_of(&self.node(n).sums);
            crate::grow::vec(&mut self.nodes, 1);
            self.nodes.push(Node {
                children,
                sums,
                parent,
                height,
            });
            let parent = parent.unwrap_or_else(|| self.grow_root(n, left_sum));
            self.node_mut(new_id).parent = Some(parent);
            self.insert_child_after(parent, n.into(), left_sum, new_id.into(), right_sum);
            n = parent;
        }
    }

    /// Puts a new root above the root `old` (whose summary is `sum`), for
    /// a split of the old root; returns it.
    fn grow_root(&mut self, old: NodeId, sum: Summary) -> NodeId {
        let root = NodeId::new(self.nodes.len());
        let height = self.node(old).height + 1;
        crate::grow::vec(&mut self.nodes, 1);
        self.nodes.push(Node {
            children: vec![old.into()],
            sums: vec![sum],
            parent: None,
            height,
        });
        self.node_mut(old).parent = Some(root);
        self.root = root;
        root
    }

    /// The spans of `leaf` and every leaf after it, with their visible text.
    pub fn spans_from(&self, leaf: LeafId) -> impl Iterator<Item = (Span, &str)> + '_ {
        self.leaves_from(leaf)
            .flat_map(|(_, leaf)| leaf.spans_with_text())
    }

    /// Iterates over spans in document order with their visible text.
    pub fn spans(&self) -> impl Iterator<Item = (Span, &str)> + '_ {
        self.leaves_in_order()
            .flat_map(|(_, leaf)| leaf.spans_with_text())
    }

    pub fn heap_bytes(&self) -> usize {
        let nodes = self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| {
                    n.children.capacity() * std::mem::size_of::<Child>()
                        + n.sums.capacity() * std::mem::size_of::<Summary>()
                })
                .sum::<usize>();
        let leaves = self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self
                .leaves
                .iter()
                .map(|l| {
                    l.spans.capacity() * std::mem::size_of::<Span>()
                        + l.text.capacity()
                        + l.cold.as_ref().map_or(0, |c| {
                            c.column.len() + c.text.as_ref().map_or(0, ColdText::heap_bytes)
                        })
                })
                .sum::<usize>();
        nodes + leaves + self.index.get().map_or(0, IdIndex::heap_bytes)
    }
}

impl Tree {
    /// The visible text of `n` items from `loc` (which must be visible and
    /// within one span).
    pub fn text_at(&self, loc: Loc, n: u32) -> &str {
        let leaf = self.leaf(loc.leaf);
        let (_, chars) = leaf.before(loc.at);
        let from = leaf.byte_of_char(chars);
        &leaf.text[from..from + leaf.byte_len_of_chars(from, n)]
    }
}

impl Tree {
    /// Checks the finger, if any, against the tree (part of `check`).
    pub(super) fn check_finger(&self) {
        if let Some((chars, loc)) = self.cursor {
            let start = self.leaf_start(loc.leaf).text.chars;
            assert!(chars >= start, "cursor: before its leaf");
            assert_eq!(
                self.leaf(loc.leaf).find_visible(chars - start),
                loc.at,
                "cursor: not where character {chars} is"
            );
        }
        let Some(f) = &self.finger else { return };
        assert_eq!(
            f.before,
            self.leaf_start(f.leaf).text.chars,
            "finger: stale start of leaf {}",
            f.leaf
        );
        assert_eq!(
            f.own,
            self.leaf(f.leaf).summary(),
            "finger: stale summary of leaf {}",
            f.leaf
        );
        let last = self.leaves_in_order().last().map(|(id, _)| id);
        assert_eq!(f.last, last == Some(f.leaf), "finger: wrong last flag");
        let mut child = Child::from(f.leaf);
        for &(node, slot) in f.path[..f.depth as usize].iter().rev() {
            assert_eq!(
                self.node(node).children[slot as usize],
                child,
                "finger: wrong path"
            );
            child = node.into();
        }
        assert_eq!(
            child,
            self.root.into(),
            "finger: path does not start at the root"
        );
    }
}
