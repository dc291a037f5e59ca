//! Continued typing takes a quick path (the tree's cursor, the last span and
//! operation run grown in place), and so does backspacing (the cursor left
//! by a delete, a deleted span grown in place). They must make exactly the
//! operations the general path makes: a replica that never takes them is
//! the oracle.

use super::rng::Rng;
use crate::{Doc, IndexUnit::CodePoint};

/// Applies the same local edits and remote updates to a replica that types
/// the quick way and to one that never does; both end byte-identical.
#[test]
fn continued_typing_makes_the_operations_the_general_path_makes() {
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let mut quick = Doc::new(1);
        let mut general = Doc::new(1);
        let mut other = Doc::new(2);
        let mut at = 0;
        for _ in 0..120 {
            let len = quick.len(CodePoint);
            match rng.below(10) {
                // Mostly typing on from where the last keystroke went.
                0..=5 => {
                    let text = rng.text(2);
                    at = at.min(len);
                    quick.insert(at, &text, CodePoint).unwrap();
                    general.tree.forget_cursor();
                    general.insert(at, &text, CodePoint).unwrap();
                    at += text.chars().count();
                }
                6 => at = rng.below(len + 1),
                // Backspacing, which the quick path continues too.
                7 if at > 0 && at <= len => {
                    at -= 1;
                    quick.delete(at, 1, CodePoint).unwrap();
                    general.tree.forget_cursor();
                    general.delete(at, 1, CodePoint).unwrap();
                }
                8 if len > 0 => {
                    let from = rng.below(len);
                    let n = 1 + rng.below((len - from).min(3));
                    quick.delete(from, n, CodePoint).unwrap();
                    general.delete(from, n, CodePoint).unwrap();
                }
                // Someone else edits, and it arrives mid-word.
                _ => {
                    rng.edit(&mut other, 30, 3, 3);
                    let update = other.encode_update(&quick.version()).unwrap();
                    quick.apply_update(&update, CodePoint).unwrap();
                    general.apply_update(&update, CodePoint).unwrap();
                    other
                        .apply_update(&quick.encode_update(&other.version()).unwrap(), CodePoint)
                        .unwrap();
                }
            }
            quick.check_invariants();
        }
        general.check_invariants();
        assert_eq!(quick.to_string(), general.to_string(), "seed {seed}");
        assert_eq!(
            quick.encode_snapshot().unwrap(),
            general.encode_snapshot().unwrap(),
            "seed {seed}: the operations differ"
        );
    }
}

#[test]
fn a_typed_word_is_one_span_and_one_operation_run() {
    let mut doc = Doc::new(1);
    doc.insert(0, "ab", CodePoint).unwrap();
    for (i, c) in "hello".chars().enumerate() {
        doc.insert(1 + i, &c.to_string(), CodePoint).unwrap();
    }
    // Typing at the end of the document takes the same path.
    for (i, c) in " there".chars().enumerate() {
        doc.insert(7 + i, &c.to_string(), CodePoint).unwrap();
    }
    doc.check_invariants();
    assert_eq!(doc.to_string(), "ahellob there");
    // "a", "hello", "b", " there": the split of "ab" and two typed runs.
    assert_eq!(doc.history.logged_runs(), 3);
    assert_eq!(doc.stats().spans, 4);
}

#[test]
fn backspacing_and_deleting_forwards_keep_one_deleted_span() {
    let mut doc = Doc::new(1);
    doc.insert(0, "hello world", CodePoint).unwrap();
    for at in (6..11).rev() {
        doc.delete(at, 1, CodePoint).unwrap();
    }
    for _ in 0..3 {
        doc.delete(0, 1, CodePoint).unwrap();
    }
    doc.check_invariants();
    assert_eq!(doc.to_string(), "lo ");
    // "hel" deleted, "lo " visible, "world" deleted.
    assert_eq!(doc.stats().spans, 3);
}
