//! The B-tree over leaves: internal nodes hold their children's summaries so
//! any position in any unit is found in O(log n) by descent, and any leaf's
//! offset by walking up its parents.

use super::index::IdIndex;
use super::leaf::{InLeaf, Leaf, LEAF_SPANS, NIL};
use super::span::Span;
use super::summary::{Metric, Summary};
use crate::unit::TextMetrics;
use crate::IndexUnit;
use std::cell::OnceCell;

/// Most children of an internal node (small under `cfg(test)`).
pub const FANOUT: usize = if cfg!(test) { 4 } else { 16 };

#[derive(Debug, Clone)]
pub struct Node {
    pub children: Vec<u32>,
    pub sums: Vec<Summary>,
    pub parent: u32,
    /// 1 when the children are leaves, else one more than the children's.
    pub height: u8,
}

/// Deepest tree the finger can describe (fanout is at least 4, so 4^16 leaves).
const MAX_DEPTH: usize = 16;

/// A leaf with the summary of everything before it, its own summary, whether
/// it is the last leaf, and its path from the root as (node, slot) pairs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Finger {
    pub(super) leaf: u32,
    pub(super) before: Summary,
    own: Summary,
    last: bool,
    depth: u8,
    path: [(u32, u8); MAX_DEPTH],
}

