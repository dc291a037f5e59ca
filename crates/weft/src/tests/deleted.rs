//! Deleted text is kept: every item deleted while visible at a replica has
//! its text there, through merges, snapshot round trips and lazy loading,
//! checked against an oracle that remembers the text of every id inserted.

use super::decode::{update_without_deleted_text, with_whole_text, without_deleted_text};
use super::rng::Rng;
use crate::{Doc, IndexUnit::CodePoint, OpId, ReplicaId, Version};
use std::collections::{HashMap, HashSet};

/// The text of every item ever inserted, by id.
#[derive(Default)]
struct Oracle(HashMap<(ReplicaId, u32), char>);

impl Oracle {
    /// Inserts `text` at `at` in `doc` and remembers its ids.
    fn insert(&mut self, doc: &mut Doc, at: usize, text: &str) {
        let seq = doc.version().get(doc.replica());
        doc.insert(at, text, CodePoint).unwrap();
        for (i, c) in text.chars().enumerate() {
            self.0.insert((doc.replica(), seq + i as u32), c);
        }
    }

    /// The text of items `seq..seq + len` of `replica`, if all were inserted.
    fn text(&self, replica: ReplicaId, seq: u32, len: u32) -> Option<String> {
        (seq..seq + len)
            .map(|s| self.0.get(&(replica, s)))
            .collect()
    }
}

/// The ids of `doc`'s visible items (from a decoded copy: reading them
/// must not decode what loading deferred in `doc` itself).
fn visible_ids(doc: &Doc) -> HashSet<(ReplicaId, u32)> {
    let hot = doc.thawed().unwrap();
    let doc = hot.as_ref().unwrap_or(doc);
    let mut ids = HashSet::new();
    for (s, _) in doc.tree.spans() {
        if !s.deleted() {
            let replica = doc.history.replica(s.agent);
            ids.extend((s.seq..s.end_seq()).map(|q| (replica, q)));
        }
    }
    ids
}

struct Replica {
    doc: Doc,
    /// Every item ever visible here.
    seen: HashSet<(ReplicaId, u32)>,
}

impl Replica {
    fn saw(&mut self) {
        self.seen.extend(visible_ids(&self.doc));
    }

    /// Every item seen visible and deleted since has its text; whatever
    /// text is known is the oracle's.
    /// Returns how many deleted items it checked.
    fn check(&mut self, oracle: &Oracle, rng: &mut Rng) -> usize {
        let visible = visible_ids(&self.doc);
        let mut gone: Vec<_> = self.seen.difference(&visible).copied().collect();
        gone.sort_unstable();
        for &(replica, seq) in &gone {
            let id = OpId { replica, seq };
            assert_eq!(
                self.doc.deleted_text(id, 1).unwrap(),
                oracle.text(replica, seq, 1),
                "deleted item {id:?}"
            );
        }
        // Ranges: known text is the oracle's, and a range of known items is
        // known as a whole.
        for _ in 0..10 {
            let Some(&(replica, seq)) = gone.get(rng.below(gone.len().max(1))) else {
                break;
            };
            let len = 1 + rng.below(6) as u32;
            let got = self
                .doc
                .deleted_text(OpId { replica, seq }, len as usize)
                .unwrap();
            let all_gone = (seq..seq + len).all(|s| gone.binary_search(&(replica, s)).is_ok());
            if all_gone {
                assert_eq!(got, oracle.text(replica, seq, len), "{replica}:{seq}+{len}");
            } else if let Some(text) = got {
                assert_eq!(Some(text), oracle.text(replica, seq, len));
            }
        }
        for &(replica, seq) in visible.iter().take(5) {
            let id = OpId { replica, seq };
            assert_eq!(
                self.doc.deleted_text(id, 1).unwrap(),
                None,
                "visible {id:?}"
            );
        }
        self.doc.check_invariants();
        gone.len()
    }
}

