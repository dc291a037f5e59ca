//! A loaded snapshot keeps its pages of spans and its history encoded until
//! they are needed. Editing, reading and merging such a document must behave
//! exactly as if it had been decoded whole: a copy that was is the oracle.

use super::rng::Rng;
use crate::{Bias, Doc, IndexUnit, IndexUnit::CodePoint, Version};

/// A document with a history: local edits, and another replica's merged in.
fn edited(rng: &mut Rng) -> Doc {
    let mut doc = Doc::new(1);
    let mut other = Doc::new(2);
    for i in 0..80 {
        rng.edit(&mut doc, 30, 4, 3);
        if i % 10 == 0 {
            rng.edit(&mut other, 20, 4, 2);
            let update = other.encode_update(&doc.version()).unwrap();
            doc.apply_update(&update, CodePoint).unwrap();
        }
    }
    doc
}

/// The same random local edit on both documents.
fn edit_both(rng: &mut Rng, a: &mut Doc, b: &mut Doc) {
    let len = a.len(CodePoint);
    if len > 0 && rng.chance(35) {
        let at = rng.below(len);
        let n = 1 + rng.below((len - at).min(6));
        a.delete(at, n, CodePoint).unwrap();
        b.delete(at, n, CodePoint).unwrap();
    } else {
        let text = rng.text(3);
        let at = rng.below(len + 1);
        a.insert(at, &text, CodePoint).unwrap();
        b.insert(at, &text, CodePoint).unwrap();
    }
}

/// Reads that need no decoding answer as the oracle does.
fn same_reads(rng: &mut Rng, lazy: &mut Doc, eager: &mut Doc) {
    assert_eq!(lazy.to_string(), eager.to_string());
    let len = eager.len(IndexUnit::Utf16);
    let (a, b) = (rng.below(len + 1), rng.below(len + 1));
    let (a, b) = (a.min(b), a.max(b));
    for unit in [IndexUnit::Utf16, IndexUnit::Utf8] {
        let i = rng.below(eager.len(unit) + 1);
        assert_eq!(
            lazy.convert_index(i, unit, CodePoint),
            eager.convert_index(i, unit, CodePoint)
        );
    }
    assert_eq!(
        lazy.slice(a, b, IndexUnit::Utf16),
        eager.slice(a, b, IndexUnit::Utf16)
    );
    let line = rng.below(eager.line_count());
    assert_eq!(
        lazy.line_start(line, IndexUnit::Utf16),
        eager.line_start(line, IndexUnit::Utf16)
    );
    let c = rng.below(eager.len(CodePoint) + 1);
    let bias = if rng.chance(50) {
        Bias::Left
    } else {
        Bias::Right
    };
    let sticky = lazy.sticky_index(c, bias, CodePoint).unwrap();
    assert_eq!(sticky, eager.sticky_index(c, bias, CodePoint).unwrap());
    assert_eq!(
        lazy.resolve_sticky(&sticky, CodePoint),
        eager.resolve_sticky(&sticky, CodePoint)
    );
}

#[test]
fn a_loaded_document_edits_reads_and_merges_as_if_decoded_whole() {
    let mut cold_seen = 0;
    for seed in 0..80 {
        let mut rng = Rng::new(seed);
        let mut source = edited(&mut rng);
        let bytes = source.encode_snapshot().unwrap();
        let mut lazy = Doc::from_snapshot(&bytes, 7).unwrap();
        let mut eager = Doc::from_snapshot(&bytes, 7).unwrap();
        eager.finish_loading().unwrap();
        let at_load = lazy.version();
        let mut peer = Doc::from_snapshot(&bytes, 8).unwrap();
        for step in 0..40 {
            cold_seen += lazy.tree.cold_leaves() as usize;
            match rng.below(10) {
                0..=5 => edit_both(&mut rng, &mut lazy, &mut eager),
                6 | 7 => same_reads(&mut rng, &mut lazy, &mut eager),
                // What the journal stores after each edit needs no decoding.
                8 => assert_eq!(
                    lazy.encode_update(&at_load).unwrap(),
                    eager.encode_update(&at_load).unwrap()
                ),
                // A peer's edits arrive late in the run, when some pages
                // have been decoded by edits and others not.
                _ if step > 25 => {
                    rng.edit(&mut peer, 30, 3, 3);
                    let update = peer.encode_update(&at_load).unwrap();
                    lazy.apply_update(&update, CodePoint).unwrap();
                    eager.apply_update(&update, CodePoint).unwrap();
                }
                _ => {}
            }
            lazy.check_invariants();
        }
        assert_eq!(lazy.to_string(), eager.to_string(), "seed {seed}");
        assert_eq!(
            lazy.encode_snapshot().unwrap(),
            eager.encode_snapshot().unwrap(),
            "seed {seed}: the operations differ"
        );
        assert_eq!(
            lazy.encode_update(&Version::new()).unwrap(),
            eager.encode_update(&Version::new()).unwrap()
        );
    }
    assert!(cold_seen > 1000, "the runs kept pages cold: {cold_seen}");
}

