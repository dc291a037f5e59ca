//! Encoding round trips: snapshots reload to the same state, updates since
//! any version bring a replica at that version to the full state, versions
//! and sticky positions survive bytes.

use super::rng::Rng;
use crate::{Bias, Doc, Error, IndexUnit, IndexUnit::CodePoint, StickyIndex, Version};

/// Three replicas editing with occasional syncs; returns them and the states
/// (clone, version) the first passed through.
fn history(seed: u64, steps: usize) -> (Vec<Doc>, Vec<(Doc, Version)>) {
    let mut rng = Rng::new(seed);
    let mut docs: Vec<Doc> = (0..3).map(|i| Doc::new(seed * 10 + i)).collect();
    let mut saved = Vec::new();
    for _ in 0..steps {
        let i = rng.below(3);
        rng.edit(&mut docs[i], 35, 8, 6);
        if rng.chance(15) {
            let j = rng.below(3);
            let u = {
                let v = docs[j].version();
                docs[i].encode_update(&v)
            }
            .unwrap();
            docs[j].apply_update(&u, CodePoint).unwrap();
        }
        if rng.chance(10) {
            saved.push((docs[0].clone(), docs[0].version()));
        }
    }
    (docs, saved)
}

#[test]
fn snapshots_reload_to_the_same_state() {
    for seed in 0..20 {
        let (mut docs, _) = history(seed, 300);
        for i in 0..docs.len() {
            let d = &mut docs[i].clone();
            let bytes = d.encode_snapshot().unwrap();
            let mut loaded = Doc::from_snapshot(&bytes, 777).unwrap();
            loaded.check_invariants();
            assert_eq!(loaded.to_string(), d.to_string());
            assert_eq!(loaded.version(), d.version());
            let again = loaded.encode_snapshot().unwrap();
            let first_diff = again.iter().zip(&bytes).position(|(a, b)| a != b);
            assert!(again == bytes, "snapshots are deterministic: {} vs {} bytes, first difference at {first_diff:?}; runs {} vs {}", again.len(), bytes.len(), loaded.history.logged_runs(), d.history.logged_runs());
            // The loaded document merges like the original.
            let mut orig = d.clone();
            for other in &mut docs {
                let u = other.encode_update(&d.version()).unwrap();
                assert_eq!(
                    orig.apply_update(&u, CodePoint).unwrap(),
                    loaded.apply_update(&u, CodePoint).unwrap()
                );
            }
            loaded.insert(0, "x", CodePoint).unwrap();
            loaded.check_invariants();
        }
    }
}