/// A position in the document: a leaf and a position inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub leaf: u32,
    pub at: InLeaf,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub leaves: Vec<Leaf>,
    pub root: u32,
    /// Summary of the whole tree.
    pub(super) total: Summary,
    /// Where the last local edit went: consecutive edits in one leaf skip
    /// the descent and the search for child slots on the way back up.
    pub(super) finger: Option<Finger>,
    /// Where the text after the last insert continues, while nothing else
    /// changed: its visible character index and location. The next
    /// keystroke of someone typing goes there without a descent or a scan
    /// of the leaf.
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
            children: vec![0],
            sums: vec![Summary::default()],
            parent: NIL,
            height: 1,
        };
        Tree {
            nodes: vec![root],
            leaves: vec![Leaf::new(0)],
            root: 0,
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
/// children before it to `before`.
fn pick_child(node: &Node, metric: Metric, target: u32, before: &mut Summary) -> usize {
    let last = node.children.len() - 1;
    for (i, s) in node.sums.iter().enumerate().take(last) {
        if metric.of(before) + metric.of(s) > target {
            return i;
        }
        before.add(s);
    }
    last
}

impl Tree {
    pub fn total(&self) -> Summary {
        self.total
    }

    /// The id index. Items of cold leaves are not in it until they thaw.
    pub fn index(&self) -> &IdIndex {
        self.index.get_or_init(|| {
            IdIndex::build(
                self.leaves.iter().enumerate().flat_map(|(no, leaf)| {
                    leaf.spans.iter().map(move |s| (s.agent, s.seq, no as u32))
                }),
            )
        })
    }

    /// Records where items live, if the index has been built.
    fn index_set(&mut self, span: &Span, leaf: u32) {
        if let Some(ix) = self.index.get_mut() {
            ix.set(span.agent, span.seq, span.end_seq(), leaf);
        }
    }

    pub fn first_leaf(&self) -> u32 {
        let mut n = self.root;
        loop {
            let node = &self.nodes[n as usize];
            if node.height == 1 {
                return node.children[0];
            }
            n = node.children[0];
        }
    }

    /// Descends to the leaf holding position `target` of `metric`: the first
    /// child whose range extends past `target`, or the last child when
    /// `target` is the end. Returns the leaf and the summary before it.
    pub fn descend(&self, metric: Metric, target: u32) -> (u32, Summary) {
        let mut before = Summary::default();
        let mut n = self.root;
        loop {
            let node = &self.nodes[n as usize];
            let child = node.children[pick_child(node, metric, target, &mut before)];
            if node.height == 1 {
                return (child, before);
            }
            n = child;
        }
    }

    /// The position of the `target`-th visible character (or the end of
    /// the text) and the summary of everything before its leaf; sets the
    /// finger there.
    pub fn seek_visible(&mut self, target: u32) -> (Loc, Summary) {
        if let Some((loc, before)) = self.cursor_at(target) {
            return (loc, before);
        }
        let (leaf, before) = self.seek_chars(target);
        let at = self.leaves[leaf as usize].find_visible(target - before.text.chars);
        (Loc { leaf, at }, before)
    }

    /// Like `descend` by code points, but answers from the finger when the
    /// target lies in the leaf of the last edit, and leaves the finger on the
    /// leaf it finds.
    fn seek_chars(&mut self, target: u32) -> (u32, Summary) {
        if let Some(f) = &self.finger {
            let start = f.before.text.chars;
            let end = start + f.own.text.chars;
            if target >= start && (target < end || (target == end && f.last)) {
                return (f.leaf, f.before);
            }
        }
        let mut f = Finger {
            leaf: NIL,
            before: Summary::default(),
            own: Summary::default(),
            last: true,
            depth: 0,
            path: [(NIL, 0); MAX_DEPTH],
        };
        let mut n = self.root;
        loop {
            let node = &self.nodes[n as usize];
            let last = node.children.len() - 1;
            let pick = pick_child(
                node,
                Metric::Text(IndexUnit::CodePoint),
                target,
                &mut f.before,
            );
            f.last &= pick == last;
            if (f.depth as usize) < MAX_DEPTH {
                f.path[f.depth as usize] = (n, pick as u8);
            }
            f.depth += 1;
            let child = node.children[pick];
            if node.height == 1 {
                f.leaf = child;
                f.own = node.sums[pick];
                let found = (child, f.before);
                self.finger = (f.depth as usize <= MAX_DEPTH).then_some(f);
                return found;
            }
            n = child;
        }
    }

    fn child_slot(&self, node: u32, child: u32) -> usize {
        let node = &self.nodes[node as usize];
        node.children
            .iter()
            .position(|&c| c == child)
            .expect("child is in its parent")
    }

    /// Everything before `leaf` in document order.
    pub fn leaf_start(&self, leaf: u32) -> Summary {
        let mut before = Summary::default();
        let mut child = leaf;
        let mut node = self.leaves[leaf as usize].parent;
        while node != NIL {
            let slot = self.child_slot(node, child);
            for s in &self.nodes[node as usize].sums[..slot] {
                before.add(s);
            }
            child = node;
            node = self.nodes[node as usize].parent;
        }
        before
    }

    /// Adds `delta` to the summaries on the path from `leaf` to the root.
    pub fn add_delta(&mut self, leaf: u32, delta: &Summary) {
        self.total.add(delta);
        match &mut self.finger {
            Some(f) if f.leaf == leaf => {
                f.own.add(delta);
                for &(node, slot) in &f.path[..f.depth as usize] {
                    self.nodes[node as usize].sums[slot as usize].add(delta);
                }
                return;
            }
            // An edit elsewhere may move the finger's leaf.
            Some(_) => self.finger = None,
            None => {}
        }
        let mut child = leaf;
        let mut node = self.leaves[leaf as usize].parent;
        while node != NIL {
            let slot = self.child_slot(node, child);
            let n = &mut self.nodes[node as usize];
            n.sums[slot].add(delta);
            child = node;
            node = n.parent;
        }
    }

    /// Position of the item at `loc`: items and visible characters before it.
    pub fn offset_of(&self, loc: Loc) -> (u32, u32) {
        let start = self.leaf_start(loc.leaf);
        let (items, chars) = self.leaves[loc.leaf as usize].before(loc.at);
        (start.items + items, start.text.chars + chars)
    }

    /// Where the item `(agent, seq)` is, if it is an item of this document.
    pub fn locate(&self, agent: u32, seq: u32) -> Option<Loc> {
        let leaf = self.index().get(agent, seq)?;
        let at = self.leaves.get(leaf as usize)?.find_id(agent, seq)?;
        Some(Loc { leaf, at })
    }

    /// Normalises a location at the end of a leaf to the start of the next
    /// one; `None` at the end of the document.
    pub fn normalize(&self, mut loc: Loc) -> Option<Loc> {
        loop {
            if loc.at.span < self.leaves[loc.leaf as usize].spans.len() {
                return Some(loc);
            }
            let next = self.leaves[loc.leaf as usize].next;
            if next == NIL {
                return None;
            }
            loc = Loc {
                leaf: next,
                at: InLeaf { span: 0, offset: 0 },
            };
        }
    }

    pub fn span_at(&self, loc: Loc) -> Span {
        self.leaves[loc.leaf as usize].spans[loc.at.span]
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
            leaf = self.leaves[leaf as usize].prev;
            if leaf == NIL {
                return None;
            }
            span = self.leaves[leaf as usize].spans.len();
        }
        let s = self.leaves[leaf as usize].spans[span - 1];
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
        let leaf_no = loc.leaf;
        let leaf = &mut self.leaves[leaf_no as usize];
        debug_assert!(leaf.cold.is_none(), "insert into cold leaf {leaf_no}");
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
        let at_end = leaf.next == NIL;
        let follows_visibly = leaf.spans.get(next).map_or(at_end, |s| !s.deleted());
        let delta = Summary {
            items: span.len(),
            text: metrics,
        };
        self.add_delta(leaf_no, &delta);
        self.index_set(&span, leaf_no);
        self.cursor = None;
        if self.leaves[leaf_no as usize].overfull() {
            self.fix_overflow(leaf_no);
        } else if let Some(f) = self.finger.filter(|f| f.leaf == leaf_no && follows_visibly) {
            let at = InLeaf {
                span: next,
                offset: 0,
            };
            let chars = f.before.text.chars + chars_before + metrics.chars;
            self.cursor = Some((chars, Loc { leaf: leaf_no, at }));
        }
    }

    /// Marks `len` visible items starting at `loc` as deleted; they must lie
    /// within one visible span. Returns the size of the text they held.
    pub fn delete(&mut self, loc: Loc, len: u32) -> TextMetrics {
        self.cursor = None;
        let leaf_no = loc.leaf;
        let leaf = &mut self.leaves[leaf_no as usize];
        debug_assert!(leaf.cold.is_none(), "delete in cold leaf {leaf_no}");
        debug_assert!(!leaf.spans[loc.at.span].deleted());
        let (_, chars_before) = leaf.before(loc.at);
        let from = leaf.byte_of_char(chars_before);
        let to = from + leaf.byte_len_of_chars(from, len);
        let removed = TextMetrics::of(&leaf.text[from..to]);
        leaf.text.replace_range(from..to, "");
        if !leaf.ascii {
            leaf.ascii = leaf.text.is_ascii();
        }
        let i = leaf.split_at(loc.at);
        if leaf.spans[i].len() > len {
            let tail = leaf.spans[i].split(len);
            leaf.insert_span(i + 1, tail);
        }
        let s = leaf.spans[i];
        leaf.spans[i] = Span::new(s.agent, s.seq, s.len(), true);
        // Coalesce with deleted neighbours so backspacing keeps one span.
        leaf.try_merge_back(i + 1);
        leaf.try_merge_back(i);
        let mut delta = Summary {
            items: 0,
            text: removed,
        }
        .negated();
        delta.items = 0;
        self.add_delta(leaf_no, &delta);
        if self.leaves[leaf_no as usize].overfull() {
            self.fix_overflow(leaf_no);
        }
        removed
    }

    pub(super) fn fix_overflow(&mut self, leaf: u32) {
        let mut todo = vec![leaf];
        while let Some(l) = todo.pop() {
            if self.leaves[l as usize].overfull() {
                let new = self.split_leaf(l);
                todo.push(l);
                todo.push(new);
            }
        }
    }

    /// Splits an overfull leaf in two, returning the new right-hand leaf.
    fn split_leaf(&mut self, l: u32) -> u32 {
        self.finger = None;
        let leaf = &mut self.leaves[l as usize];
        let cut = if leaf.spans.len() > LEAF_SPANS {
            leaf.spans.len() / 2
        } else {
            let half = crate::unit::TextMetrics::of(&leaf.text).chars / 2;
            let at = leaf.find_visible(half);
            leaf.split_at(at).max(1)
        };
        let chars_before: u32 = leaf.spans[..cut].iter().map(|s| s.visible()).sum();
        let byte = leaf.byte_of_char(chars_before);
        let right_spans = leaf.spans.split_off(cut);
        let right_text = leaf.text.split_off(byte);
        leaf.spans.shrink_to_fit();
        leaf.text.shrink_to_fit();
        let parent = leaf.parent;
        let next = leaf.next;
        let new_no = self.leaves.len() as u32;
        self.leaves[l as usize].next = new_no;
        let mut right = Leaf::new(parent);
        right.spans = right_spans;
        right.text = right_text;
        right.prev = l;
        right.next = next;
        if next != NIL {
            self.leaves[next as usize].prev = new_no;
        }
        right.ascii = right.text.is_ascii();
        let left_ascii = self.leaves[l as usize].text.is_ascii();
        self.leaves[l as usize].ascii = left_ascii;
        if let Some(ix) = self.index.get_mut() {
            for s in &right.spans {
                ix.set(s.agent, s.seq, s.end_seq(), new_no);
            }
        }
        let right_sum = right.summary();
        self.leaves.push(right);
        let left_sum = self.leaves[l as usize].summary();
        let slot = self.child_slot(parent, l);
        let p = &mut self.nodes[parent as usize];
        p.sums[slot] = left_sum;
        p.children.insert(slot + 1, new_no);
        p.sums.insert(slot + 1, right_sum);
        self.fix_node(parent);
        new_no
    }

    /// Splits internal nodes on the way up while they have too many children.
    fn fix_node(&mut self, mut n: u32) {
        self.finger = None;
        while self.nodes[n as usize].children.len() > FANOUT {
            let node = &mut self.nodes[n as usize];
            let mid = node.children.len() / 2;
            let children = node.children.split_off(mid);
            let sums = node.sums.split_off(mid);
            let height = node.height;
            let mut parent = node.parent;
            let new_no = self.nodes.len() as u32;
            for &c in &children {
                if height == 1 {
                    self.leaves[c as usize].parent = new_no;
                } else {
                    self.nodes[c as usize].parent = new_no;
                }
            }
            let sum_of = |v: &[Summary]| {
                let mut s = Summary::default();
                v.iter().for_each(|x| s.add(x));
                s
            };
            let right_sum = sum_of(&sums);
            let left_sum = sum_of(&self.nodes[n as usize].sums);
            self.nodes.push(Node {
                children,
                sums,
                parent,
                height,
            });
            if parent == NIL {
                parent = self.nodes.len() as u32;
                self.nodes.push(Node {
                    children: vec![n],
                    sums: vec![left_sum],
                    parent: NIL,
                    height: height + 1,
                });
                self.nodes[n as usize].parent = parent;
                self.nodes[new_no as usize].parent = parent;
                self.root = parent;
            }
            let slot = self.child_slot(parent, n);
            let p = &mut self.nodes[parent as usize];
            p.sums[slot] = left_sum;
            p.children.insert(slot + 1, new_no);
            p.sums.insert(slot + 1, right_sum);
            n = parent;
        }
    }

    /// Iterates over spans in document order with their visible text.
    pub fn spans(&self) -> impl Iterator<Item = (Span, &str)> + '_ {
        let mut leaf = self.first_leaf();
        let mut i = 0usize;
        let mut byte = 0usize;
        std::iter::from_fn(move || loop {
            let l = &self.leaves[leaf as usize];
            if i < l.spans.len() {
                let s = l.spans[i];
                let end = byte + crate::unit::char_to_byte(&l.text[byte..], s.visible() as usize);
                let text = &l.text[byte..end];
                byte = end;
                i += 1;
                return Some((s, text));
            }
            if l.next == NIL {
                return None;
            }
            leaf = l.next;
            i = 0;
            byte = 0;
        })
    }

    pub fn heap_bytes(&self) -> usize {
        let nodes = self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| {
                    n.children.capacity() * 4 + n.sums.capacity() * std::mem::size_of::<Summary>()
                })
                .sum::<usize>();
        let leaves = self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self
                .leaves
                .iter()
                .map(|l| {
                    l.spans.capacity() * std::mem::size_of::<Span>()
                        + l.text.capacity()
                        + l.cold.as_ref().map_or(0, |c| c.column.len())
                })
                .sum::<usize>();
        nodes + leaves + self.index.get().map_or(0, IdIndex::heap_bytes)
    }
}