#[test]
fn loading_decodes_only_the_page_an_edit_touches() {
    let mut rng = Rng::new(5);
    let mut source = edited(&mut rng);
    let mut doc = Doc::from_snapshot(&source.encode_snapshot().unwrap(), 3).unwrap();
    let pages = doc.tree.cold_leaves();
    assert!(pages > 3, "{pages} pages");
    assert_eq!(doc.to_string(), source.to_string(), "the text is there");
    let mid = doc.len(CodePoint) / 2;
    doc.insert(mid, "x", CodePoint).unwrap();
    assert!(
        doc.tree.cold_leaves() >= pages - 3,
        "an insert decodes its page and at most its neighbours"
    );
    assert!(doc.history.is_encoded(), "and no history");
    doc.finish_loading().unwrap();
    assert_eq!(doc.tree.cold_leaves(), 0);
    assert!(!doc.history.is_encoded());
    doc.check_invariants();
}

#[test]
fn a_page_cannot_claim_items_typed_after_loading() {
    // A snapshot whose replica table undercounts replica 1's operations, as
    // only crafted bytes would: its pages hold items past the count.
    // The newest items (typed at the start) sit on the first page, the
    // oldest on the last.
    let mut source = Doc::new(1);
    source.insert(0, "the oldest text", CodePoint).unwrap();
    for _ in 0..16 {
        source.insert(0, "x", CodePoint).unwrap();
    }
    let bytes = source.encode_snapshot().unwrap();
    let body = &bytes[6..bytes.len() - 4];
    let mut r = crate::encoding::Reader::new(body);
    let table = crate::encoding::ops::read_table(&mut r).unwrap();
    assert_eq!(table.len(), 1);
    let mut w = crate::encoding::Writer::default();
    w.uvar(1);
    w.u64_le(1);
    w.uvar(0);
    w.uvar(u64::from(table[0].count - 6));
    w.bytes(r.rest());
    let crafted =
        crate::encoding::envelope::seal(crate::encoding::envelope::Kind::Snapshot, &w.into_bytes());
    // Loading as replica 1 continues its (understated) counter.
    let mut doc = Doc::from_snapshot(&crafted, 1).unwrap();
    let end = doc.len(CodePoint);
    doc.insert(end, "xyzxyz", CodePoint).unwrap();
    let before = doc.to_string();
    // The first page claims ids the counter has since handed out.
    assert!(doc.insert(0, "!", CodePoint).is_err());
    assert!(doc.finish_loading().is_err());
    assert_eq!(doc.to_string(), before);
}

#[test]
fn an_unchanged_document_gives_its_snapshot_without_decoding_its_history() {
    for seed in 0..20 {
        let mut rng = Rng::new(100 + seed);
        let mut source = edited(&mut rng);
        let bytes = source.encode_snapshot().unwrap();
        // Loaded by a replica that is in the snapshot, and by one that is not.
        for replica in [1, 9] {
            let mut doc = Doc::from_snapshot(&bytes, replica).unwrap();
            // Reads and sticky positions decode pages, never the history.
            let mid = doc.len(CodePoint) / 2;
            let _ = doc.sticky_index(mid, Bias::Left, CodePoint);
            assert_eq!(doc.encode_snapshot().unwrap(), bytes, "seed {seed}");
            assert!(doc.history.is_encoded(), "seed {seed}");
            doc.check_invariants();
            // Once something is applied, the history is written anew.
            doc.insert(0, "y", CodePoint).unwrap();
            let mut eager = Doc::from_snapshot(&bytes, replica).unwrap();
            eager.finish_loading().unwrap();
            eager.insert(0, "y", CodePoint).unwrap();
            assert_eq!(
                doc.encode_snapshot().unwrap(),
                eager.encode_snapshot().unwrap()
            );
        }
    }
}

#[test]
fn an_adopted_snapshot_stays_encoded_until_a_merge_needs_it() {
    let mut rng = Rng::new(44);
    let mut source = edited(&mut rng);
    let bytes = source.encode_snapshot().unwrap();
    let mut doc = Doc::new(7);
    doc.apply_update(&bytes, CodePoint).unwrap();
    assert_eq!(doc.to_string(), source.to_string());
    assert!(doc.history.is_encoded());
    assert!(doc.tree.cold_leaves() > 0);
    doc.check_invariants();
    // A later change of the source merges as into a decoded copy.
    let before = source.version();
    rng.edit(&mut source, 30, 4, 3);
    let update = source.encode_update(&before).unwrap();
    doc.apply_update(&update, CodePoint).unwrap();
    assert!(!doc.history.is_encoded());
    assert_eq!(doc.to_string(), source.to_string());
    assert_eq!(
        doc.encode_snapshot().unwrap(),
        source.encode_snapshot().unwrap()
    );
    doc.check_invariants();
}
