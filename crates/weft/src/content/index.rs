//! The id index: for each agent, which leaf holds each of its items.

use super::ids::LeafId;
use std::collections::BTreeMap;

/// Per agent, a range map from sequence numbers to leaves: key `k` with
/// value `v` means the items from `k` up to the next key live in leaf `v`.
/// Sequence numbers that are not items (deletions) may map anywhere; callers
/// confirm by looking in the leaf.
#[derive(Debug, Clone, Default)]
pub struct IdIndex {
    agents: Vec<BTreeMap<u32, LeafId>>,
}

impl IdIndex {
    /// Builds the index at once from every span's `(agent, seq, leaf)`: a
    /// radix sort, then inserts in order per agent, several times faster than
    /// a `set` per span when a loaded document first needs it.
    pub fn build(spans: impl Iterator<Item = (u32, u32, LeafId)>) -> IdIndex {
        let agents = crate::radix::per_agent_in_seq_order(spans)
            .into_iter()
            .map(|starts| {
                // Sequence numbers between spans are not items, so they may
                // map to the leaf before them: one key per change of leaf.
                // Inserted in order rather than collected: collecting sorts
                // again, and that sort costs about 2.8 KB of gzipped wasm.
                let mut last = None;
                let mut map = BTreeMap::new();
                for (seq, leaf) in starts {
                    if last.replace(leaf) != Some(leaf) {
                        map.insert(seq, leaf);
                    }
                }
                map
            })
            .collect();
        IdIndex { agents }
    }

    pub fn get(&self, agent: u32, seq: u32) -> Option<LeafId> {
        let map = self.agents.get(agent as usize)?;
        map.range(..=seq).next_back().map(|(_, &v)| v)
    }

    /// Records that items `start..end` of `agent` live in `leaf`.
    pub fn set(&mut self, agent: u32, start: u32, end: u32, leaf: LeafId) {
        let a = agent as usize;
        if self.agents.len() <= a {
            self.agents.resize_with(a + 1, BTreeMap::new);
        }
        let map = &mut self.agents[a];
        let before = map.range(..start).next_back().map(|(_, &v)| v);
        let tail = map.range(..=end).next_back().map(|(_, &v)| v);
        if before == Some(leaf)
            && tail == Some(leaf)
            && map.range(start..=end).all(|(_, &v)| v == leaf)
        {
            return; // already covered (the common case while typing)
        }
        let inner: Vec<u32> = map.range(start..end).map(|(&k, _)| k).collect();
        for k in inner {
            map.remove(&k);
        }
        if before != Some(leaf) {
            map.insert(start, leaf);
        }
        match (map.get(&end).copied(), tail) {
            (Some(v), _) if v == leaf => {
                map.remove(&end);
            }
            (None, Some(t)) if t != leaf => {
                map.insert(end, t);
            }
            _ => {}
        }
    }

    pub fn heap_bytes(&self) -> usize {
        // A BTreeMap node holds 11 entries of 8 bytes plus overhead; about
        // 12 bytes an entry on average.
        self.agents.capacity() * 24 + self.agents.iter().map(|m| m.len() * 12).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaf ids by slot number, so the cases read as numbers.
    fn l(slot: usize) -> LeafId {
        LeafId::new(slot)
    }

    #[test]
    fn ranges_overwrite_and_coalesce() {
        let mut ix = IdIndex::default();
        ix.set(0, 0, 10, l(1));
        ix.set(0, 10, 20, l(1));
        assert_eq!(ix.agents[0].len(), 1);
        ix.set(0, 5, 8, l(2));
        assert_eq!(
            (ix.get(0, 4), ix.get(0, 5), ix.get(0, 7), ix.get(0, 8)),
            (Some(l(1)), Some(l(2)), Some(l(2)), Some(l(1)))
        );
        ix.set(0, 5, 8, l(1));
        assert_eq!(ix.agents[0].len(), 1);
        assert_eq!(ix.get(1, 0), None);
    }

    #[test]
    fn a_bulk_build_answers_like_spans_set_one_by_one() {
        // (agent, seq, end, leaf), in tree order, not sequence order.
        let spans = [
            (0, 10, 20, 2),
            (1, 0, 5, 2),
            (0, 0, 10, 1),
            (0, 25, 30, 3),
            (0, 20, 25, 2),
        ];
        let mut one_by_one = IdIndex::default();
        for &(a, s, e, leaf) in &spans {
            one_by_one.set(a, s, e, l(leaf));
        }
        let bulk = IdIndex::build(spans.iter().map(|&(a, s, _, leaf)| (a, s, l(leaf))));
        for &(a, s, e, _) in &spans {
            for seq in s..e {
                assert_eq!(
                    bulk.get(a, seq),
                    one_by_one.get(a, seq),
                    "agent {a} seq {seq}"
                );
            }
        }
        assert_eq!(bulk.agents[0].len(), 3, "coalesced: leaf 1, 2, 3");
    }
}