/// Returns how many deleted items the final checks covered.
fn run(seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut oracle = Oracle::default();
    let mut replicas: Vec<Replica> = (1..=3)
        .map(|r| Replica {
            doc: Doc::new(r * 100 + seed),
            seen: HashSet::new(),
        })
        .collect();
    for step in 0..160 {
        let i = rng.below(replicas.len());
        match rng.below(10) {
            0..=4 => {
                let doc = &mut replicas[i].doc;
                let len = doc.len(CodePoint);
                if len > 0 && rng.chance(40) {
                    let at = rng.below(len);
                    let n = 1 + rng.below((len - at).min(8));
                    doc.delete(at, n, CodePoint).unwrap();
                } else {
                    let text = rng.text(4);
                    oracle.insert(doc, rng.below(len + 1), &text);
                }
            }
            5..=7 => {
                // Merge what another replica has.
                let j = rng.below(replicas.len());
                let since = replicas[i].doc.version();
                let update = replicas[j].doc.encode_update(&since).unwrap();
                replicas[i].doc.apply_update(&update, CodePoint).unwrap();
            }
            8 => {
                // Reload from a snapshot: its deleted text stays encoded
                // while editing and merging go on.
                let r = &mut replicas[i];
                let bytes = r.doc.encode_snapshot().unwrap();
                r.doc = Doc::from_snapshot(&bytes, r.doc.replica()).unwrap();
                assert!(
                    r.doc.deleted.is_encoded(),
                    "loading decodes no deleted text"
                );
            }
            _ => {
                replicas[i].check(&oracle, &mut rng);
            }
        }
        replicas[i].saw();
        if step % 40 == 39 {
            for r in &mut replicas {
                r.check(&oracle, &mut rng);
            }
        }
    }
    let mut checked = 0;
    for r in &mut replicas {
        checked += r.check(&oracle, &mut rng);
        // A snapshot round trip keeps it all, decoded or not.
        let bytes = r.doc.encode_snapshot().unwrap();
        let mut loaded = Doc::from_snapshot(&bytes, 999).unwrap();
        assert_eq!(
            loaded.encode_snapshot().unwrap(),
            bytes,
            "unchanged, as stored"
        );
        assert!(loaded.deleted.is_encoded());
        loaded.check_invariants();
        std::mem::swap(&mut r.doc, &mut loaded);
        r.check(&oracle, &mut rng);
        // Its snapshot, decoded, is the same bytes.
        assert_eq!(r.doc.encode_snapshot().unwrap(), bytes);
    }
    checked
}

#[test]
fn deleted_text_matches_what_was_inserted_across_merges_and_snapshots() {
    let checked: usize = (0..40).map(run).sum();
    assert!(checked > 2000, "only {checked} deleted items checked");
}

#[test]
#[ignore = "soak run"]
fn deleted_text_soak() {
    for seed in 1000..3000 {
        run(seed);
    }
}

#[test]
fn typing_and_backspacing_keep_one_piece_and_text_in_order() {
    let mut doc = Doc::new(1);
    doc.insert(0, "hello w\u{f6}rld", CodePoint).unwrap();
    for at in (5..11).rev() {
        doc.delete(at, 1, CodePoint).unwrap(); // backspacing
    }
    doc.delete(0, 2, CodePoint).unwrap();
    doc.delete(0, 1, CodePoint).unwrap(); // forwards
    assert_eq!(doc.to_string(), "lo");
    let id = |seq| OpId { replica: 1, seq };
    assert_eq!(
        doc.deleted_text(id(5), 6).unwrap().as_deref(),
        Some(" w\u{f6}rld")
    );
    assert_eq!(doc.deleted_text(id(0), 3).unwrap().as_deref(), Some("hel"));
    assert_eq!(
        doc.deleted_text(id(0), 4).unwrap(),
        None,
        "item 3 is visible"
    );
    assert_eq!(doc.deleted_text(id(99), 1).unwrap(), None, "no such item");
    assert_eq!(
        doc.deleted_text(OpId { replica: 7, seq: 0 }, 1).unwrap(),
        None
    );
    doc.check_invariants();
}

