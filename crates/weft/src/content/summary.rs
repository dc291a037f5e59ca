//! Per-node summaries: sizes of a subtree in every unit.

use crate::unit::TextMetrics;
use crate::IndexUnit;

/// What a subtree holds: items including tombstones, and the visible text's
/// size in code points, UTF-16 units, bytes and newlines. Deltas are applied
/// with wrapping arithmetic so one type serves for growth and shrinkage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub items: u32,
    pub text: TextMetrics,
}

impl Summary {
    pub fn add(&mut self, o: &Summary) {
        self.items = self.items.wrapping_add(o.items);
        self.text.chars = self.text.chars.wrapping_add(o.text.chars);
        self.text.utf16 = self.text.utf16.wrapping_add(o.text.utf16);
        self.text.bytes = self.text.bytes.wrapping_add(o.text.bytes);
        self.text.lines = self.text.lines.wrapping_add(o.text.lines);
    }

    /// The delta that undoes `self`.
    pub fn negated(&self) -> Summary {
        let n = |x: u32| 0u32.wrapping_sub(x);
        Summary {
            items: n(self.items),
            text: TextMetrics {
                chars: n(self.text.chars),
                utf16: n(self.text.utf16),
                bytes: n(self.text.bytes),
                lines: n(self.text.lines),
            },
        }
    }
}

/// Which quantity of a summary a search descends by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Text(IndexUnit),
    Lines,
}

impl Metric {
    #[inline]
    pub fn of(self, s: &Summary) -> u32 {
        match self {
            Metric::Text(u) => s.text.get(u),
            Metric::Lines => s.text.lines,
        }
    }
}
