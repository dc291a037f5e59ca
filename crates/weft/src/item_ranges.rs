//! Sets of item ids as sorted ranges per replica: what a decoded snapshot's
//! spans and log are checked against (the same items, every reference to
//! an item), and what the invariant checks compare.

use crate::content::Span;
use crate::oplog::{OpKind, OpRun};

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
        let agents = crate::radix::per_agent_in_seq_order(it)
            .into_iter()
            .map(|ranges| {
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
    pub fn inserted_by(runs: impl Iterator<Item = OpRun>) -> Self {
        ItemRanges::new(
            runs.filter(|r| matches!(r.kind(), OpKind::Insert { .. }))
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

    /// An index answering `contains` in about constant time, for checking
    /// every reference of a decoded log.
    pub fn index(&self) -> RangeIndex<'_> {
        RangeIndex {
            agents: self.agents.iter().map(Buckets::of).collect(),
            ranges: self,
        }
    }
}

/// Per agent, sequence numbers cut into equal buckets, each knowing the
/// first range that reaches into it: a lookup searches only the few ranges
/// of one bucket. Buckets are at most twice as many as ranges, so hostile
/// sequence numbers cannot make the index large.
pub(crate) struct RangeIndex<'a> {
    ranges: &'a ItemRanges,
    agents: Vec<Buckets>,
}

struct Buckets {
    shift: u32,
    /// `first[b]`: index of the first range ending after bucket `b` starts.
    first: Vec<u32>,
}

impl Buckets {
    fn of(r: &AgentRanges) -> Buckets {
        let (n, max) = (r.starts.len(), r.ends.last().copied().unwrap_or(0));
        if n == 0 {
            return Buckets {
                shift: 0,
                first: Vec::new(),
            };
        }
        let mut shift = 0;
        while u64::from(max >> shift) + 1 > 2 * n as u64 {
            shift += 1;
        }
        let buckets = (max >> shift) as usize + 2;
        let mut first = Vec::with_capacity(buckets);
        let mut i = 0;
        for b in 0..buckets as u64 {
            while i < n && u64::from(r.ends[i]) <= b << shift {
                i += 1;
            }
            first.push(i as u32);
        }
        Buckets { shift, first }
    }
}

impl RangeIndex<'_> {
    /// True when items `lo..hi` of `agent` are all in the set.
    pub fn contains(&self, agent: u32, lo: u32, hi: u32) -> bool {
        let (Some(r), Some(b)) = (
            self.ranges.agents.get(agent as usize),
            self.agents.get(agent as usize),
        ) else {
            return false;
        };
        let bucket = (lo >> b.shift) as usize;
        if bucket + 1 >= b.first.len() {
            return false; // past the last range
        }
        // The range holding `lo` ends after the bucket starts (so it is at
        // or after `first[bucket]`) and starts before the next bucket (so
        // it is at or before `first[bucket + 1]`).
        let from = b.first[bucket] as usize;
        let to = (b.first[bucket + 1] as usize + 1).min(r.starts.len());
        let i = from + r.starts[from..to].partition_point(|&s| s <= lo);
        i > from && r.starts[i - 1] <= lo && hi <= r.ends[i - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    #[test]
    fn the_range_index_answers_like_a_search() {
        let mut rng = Rng::new(11);
        for round in 0..200 {
            // Ranges with random gaps, some agents empty, some far apart.
            let mut spans = Vec::new();
            for agent in 0..3u32 {
                let mut seq = rng.below(50) as u32 * if round % 7 == 0 { 1 << 20 } else { 1 };
                for _ in 0..rng.below(40) {
                    let len = 1 + rng.below(20) as u32;
                    spans.push((agent, seq, seq + len));
                    seq += len + rng.below(30) as u32 * if rng.chance(5) { 5000 } else { 1 };
                }
            }
            let ranges = ItemRanges::new(spans.iter().copied());
            let index = ranges.index();
            let max = spans.iter().map(|s| s.2).max().unwrap_or(0) + 10;
            for _ in 0..300 {
                let agent = rng.below(4) as u32;
                let lo = rng.below(max as usize) as u32;
                let hi = lo + 1 + rng.below(8) as u32;
                // A plain binary search over the merged ranges.
                let searched = ranges.agents.get(agent as usize).is_some_and(|r| {
                    let i = r.starts.partition_point(|&s| s <= lo);
                    i > 0 && hi <= r.ends[i - 1]
                });
                assert_eq!(
                    index.contains(agent, lo, hi),
                    searched,
                    "{agent} {lo}..{hi}"
                );
            }
        }
    }
}