/// Wide text (not all ASCII) is kept in short pieces, so a lookup inside
/// a long deletion does not scan it from its start; every stretch of it,
/// at any offset, reads back as deleted.
#[test]
fn long_wide_deletions_read_back_at_every_offset() {
    let wide: String = (0..500)
        .map(|i| ['\u{6587}', 'a', '\u{1f600}', '\u{e9}'][i % 4])
        .collect();
    let mut doc = Doc::new(1);
    doc.insert(0, &wide, CodePoint).unwrap();
    doc.insert(500, &wide, CodePoint).unwrap();
    doc.delete(0, 500, CodePoint).unwrap(); // one deletion
    for _ in 0..500 {
        doc.delete(0, 1, CodePoint).unwrap(); // forwards, one at a time
    }
    assert_eq!(doc.to_string(), "");
    doc.check_invariants();
    let chars: Vec<char> = wide.chars().collect();
    for base in [0, 500] {
        for (from, len) in [(0, 500), (1, 63), (63, 2), (64, 64), (100, 333), (499, 1)] {
            let id = OpId {
                replica: 1,
                seq: base + from,
            };
            let expected: String = chars[from as usize..(from + len) as usize].iter().collect();
            assert_eq!(
                doc.deleted_text(id, len as usize).unwrap(),
                Some(expected),
                "{base} + {from}..+{len}"
            );
        }
    }
}

