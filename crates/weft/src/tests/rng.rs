//! A tiny seeded generator (SplitMix64) so every random test is reproducible
//! from its seed without a dependency.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// Short random text mixing ASCII, newlines, accents, combining marks,
    /// CJK and astral characters.
    pub fn text(&mut self, max_chars: usize) -> String {
        const POOL: &[&str] = &[
            "a",
            "b",
            "c",
            " ",
            "\n",
            "\u{e9}",
            "e\u{301}",
            "\u{4e2d}",
            "\u{1F600}",
            "\u{1D11E}",
            "xyz",
            "\r\n",
        ];
        let n = 1 + self.below(max_chars);
        (0..n).map(|_| POOL[self.below(POOL.len())]).collect()
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }

    /// A random local edit of `doc` (code point indices): an insert of up to
    /// `max_chars` pieces, or, `delete_percent` of the time when there is
    /// text, a delete of up to `max_delete` characters.
    pub fn edit(
        &mut self,
        doc: &mut crate::Doc,
        delete_percent: u64,
        max_chars: usize,
        max_delete: usize,
    ) {
        use crate::IndexUnit::CodePoint;
        let len = doc.len(CodePoint);
        if len > 0 && self.chance(delete_percent) {
            let at = self.below(len);
            doc.delete(at, 1 + self.below((len - at).min(max_delete)), CodePoint)
                .unwrap();
        } else {
            let text = self.text(max_chars);
            doc.insert(self.below(len + 1), &text, CodePoint).unwrap();
        }
    }
}
