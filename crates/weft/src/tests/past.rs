//! The text at earlier versions, diffs between them and restoring one,
//! checked against the texts a replica actually showed.

use super::decode::update_without_deleted_text;
use super::oracle::apply_patches;
use super::rng::Rng;
use crate::IndexUnit::{CodePoint, Utf16, Utf8};
use crate::{Doc, Error, UndoManager, Version};

/// Replica 0 edits with others whose updates reach it in any order; after
/// every step it notes its version and text. Each noted text must come
/// back from `text_at`, every diff must turn one into another, and
/// restoring one must bring it back and converge with a peer.
fn observed(seed: u64) {
    let mut rng = Rng::new(seed);
    let n = 2 + rng.below(2);
    let mut docs: Vec<Doc> = (0..n).map(|i| Doc::new(seed * 4 + i as u64 + 1)).collect();
    let mut inbox: Vec<Vec<u8>> = Vec::new();
    let mut seen: Vec<(Version, String)> = vec![(Version::new(), String::new())];
    for _ in 0..150 {
        let i = rng.below(n);
        match rng.below(6) {
            0..=2 => rng.edit(&mut docs[i], 40, 5, 6),
            3 if i > 0 => {
                let v = docs[0].version();
                inbox.push(docs[i].encode_update(&v).unwrap());
            }
            4 if i > 0 => {
                let v = docs[i].version();
                let update = docs[0].encode_update(&v).unwrap();
                docs[i].apply_update(&update, CodePoint).unwrap();
            }
            _ => {
                if !inbox.is_empty() {
                    let k = rng.below(inbox.len());
                    let msg = inbox.swap_remove(k);
                    docs[0].apply_update(&msg, CodePoint).unwrap();
                }
            }
        }
        let text = docs[0].to_string();
        if seen.last().is_none_or(|(_, t)| *t != text) {
            seen.push((docs[0].version(), text));
        }
    }
    let doc = &mut docs[0];
    let mut reloaded = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 99).unwrap();
    for (version, text) in &seen {
        assert_eq!(&doc.text_at(version).unwrap(), text, "seed {seed}");
        // The log holds operations in the order they were applied here.
        let n = version.iter().map(|(_, n)| u64::from(n)).sum();
        assert_eq!(
            &doc.version_at_operation(n).unwrap(),
            version,
            "seed {seed}"
        );
        assert_eq!(&reloaded.version_at_operation(n).unwrap(), version);
    }
    let all = doc.operation_count();
    assert_eq!(doc.version_at_operation(all + 5).unwrap(), doc.version());
    for _ in 0..20 {
        let (a, b) = (rng.pick(&seen).clone(), rng.pick(&seen).clone());
        let unit = *rng.pick(&[CodePoint, Utf16, Utf8]);
        let mut text = a.1.clone();
        apply_patches(&mut text, &doc.diff(&a.0, &b.0, unit).unwrap(), unit);
        assert_eq!(text, b.1, "seed {seed}: diff");
        let by_replica = doc.diff_by_replica(&a.0, &b.0, unit).unwrap();
        let mut text = a.1.clone();
        let patches: Vec<_> = by_replica.into_iter().map(|(p, _)| p).collect();
        apply_patches(&mut text, &patches, unit);
        assert_eq!(text, b.1, "seed {seed}: diff by replica");
    }
    // Restore an old version: the text comes back, and a peer converges.
    let (version, old) = rng.pick(&seen).clone();
    let mut shown = doc.to_string();
    let patches = doc.restore(&version, Utf16).unwrap();
    apply_patches(&mut shown, &patches, Utf16);
    assert_eq!(doc.to_string(), old, "seed {seed}: restore");
    assert_eq!(shown, old, "seed {seed}: restore's patches");
    doc.check_invariants();
    for (from, to) in [(0, 1), (1, 0)] {
        let v = docs[to].version();
        let update = docs[from].encode_update(&v).unwrap();
        docs[to].apply_update(&update, CodePoint).unwrap();
    }
    assert_eq!(docs[0].to_string(), docs[1].to_string(), "seed {seed}");
}

#[test]
fn past_texts_diffs_and_restores_match_what_a_replica_showed() {
    for seed in 0..80 {
        observed(seed);
    }
}

#[test]
fn a_restore_is_undone_like_any_edit_and_survives_a_reload() {
    let mut doc = Doc::new(1);
    doc.insert(0, "first draft", CodePoint).unwrap();
    let draft = doc.version();
    doc.delete(0, 6, CodePoint).unwrap();
    doc.insert(5, " and final", CodePoint).unwrap();
    assert_eq!(doc.to_string(), "draft and final");
    // A reload keeps the deleted text in the snapshot.
    let mut doc = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 2).unwrap();
    assert_eq!(doc.text_at(&draft).unwrap(), "first draft");
    let mut undo = UndoManager::new(&doc, 0.0, 10);
    doc.restore(&draft, CodePoint).unwrap();
    undo.record(&doc, 0.0, None);
    assert_eq!(doc.to_string(), "first draft");
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "draft and final");
    assert_eq!(
        doc.diff(&draft, &doc.version(), CodePoint).unwrap(),
        vec![
            crate::Patch::Delete { index: 0, len: 6 },
            crate::Patch::Insert {
                index: 5,
                text: " and final".into()
            }
        ]
    );
}

#[test]
fn unknown_versions_and_unknown_deleted_text_are_errors() {
    let mut a = Doc::new(1);
    a.insert(0, "abc", CodePoint).unwrap();
    let with_b = a.version();
    a.delete(1, 1, CodePoint).unwrap();
    let mut future = a.version();
    future.set(1, 99);
    assert!(matches!(a.text_at(&future), Err(Error::UnknownVersion)));
    let mut stranger = Version::new();
    stranger.set(7, 1);
    assert!(matches!(a.text_at(&stranger), Err(Error::UnknownVersion)));
    // "b" reaches this replica already deleted, with its text...
    let update = a.encode_update(&Version::new()).unwrap();
    let mut told = Doc::new(3);
    told.apply_update(&update, CodePoint).unwrap();
    assert_eq!(told.text_at(&with_b).unwrap(), "abc");
    // ... or from a replica that did not know it: its text never did.
    let mut late = Doc::new(2);
    late.apply_update(&update_without_deleted_text(&update), CodePoint)
        .unwrap();
    assert!(matches!(
        late.text_at(&with_b),
        Err(Error::DeletedTextUnknown)
    ));
    assert!(matches!(
        late.restore(&with_b, CodePoint),
        Err(Error::DeletedTextUnknown)
    ));
    assert_eq!(late.to_string(), "ac", "a refused restore changes nothing");
    assert_eq!(late.text_at(&late.version()).unwrap(), "ac");
}
