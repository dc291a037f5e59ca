//! Code-editing traces made from a typing trace: the benchmark's real
//! traces are mostly one character after another, while editing code
//! pastes, replaces and jumps about. [`code_editing`] types the characters
//! a trace inserts, in order, and mixes in those edits at the rates measured
//! on real code-editing traces (by patch: about 10% multi-character inserts,
//! 5-6% replacements, 12-13% inserts away from the previous position, 16-18%
//! deletes), checked against a plain string model. Seeded: one seed, one
//! trace, everywhere.

use crate::{Patch, Trace, Txn};
use jumprope::JumpRope;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Percent out of 1000.
    fn per_mille(&mut self) -> u64 {
        self.next() % 1000
    }
    /// A length from 1 to `max`, short ones likelier (log-uniform).
    fn length(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros();
        let cap = 1usize << self.below(bits as usize + 1);
        1 + self.below(cap.min(max))
    }
}

/// The document being edited, in a plain rope, with the cursor.
struct Model {
    text: JumpRope,
    cursor: usize,
}

/// A trace of `patches` patches that types `source`'s inserted characters
/// in order (over again if it runs out) and mixes in pastes (copies of 2 to
/// 120 characters of the document), replacements, jumps and deletes (see
/// the module comment). Named after `source` and `seed`; sequential, from
/// empty.
///
/// O(patches · log document length).
pub fn code_editing(source: &Trace, seed: u64, patches: usize) -> Trace {
    let count = patches.max(1);
    let mut typed = source
        .txns
        .iter()
        .flat_map(|t| &t.patches)
        .flat_map(|p| p.ins.chars())
        .filter(|&c| c != '\r')
        .cycle();
    // The source's name varies the edits too, not only the text typed.
    let name = source.name.bytes().fold(0u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    let mut rng = Rng((seed ^ name).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut m = Model {
        text: JumpRope::new(),
        cursor: 0,
    };
    let mut patches = Vec::with_capacity(count);
    while patches.len() < count {
        let len = m.text.len_chars();
        let roll = rng.per_mille();
        let patch = if len < 2 || roll >= 450 {
            // Typing on (55%).
            let c = typed.next().unwrap_or('x');
            Patch {
                pos: m.cursor,
                del: 0,
                ins: c.to_string(),
            }
        } else if roll < 100 {
            // A paste or an autocompletion: text already in the document.
            let n = rng.length(120).max(2).min(len);
            let from = rng.below(len - n + 1);
            Patch {
                pos: m.cursor,
                del: 0,
                ins: m.text.slice_chars(from..from + n).collect(),
            }
        } else if roll < 155 {
            // A replacement: a word or a line retyped.
            let n = rng.length(30).min(len);
            let pos = rng.below(len - n + 1);
            let k = rng.length(30);
            Patch {
                pos,
                del: n,
                ins: typed.by_ref().take(k).collect(),
            }
        } else if roll < 280 {
            // A jump: typing somewhere else.
            Patch {
                pos: rng.below(len + 1),
                del: 0,
                ins: typed.next().unwrap_or('x').to_string(),
            }
        } else if roll < 400 || m.cursor == 0 {
            // A backspace (or a delete forwards at the start).
            let pos = m.cursor.saturating_sub(1).min(len - 1);
            Patch {
                pos,
                del: 1,
                ins: String::new(),
            }
        } else {
            // A selection deleted.
            let n = rng.length(40).min(len);
            Patch {
                pos: rng.below(len - n + 1),
                del: n,
                ins: String::new(),
            }
        };
        m.apply(&patch);
        patches.push(patch);
    }
    Trace {
        name: format!("{}-code-{seed}", source.name),
        start: String::new(),
        end: m.text.to_string(),
        concurrent: false,
        agents: 1,
        txns: patches
            .into_iter()
            .enumerate()
            .map(|(i, p)| Txn {
                parents: if i == 0 { Vec::new() } else { vec![i - 1] },
                agent: 0,
                patches: vec![p],
            })
            .collect(),
    }
}

impl Model {
    fn apply(&mut self, p: &Patch) {
        if p.del > 0 {
            self.text.remove(p.pos..p.pos + p.del);
        }
        self.text.insert(p.pos, &p.ins);
        self.cursor = p.pos + p.ins.chars().count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Trace {
        let patches = (0..2000)
            .map(|i| Patch {
                pos: i,
                del: 0,
                ins: ["a", "b", "c", "\n", "é", "😀"][i % 6].into(),
            })
            .collect();
        Trace {
            name: "typing".into(),
            start: String::new(),
            end: String::new(),
            concurrent: false,
            agents: 1,
            txns: vec![Txn {
                parents: Vec::new(),
                agent: 0,
                patches,
            }],
        }
    }

    #[test]
    fn mixes_edits_at_the_code_editing_rates_and_ends_as_replayed() {
        let trace = code_editing(&source(), 7, 2000);
        assert_eq!(trace, code_editing(&source(), 7, 2000), "seeded");
        let patches: Vec<&Patch> = trace.txns.iter().flat_map(|t| &t.patches).collect();
        assert_eq!(patches.len(), 2000);
        let share = |f: &dyn Fn(&Patch) -> bool| {
            patches.iter().filter(|p| f(p)).count() as f64 / patches.len() as f64
        };
        let multi = share(&|p| p.del == 0 && p.ins.chars().count() > 1);
        let replace = share(&|p| p.del > 0 && !p.ins.is_empty());
        let delete = share(&|p| p.del > 0 && p.ins.is_empty());
        assert!((0.07..0.13).contains(&multi), "{multi}");
        assert!((0.035..0.075).contains(&replace), "{replace}");
        assert!((0.13..0.21).contains(&delete), "{delete}");
        // Replayed on a plain string, the patches give the end text.
        let mut text: Vec<char> = Vec::new();
        let mut away = 0;
        let mut last_end = 0;
        for p in &patches {
            if p.pos != last_end {
                away += 1;
            }
            let ins: Vec<char> = p.ins.chars().collect();
            last_end = p.pos + ins.len();
            text.splice(p.pos..p.pos + p.del, ins);
        }
        assert_eq!(text.iter().collect::<String>(), trace.end);
        assert!(away > patches.len() / 10, "jumps: {away}");
    }
}