impl Tree {
    /// The visible text of `n` items from `loc` (which must be visible and
    /// within one span).
    pub fn text_at(&self, loc: Loc, n: u32) -> &str {
        let leaf = &self.leaves[loc.leaf as usize];
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
            let leaf = &self.leaves[loc.leaf as usize];
            assert!(chars >= start, "cursor: before its leaf");
            assert_eq!(
                leaf.find_visible(chars - start),
                loc.at,
                "cursor: not where character {chars} is"
            );
        }
        let Some(f) = &self.finger else { return };
        assert_eq!(
            f.before,
            self.leaf_start(f.leaf),
            "finger: stale start of leaf {}",
            f.leaf
        );
        assert_eq!(
            f.own,
            self.leaves[f.leaf as usize].summary(),
            "finger: stale summary of leaf {}",
            f.leaf
        );
        let chain = self.leaves_in_order();
        assert_eq!(
            f.last,
            chain.last() == Some(&f.leaf),
            "finger: wrong last flag"
        );
        let mut child = f.leaf;
        for &(node, slot) in f.path[..f.depth as usize].iter().rev() {
            assert_eq!(
                self.nodes[node as usize].children[slot as usize], child,
                "finger: wrong path"
            );
            child = node;
        }
        assert_eq!(child, self.root, "finger: path does not start at the root");
    }

    /// Leaf numbers in document order.
    pub fn leaves_in_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.leaves.len());
        let mut l = self.first_leaf();
        while l != NIL {
            out.push(l);
            l = self.leaves[l as usize].next;
        }
        out
    }
}
