//! Random local edits checked against a `String` in every index unit.

use super::rng::Rng;
use crate::{Doc, Error, IndexUnit};

const UNITS: [IndexUnit; 3] = [IndexUnit::CodePoint, IndexUnit::Utf16, IndexUnit::Utf8];

pub(super) fn unit_len(s: &str, unit: IndexUnit) -> usize {
    match unit {
        IndexUnit::CodePoint => s.chars().count(),
        IndexUnit::Utf16 => s.encode_utf16().count(),
        IndexUnit::Utf8 => s.len(),
    }
}

/// Byte offset of the `index`-th unit, or `None` inside a character.
pub(super) fn unit_to_byte(s: &str, index: usize, unit: IndexUnit) -> Option<usize> {
    let mut units = 0;
    for (b, c) in s.char_indices() {
        if units == index {
            return Some(b);
        }
        units += match unit {
            IndexUnit::CodePoint => 1,
            IndexUnit::Utf16 => c.len_utf16(),
            IndexUnit::Utf8 => c.len_utf8(),
        };
        if units > index {
            return None;
        }
    }
    (units == index).then_some(s.len())
}

/// A random index on a character boundary in `unit`.
pub(super) fn boundary(rng: &mut Rng, s: &str, unit: IndexUnit) -> usize {
    let chars = s.chars().count();
    let c = rng.below(chars + 1);
    let b = s.char_indices().nth(c).map_or(s.len(), |(b, _)| b);
    unit_len(&s[..b], unit)
}

/// Applies patches (indexed in `unit`) to `s`, as an editor would.
pub(super) fn apply_patches(s: &mut String, patches: &[crate::Patch], unit: IndexUnit) {
    for p in patches {
        match p {
            crate::Patch::Insert { index, text } => {
                let b = unit_to_byte(s, *index, unit).expect("patch index on a boundary");
                s.insert_str(b, text);
            }
            crate::Patch::Delete { index, len } => {
                let from = unit_to_byte(s, *index, unit).expect("patch index on a boundary");
                let to = unit_to_byte(s, index + len, unit).expect("patch end on a boundary");
                s.replace_range(from..to, "");
            }
        }
    }
}

fn check_against(doc: &Doc, oracle: &str) {
    assert_eq!(doc.to_string(), oracle);
    for unit in UNITS {
        assert_eq!(doc.len(unit), unit_len(oracle, unit), "{unit:?}");
    }
    assert_eq!(doc.line_count(), oracle.matches('\n').count() + 1);
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let mut doc = Doc::new(seed);
    let mut oracle = String::new();
    for step in 0..steps {
        let unit = *rng.pick(&UNITS);
        let len = unit_len(&oracle, unit);
        match rng.below(10) {
            0..=4 => {
                let at = boundary(&mut rng, &oracle, unit);
                let max = if rng.chance(5) { 80 } else { 6 };
                let text = rng.text(max);
                doc.insert(at, &text, unit).unwrap();
                oracle.insert_str(unit_to_byte(&oracle, at, unit).unwrap(), &text);
            }
            5..=7 if !oracle.is_empty() => {
                let a = boundary(&mut rng, &oracle, unit);
                let b = boundary(&mut rng, &oracle, unit);
                let (a, b) = (a.min(b), a.max(b).min(a.min(b) + 12));
                let Some(bb) = unit_to_byte(&oracle, b, unit) else {
                    continue;
                };
                doc.delete(a, b - a, unit).unwrap();
                oracle.replace_range(unit_to_byte(&oracle, a, unit).unwrap()..bb, "");
            }
            8 => {
                // Reads and conversions at a random index, valid or not.
                let i = rng.below(len + 3);
                match unit_to_byte(&oracle, i, unit) {
                    Some(b) => {
                        let j = boundary(&mut rng, &oracle, unit).max(i);
                        let jb = unit_to_byte(&oracle, j, unit).unwrap();
                        assert_eq!(doc.slice(i, j, unit).unwrap(), &oracle[b..jb]);
                        let line = oracle[..b].matches('\n').count();
                        let line_start = oracle[..b].rfind('\n').map_or(0, |p| p + 1);
                        assert_eq!(
                            doc.line_column(i, unit).unwrap(),
                            (line, i - unit_len(&oracle[..line_start], unit))
                        );
                        assert_eq!(
                            doc.line_start(line, unit).unwrap(),
                            unit_len(&oracle[..line_start], unit)
                        );
                        for to in UNITS {
                            assert_eq!(
                                doc.convert_index(i, unit, to).unwrap(),
                                unit_len(&oracle[..b], to)
                            );
                        }
                    }
                    None if i > len => {
                        assert_eq!(
                            doc.insert(i, "x", unit),
                            Err(Error::IndexOutOfBounds {
                                index: i,
                                len,
                                unit
                            })
                        );
                    }
                    None => {
                        assert_eq!(
                            doc.insert(i, "x", unit),
                            Err(Error::NotCharBoundary { index: i, unit })
                        );
                        assert_eq!(
                            doc.delete(i, 0, unit),
                            Err(Error::NotCharBoundary { index: i, unit })
                        );
                    }
                }
            }
            _ => {}
        }
        if step % 50 == 0 {
            doc.check_invariants();
            check_against(&doc, &oracle);
        }
    }
    doc.check_invariants();
    check_against(&doc, &oracle);
}

#[test]
fn random_local_edits_match_a_string() {
    for seed in 0..40 {
        run(seed, 600);
    }
}

#[test]
#[ignore = "soak: many more seeds and steps"]
fn random_local_edits_match_a_string_soak() {
    for seed in 1000..1400 {
        run(seed, 5000);
    }
}

#[test]
fn errors_name_the_index_and_length() {
    let mut doc = Doc::new(1);
    doc.insert(0, "a\u{1F600}b", IndexUnit::Utf16).unwrap();
    assert_eq!(
        doc.insert(2, "x", IndexUnit::Utf16),
        Err(Error::NotCharBoundary {
            index: 2,
            unit: IndexUnit::Utf16
        })
    );
    assert_eq!(
        doc.delete(3, 2, IndexUnit::Utf8),
        Err(Error::NotCharBoundary {
            index: 3,
            unit: IndexUnit::Utf8
        })
    );
    assert_eq!(
        doc.delete(1, 9, IndexUnit::CodePoint),
        Err(Error::IndexOutOfBounds {
            index: 10,
            len: 3,
            unit: IndexUnit::CodePoint
        })
    );
    assert!(doc
        .delete(usize::MAX, 2, IndexUnit::CodePoint)
        .unwrap_err()
        .to_string()
        .contains("out of bounds"));
    assert_eq!(
        doc.slice(2, 1, IndexUnit::CodePoint),
        Err(Error::InvalidRange { start: 2, end: 1 })
    );
    assert_eq!(
        doc.line_start(1, IndexUnit::Utf8),
        Err(Error::LineOutOfBounds { line: 1, lines: 1 })
    );
    assert_eq!(doc.to_string(), "a\u{1F600}b");
    doc.check_invariants();
}

#[test]
fn a_large_insert_is_split_across_leaves() {
    let mut doc = Doc::new(1);
    let big: String = (0..5000)
        .map(|i| if i % 7 == 0 { '\u{1F600}' } else { 'q' })
        .collect();
    doc.insert(0, &big, IndexUnit::Utf16).unwrap();
    doc.insert(2500, "MID", IndexUnit::CodePoint).unwrap();
    doc.check_invariants();
    let mut expect = big.clone();
    let b = expect.char_indices().nth(2500).unwrap().0;
    expect.insert_str(b, "MID");
    assert_eq!(doc.to_string(), expect);
}