#[test]
fn an_insert_that_arrives_deleted_brings_its_text() {
    let mut a = Doc::new(1);
    a.insert(0, "ab\u{e9}\u{1F600}cd", CodePoint).unwrap();
    a.delete(1, 4, CodePoint).unwrap();
    a.insert(2, "xy", CodePoint).unwrap();
    a.delete(3, 1, CodePoint).unwrap();
    let mut b = Doc::new(2);
    b.apply_update(&a.encode_update(&b.version()).unwrap(), CodePoint)
        .unwrap();
    assert_eq!(b.to_string(), "adx");
    let id = |seq| OpId { replica: 1, seq };
    assert_eq!(
        b.deleted_text(id(1), 4).unwrap().as_deref(),
        Some("b\u{e9}\u{1F600}c")
    );
    assert_eq!(b.deleted_text(id(11), 1).unwrap().as_deref(), Some("y"));
    b.check_invariants();
    // Passed on from b, through an update and a snapshot merged into a
    // document with a history of its own.
    let mut c = Doc::new(3);
    c.insert(0, "C", CodePoint).unwrap();
    let mut d = c.clone();
    // (Loaded from a snapshot: its own deleted text still encoded.)
    let mut e = Doc::from_snapshot(&c.encode_snapshot().unwrap(), 4).unwrap();
    c.apply_update(&b.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    d.apply_update(&b.encode_snapshot().unwrap(), CodePoint)
        .unwrap();
    e.apply_update(&b.encode_snapshot().unwrap(), CodePoint)
        .unwrap();
    for doc in [&mut c, &mut d, &mut e] {
        assert_eq!(
            doc.deleted_text(id(2), 3).unwrap().as_deref(),
            Some("\u{e9}\u{1F600}c")
        );
        assert_eq!(doc.deleted_text(id(11), 1).unwrap().as_deref(), Some("y"));
        doc.check_invariants();
    }
}

#[test]
fn an_insert_that_arrives_deleted_without_its_text_learns_it_later() {
    let mut a = Doc::new(1);
    a.insert(0, "abc", CodePoint).unwrap();
    a.delete(1, 1, CodePoint).unwrap();
    let update = a.encode_update(&Version::new()).unwrap();
    let mut b = Doc::new(2);
    b.apply_update(&update_without_deleted_text(&update), CodePoint)
        .unwrap();
    let b_id = OpId { replica: 1, seq: 1 };
    assert_eq!(a.deleted_text(b_id, 1).unwrap().as_deref(), Some("b"));
    assert_eq!(b.deleted_text(b_id, 1).unwrap(), None);
    // The same operations again, from a replica that knows the text.
    let mut learner = b.clone();
    learner.apply_update(&update, CodePoint).unwrap();
    assert_eq!(learner.deleted_text(b_id, 1).unwrap().as_deref(), Some("b"));
    learner.check_invariants();
    // Through a snapshot the unknown stays unknown, the known known.
    b.delete(0, 1, CodePoint).unwrap();
    let mut c = Doc::from_snapshot(&b.encode_snapshot().unwrap(), 3).unwrap();
    assert_eq!(c.deleted_text(b_id, 1).unwrap(), None);
    let a_id = OpId { replica: 1, seq: 0 };
    assert_eq!(c.deleted_text(a_id, 1).unwrap().as_deref(), Some("a"));
    c.check_invariants();
}

/// A snapshot written by the code before deleted text was kept (on main,
/// `weft-bench`'s old example): it loads, edits and merges as before, its
/// deleted items' text unknown; what is deleted afterwards is kept.
#[test]
fn a_snapshot_from_before_deleted_text_loads() {
    let old = include_bytes!("../../tests/old-format/snapshot_before_deleted_text.bin");
    let mut doc = Doc::from_snapshot(old, 5).unwrap();
    assert_eq!(
        doc.to_string(),
        "Start:  there w\u{f6}rld\n\u{1F600} and more text"
    );
    doc.check_invariants();
    assert!(!doc.deleted.is_encoded());
    // Unchanged, it writes its snapshot with the new sections (deleted text
    // all unknown, each page its text): else as it was.
    let again = doc.encode_snapshot().unwrap();
    assert_eq!(with_whole_text(&again), old.to_vec());
    doc.finish_loading().unwrap();
    for seq in 0..40 {
        assert_eq!(
            doc.deleted_text(OpId { replica: 11, seq }, 1).unwrap(),
            None
        );
    }
    let first = doc.version().get(5);
    doc.delete(0, 5, CodePoint).unwrap();
    let mut reloaded = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 6).unwrap();
    let id = OpId { replica: 5, seq: 0 };
    assert_eq!(first, 0);
    // The five deleted were typed by replica 22 ("Start"): known now.
    let mut known = String::new();
    for seq in 0..60 {
        if let Some(t) = reloaded.deleted_text(OpId { replica: 22, seq }, 1).unwrap() {
            known.push_str(&t);
        }
    }
    assert_eq!(known, "Start");
    assert_eq!(reloaded.deleted_text(id, 1).unwrap(), None);
    reloaded.check_invariants();
    // The same document written without the section loads the same text.
    let mut d = Doc::new(1);
    d.insert(0, "abcdef", CodePoint).unwrap();
    d.delete(1, 2, CodePoint).unwrap();
    let older = without_deleted_text(&d.encode_snapshot().unwrap());
    let mut loaded = Doc::from_snapshot(&older, 2).unwrap();
    assert_eq!(loaded.to_string(), "adef");
    assert_eq!(
        loaded.deleted_text(OpId { replica: 1, seq: 1 }, 2).unwrap(),
        None
    );
    loaded.check_invariants();
}

#[test]
fn typing_after_loading_keeps_the_deleted_text_encoded() {
    let mut d = Doc::new(1);
    d.insert(0, &"some text to delete, ".repeat(40), CodePoint)
        .unwrap();
    d.delete(10, 300, CodePoint).unwrap();
    let bytes = d.encode_snapshot().unwrap();
    let mut loaded = Doc::from_snapshot(&bytes, 1).unwrap();
    loaded.insert(3, "typed", CodePoint).unwrap();
    loaded.delete(0, 2, CodePoint).unwrap();
    assert!(loaded.deleted.is_encoded());
    loaded.check_invariants();
    assert!(loaded.deleted.is_encoded(), "the checks decode a copy");
    let id = |seq| OpId { replica: 1, seq };
    assert_eq!(
        loaded.deleted_text(id(0), 2).unwrap().as_deref(),
        Some("so")
    );
    let expected: String = "some text to delete, "
        .repeat(40)
        .chars()
        .skip(10)
        .take(300)
        .collect();
    assert_eq!(loaded.deleted_text(id(10), 300).unwrap(), Some(expected));
    assert!(!loaded.deleted.is_encoded());
    loaded.check_invariants();
}
