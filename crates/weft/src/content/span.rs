//! A span: a run of items with consecutive ids from one agent, adjacent in
//! document order and all visible or all deleted.

use crate::id::LocalId;

const DELETED: u32 = 1 << 31;

/// The longest span (and so the most items one operation can hold).
pub const MAX_SPAN_LEN: u32 = DELETED - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub agent: u32,
    pub seq: u32,
    len_and_flag: u32,
}

impl Span {
    pub fn new(agent: u32, seq: u32, len: u32, deleted: bool) -> Self {
        debug_assert!(len > 0 && len <= MAX_SPAN_LEN);
        Span {
            agent,
            seq,
            len_and_flag: len | if deleted { DELETED } else { 0 },
        }
    }
    #[inline]
    pub fn len(&self) -> u32 {
        self.len_and_flag & !DELETED
    }
    #[inline]
    pub fn deleted(&self) -> bool {
        self.len_and_flag & DELETED != 0
    }
    /// Visible characters in this span.
    #[inline]
    pub fn visible(&self) -> u32 {
        if self.deleted() {
            0
        } else {
            self.len()
        }
    }
    pub fn end_seq(&self) -> u32 {
        self.seq + self.len()
    }
    pub fn id_at(&self, offset: u32) -> LocalId {
        LocalId::new(self.agent, self.seq + offset)
    }
    pub fn contains(&self, agent: u32, seq: u32) -> bool {
        // One comparison for the range: below `self.seq` wraps to a large
        // distance (spans are far shorter than 2^31).
        seq.wrapping_sub(self.seq) < self.len() && self.agent == agent
    }
    pub fn set_len(&mut self, len: u32) {
        self.len_and_flag = len | (self.len_and_flag & DELETED);
    }
    /// Splits at `offset`, keeping the head in `self` and returning the tail.
    pub fn split(&mut self, offset: u32) -> Span {
        debug_assert!(offset > 0 && offset < self.len());
        let tail = Span::new(
            self.agent,
            self.seq + offset,
            self.len() - offset,
            self.deleted(),
        );
        self.set_len(offset);
        tail
    }
    /// True when `next` continues this span: same agent, next ids, same state.
    pub fn can_append(&self, next: &Span) -> bool {
        self.agent == next.agent
            && self.end_seq() == next.seq
            && self.deleted() == next.deleted()
            && self.len() + next.len() <= MAX_SPAN_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_exactly_its_own_items() {
        let s = Span::new(3, 10, 5, true);
        for seq in [0, 9, 15, 16, u32::MAX, u32::MAX - 4] {
            assert!(!s.contains(3, seq), "{seq}");
        }
        for seq in 10..15 {
            assert!(s.contains(3, seq));
            assert!(!s.contains(2, seq));
        }
        let first = Span::new(0, 0, 3, false);
        assert!(first.contains(0, 0) && first.contains(0, 2));
        assert!(!first.contains(0, 3) && !first.contains(0, u32::MAX));
    }
}