#[test]
fn large_documents_round_trip_and_keystrokes_stay_small() {
    let mut rng = Rng::new(5);
    let mut d = Doc::new(8);
    for _ in 0..2000 {
        let len = d.len(CodePoint);
        let text = rng.text(6);
        d.insert(rng.below(len + 1), &text, CodePoint).unwrap();
    }
    let loaded = Doc::from_snapshot(&d.encode_snapshot().unwrap(), 9).unwrap();
    loaded.check_invariants();
    assert_eq!(loaded.to_string(), d.to_string());
    let mut fresh = Doc::new(10);
    fresh
        .apply_update(&d.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    assert_eq!(fresh.to_string(), d.to_string());
    let v = d.version();
    d.insert(0, "k", CodePoint).unwrap();
    let small = d.encode_update(&v).unwrap();
    assert!(
        small.len() < 40,
        "a one-character update takes {} bytes",
        small.len()
    );
}

#[test]
fn reloading_as_the_same_replica_continues_its_counter() {
    let mut a = Doc::new(5);
    a.insert(0, "abc", CodePoint).unwrap();
    let mut again = Doc::from_snapshot(&a.encode_snapshot().unwrap(), 5).unwrap();
    again.insert(3, "d", CodePoint).unwrap();
    assert_eq!(again.version().get(5), 4);
    a.apply_update(&again.encode_update(&a.version()).unwrap(), CodePoint)
        .unwrap();
    assert_eq!(a.to_string(), "abcd");
}

#[test]
fn updates_since_any_version_give_the_full_state() {
    for seed in 0..20 {
        let (mut docs, saved) = history(seed, 300);
        // Bring every replica to the same final state first.
        for _ in 0..2 {
            for i in 0..3 {
                for j in 0..3 {
                    let u = {
                        let v = docs[j].version();
                        docs[i].encode_update(&v)
                    }
                    .unwrap();
                    docs[j].apply_update(&u, CodePoint).unwrap();
                }
            }
        }
        let full = &mut docs[1];
        for (mut old, v) in saved {
            let u = full.encode_update(&v).unwrap();
            old.apply_update(&u, CodePoint).unwrap();
            old.check_invariants();
            assert_eq!(old.to_string(), full.to_string());
            assert_eq!(old.version(), full.version());
        }
        // A snapshot applied as an update merges too.
        let mut fresh = Doc::new(999);
        fresh.insert(0, "mine", CodePoint).unwrap();
        fresh
            .apply_update(&full.encode_snapshot().unwrap(), CodePoint)
            .unwrap();
        fresh.check_invariants();
        assert!(fresh.version().includes(&full.version()));
        assert_eq!(fresh.len(CodePoint), full.len(CodePoint) + 4);
    }
}

#[test]
fn versions_round_trip() {
    let v: Version = [(1, 5), (u64::MAX, 7), (42, 1)].into_iter().collect();
    assert_eq!(Version::decode(&v.encode()).unwrap(), v);
    assert!(Version::decode(&[1]).is_err());
    assert!(Version::decode(&[]).is_err());
}

#[test]
fn sticky_positions_follow_their_character() {
    let mut a = Doc::new(1);
    a.insert(0, "ab", CodePoint).unwrap();
    let left = a.sticky_index(1, Bias::Left, CodePoint).unwrap();
    let right = a.sticky_index(1, Bias::Right, CodePoint).unwrap();
    let end = a.sticky_index(2, Bias::Right, CodePoint).unwrap();
    let start = a.sticky_index(0, Bias::Left, CodePoint).unwrap();
    a.insert(1, "XYZ", CodePoint).unwrap();
    assert_eq!(a.resolve_sticky(&left, CodePoint).unwrap(), 1);
    assert_eq!(a.resolve_sticky(&right, CodePoint).unwrap(), 4);
    // Through bytes, and on another replica after concurrent edits.
    let right = StickyIndex::decode(&right.encode()).unwrap();
    let mut b = Doc::new(2);
    assert_eq!(
        b.resolve_sticky(&right, CodePoint),
        Err(Error::UnknownAnchor)
    );
    b.apply_update(&a.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    b.insert(0, "\u{1F600}", CodePoint).unwrap();
    assert_eq!(b.resolve_sticky(&right, IndexUnit::Utf16).unwrap(), 6);
    assert_eq!(b.resolve_sticky(&right, IndexUnit::Utf8).unwrap(), 8);
    // Deleting the anchor leaves the position where the character was.
    b.delete(1, 1, CodePoint).unwrap(); // 'a'
    assert_eq!(b.resolve_sticky(&left, CodePoint).unwrap(), 1);
    b.delete(4, 1, CodePoint).unwrap(); // 'b'
    assert_eq!(b.resolve_sticky(&right, CodePoint).unwrap(), 4);
    assert_eq!(b.resolve_sticky(&end, CodePoint).unwrap(), 4);
    assert_eq!(b.resolve_sticky(&start, CodePoint).unwrap(), 0);
    assert_eq!(StickyIndex::decode(&end.encode()).unwrap(), end);
    assert!(StickyIndex::decode(&[1, 7, 0]).is_err());
    assert!(StickyIndex::decode(&[1, 0, 1, 3]).is_err());
}

/// The model: visible characters and the cursor, plus whether the anchor
/// character is still there (inserting exactly at a cursor whose right-hand
/// anchor was deleted puts the text after the cursor, as the character is
/// gone and the text lands after its tombstone).
#[test]
fn sticky_positions_resolve_like_an_oracle_under_random_edits() {
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        let mut doc = Doc::new(3);
        let initial = rng.text(12);
        doc.insert(0, &initial, CodePoint).unwrap();
        let len = doc.len(CodePoint);
        let mut cursor = rng.below(len + 1);
        let bias = if rng.chance(50) {
            Bias::Left
        } else {
            Bias::Right
        };
        let sticky = doc.sticky_index(cursor, bias, CodePoint).unwrap();
        // Index of the anchor among visible characters, if it still exists.
        let mut anchor: Option<usize> = match bias {
            Bias::Left => cursor.checked_sub(1),
            Bias::Right => (cursor < len).then_some(cursor),
        };
        let created_without_anchor = anchor.is_none();
        for _ in 0..30 {
            let len = doc.len(CodePoint);
            if len > 0 && rng.chance(40) {
                let i = rng.below(len);
                doc.delete(i, 1, CodePoint).unwrap();
                if i < cursor {
                    cursor -= 1;
                }
                anchor = match anchor {
                    Some(a) if a == i => None,
                    Some(a) if a > i => Some(a - 1),
                    a => a,
                };
            } else {
                let i = rng.below(len + 1);
                doc.insert(i, "z", CodePoint).unwrap();
                let before_cursor = i < cursor
                    || (i == cursor
                        && bias == Bias::Right
                        && (anchor.is_some() || created_without_anchor));
                if before_cursor {
                    cursor += 1;
                }
                if let Some(a) = anchor {
                    if i <= a {
                        anchor = Some(a + 1);
                    }
                }
            }
            assert_eq!(doc.resolve_sticky(&sticky, CodePoint).unwrap(), cursor);
        }
    }
}

#[test]
fn a_snapshot_applied_to_an_empty_document_is_adopted_whole() {
    for seed in 0..10 {
        let (mut docs, _) = history(seed, 200);
        let snapshot = docs[1].encode_snapshot().unwrap();
        let mut empty = Doc::new(4242);
        let patches = empty.apply_update(&snapshot, CodePoint).unwrap();
        empty.check_invariants();
        assert_eq!(empty.to_string(), docs[1].to_string());
        assert_eq!(empty.version(), docs[1].version());
        assert_eq!(empty.replica(), 4242);
        if !empty.is_empty() {
            assert_eq!(patches.len(), 1, "one insert of the whole text");
        }
        // It goes on like a merged document: local edits under its own id,
        // and merges with the others.
        empty.insert(0, "mine ", CodePoint).unwrap();
        assert_eq!(empty.version().get(4242), 5);
        let mut other = docs[0].clone();
        other
            .apply_update(&empty.encode_update(&other.version()).unwrap(), CodePoint)
            .unwrap();
        empty
            .apply_update(&docs[0].encode_update(&empty.version()).unwrap(), CodePoint)
            .unwrap();
        empty.check_invariants();
        assert_eq!(other.to_string(), empty.to_string());
    }
}

#[test]
fn a_snapshot_is_merged_not_adopted_once_anything_happened() {
    let (mut docs, _) = history(3, 200);
    let mut doc = Doc::new(4242);
    doc.insert(0, "local", CodePoint).unwrap();
    doc.delete(0, 5, CodePoint).unwrap(); // empty text, but a history
    doc.apply_update(&docs[2].encode_snapshot().unwrap(), CodePoint)
        .unwrap();
    doc.check_invariants();
    assert_eq!(doc.to_string(), docs[2].to_string());
    assert_eq!(
        doc.version().get(4242),
        10,
        "its own inserts and deletes are kept"
    );
}

#[test]
fn snapshots_of_highly_repetitive_text_round_trip() {
    // Its columns deflate far below a byte per span: a length check against
    // the packed bytes once refused this valid snapshot.
    let line = "The quick brown fox jumps over the lazy dog, 0123456789 ✓ 😀.\n";
    let mut doc = Doc::new(1);
    while doc.len(IndexUnit::Utf16) < 100_000 {
        let middle = doc.len(IndexUnit::Utf16) / 2;
        doc.insert(middle, line, IndexUnit::Utf16).unwrap();
    }
    let bytes = doc.encode_snapshot().unwrap();
    // Each page of spans adds a directory entry and a column header, and
    // its text's sizes and column (deflated with the dictionary: a few
    // matches of the line; pages hold 5 spans in tests).
    let pages = doc
        .stats()
        .spans
        .div_ceil(crate::encoding::pages::PAGE_SPANS);
    assert!(
        bytes.len() < 2_000 + 48 * pages,
        "it is that repetitive: {} bytes, {pages} pages",
        bytes.len()
    );
    let loaded = Doc::from_snapshot(&bytes, 2).unwrap();
    loaded.check_invariants();
    assert_eq!(loaded.to_string(), doc.to_string());
    let mut empty = Doc::new(3);
    empty.apply_update(&bytes, CodePoint).unwrap();
    assert_eq!(empty.to_string(), doc.to_string());
}

#[test]
fn quiet_merges_reach_the_same_state_as_watched_ones() {
    for seed in 0..10 {
        let (mut docs, saved) = history(seed, 300);
        for (base, version) in saved.iter().take(4) {
            for other in &mut docs {
                let update = other.encode_update(version).unwrap();
                let mut loud = base.clone();
                let mut quiet = base.clone();
                loud.apply_update(&update, CodePoint).unwrap();
                quiet.apply_update_in(&update, None).unwrap();
                quiet.check_invariants();
                assert_eq!(quiet.to_string(), loud.to_string());
                assert_eq!(quiet.version(), loud.version());
                assert_eq!(
                    quiet.encode_snapshot().unwrap(),
                    loud.encode_snapshot().unwrap()
                );
            }
        }
    }
}
