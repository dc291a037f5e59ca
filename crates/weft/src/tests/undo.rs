//! The undo manager: examples, a single-user model check, and seeded
//! multi-replica runs where replicas undo and redo while edits cross.

use super::oracle::{apply_patches, boundary};
use super::rng::Rng;
use crate::IndexUnit::{self, CodePoint, Utf16};
use crate::{Bias, Doc, ReplicaId, Selection, UndoManager, Version};

/// Past any capture window: each recorded change is a step of its own.
const APART: f64 = 10_000.0;

fn sync(from: &mut Doc, to: &mut Doc) {
    to.apply_update(&from.encode_update(&to.version()).unwrap(), Utf16)
        .unwrap();
}

/// An editor: a document, its undo manager and a clock.
struct User {
    doc: Doc,
    undo: UndoManager,
    now: f64,
}

impl User {
    fn new(replica: ReplicaId) -> User {
        let doc = Doc::new(replica);
        let undo = UndoManager::new(&doc, 500.0, 100);
        User {
            doc,
            undo,
            now: 0.0,
        }
    }

    fn insert(&mut self, at: usize, text: &str) {
        self.doc.insert(at, text, Utf16).unwrap();
        self.now += APART;
        self.undo.record(&self.doc, self.now, None);
    }

    fn delete(&mut self, at: usize, len: usize) {
        self.doc.delete(at, len, Utf16).unwrap();
        self.now += APART;
        self.undo.record(&self.doc, self.now, None);
    }

    fn undo(&mut self) -> bool {
        self.undo
            .undo(&mut self.doc, None, Utf16)
            .unwrap()
            .is_some()
    }

    fn redo(&mut self) -> bool {
        self.undo
            .redo(&mut self.doc, None, Utf16)
            .unwrap()
            .is_some()
    }

    fn text(&self) -> String {
        self.doc.to_string()
    }
}

#[test]
fn undo_leaves_other_replicas_typing_alone() {
    let mut ada = User::new(1);
    let mut bob = User::new(2);
    ada.insert(0, "local ");
    sync(&mut ada.doc, &mut bob.doc);
    bob.insert(6, "REMOTE");
    sync(&mut bob.doc, &mut ada.doc);
    assert_eq!(ada.text(), "local REMOTE");
    assert!(ada.undo());
    assert_eq!(ada.text(), "REMOTE");
    assert!(!ada.undo(), "the remote word is not Ada's to undo");
    assert_eq!(ada.text(), "REMOTE");
    sync(&mut ada.doc, &mut bob.doc);
    assert_eq!(bob.text(), "REMOTE");
    assert!(ada.redo());
    sync(&mut ada.doc, &mut bob.doc);
    assert_eq!(ada.text(), "local REMOTE");
    assert_eq!(bob.text(), "local REMOTE");
}

#[test]
fn undoing_a_delete_puts_the_text_back_where_it_was_after_remote_edits() {
    let mut ada = User::new(1);
    let mut bob = User::new(2);
    ada.insert(0, "one two three");
    sync(&mut ada.doc, &mut bob.doc);
    ada.delete(3, 4); // "one three"
    bob.insert(0, ">> ");
    bob.insert(16, " <<");
    sync(&mut bob.doc, &mut ada.doc);
    sync(&mut ada.doc, &mut bob.doc);
    assert_eq!(ada.text(), ">> one three <<");
    assert!(ada.undo());
    assert_eq!(ada.text(), ">> one two three <<");
    sync(&mut ada.doc, &mut bob.doc);
    assert_eq!(bob.text(), ada.text());
}

#[test]
fn undo_deletes_text_that_an_undo_inserted_again() {
    let mut u = User::new(1);
    u.insert(0, "abc");
    u.delete(1, 1);
    assert!(u.undo());
    assert_eq!(u.text(), "abc");
    assert!(u.undo());
    assert_eq!(u.text(), "", "the b put back by the first undo goes too");
    assert!(u.redo());
    assert_eq!(u.text(), "abc");
    assert!(u.redo());
    assert_eq!(u.text(), "ac");
    assert!(!u.redo());
}

#[test]
fn changes_within_the_capture_window_are_one_step() {
    let mut doc = Doc::new(1);
    let mut undo = UndoManager::new(&doc, 500.0, 100);
    for (i, c) in "hello".chars().enumerate() {
        doc.insert(i, &c.to_string(), CodePoint).unwrap();
        undo.record(&doc, i as f64 * 100.0, None);
    }
    doc.insert(5, "!", CodePoint).unwrap();
    undo.record(&doc, 1000.0, None);
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "hello");
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "");
    assert!(!undo.can_undo());
    assert!(undo.can_redo());
}

#[test]
fn typing_then_backspacing_in_one_step_undoes_to_the_start() {
    let mut doc = Doc::new(1);
    let mut undo = UndoManager::new(&doc, 500.0, 100);
    doc.insert(0, "abc", CodePoint).unwrap();
    undo.record(&doc, 0.0, None);
    doc.delete(2, 1, CodePoint).unwrap();
    undo.record(&doc, 10.0, None);
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "");
    undo.redo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "ab");
}

#[test]
fn stop_capturing_starts_a_step() {
    let mut doc = Doc::new(1);
    let mut undo = UndoManager::new(&doc, 500.0, 100);
    doc.insert(0, "a", CodePoint).unwrap();
    undo.record(&doc, 0.0, None);
    undo.stop_capturing();
    doc.insert(1, "b", CodePoint).unwrap();
    undo.record(&doc, 1.0, None);
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "a");
}

#[test]
fn a_new_edit_clears_redo_and_the_oldest_steps_are_forgotten() {
    let mut doc = Doc::new(1);
    let mut undo = UndoManager::new(&doc, 0.0, 2);
    for (i, s) in ["a", "b", "c"].iter().enumerate() {
        doc.insert(i, s, CodePoint).unwrap();
        undo.record(&doc, i as f64, None);
    }
    assert!(undo.undo(&mut doc, None, CodePoint).unwrap().is_some());
    assert!(undo.undo(&mut doc, None, CodePoint).unwrap().is_some());
    assert!(undo.undo(&mut doc, None, CodePoint).unwrap().is_none());
    assert_eq!(doc.to_string(), "a");
    undo.redo(&mut doc, None, CodePoint).unwrap();
    assert!(undo.can_redo());
    doc.insert(0, "x", CodePoint).unwrap();
    undo.record(&doc, 10.0, None);
    assert!(!undo.can_redo());
    assert!(undo.redo(&mut doc, None, CodePoint).unwrap().is_none());
}

#[test]
fn skipped_edits_and_other_managers_edits_are_not_undone() {
    let mut doc = Doc::new(1);
    let mut mine = UndoManager::new(&doc, 0.0, 100);
    let mut other = UndoManager::new(&doc, 0.0, 100);
    doc.insert(0, "mine ", CodePoint).unwrap();
    mine.record(&doc, 0.0, None);
    other.skip(&doc);
    doc.insert(5, "theirs", CodePoint).unwrap();
    other.record(&doc, 1.0, None);
    mine.skip(&doc);
    mine.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "theirs");
    other.skip(&doc);
    other.undo(&mut doc, None, CodePoint).unwrap();
    mine.skip(&doc);
    assert_eq!(doc.to_string(), "");
    mine.redo(&mut doc, None, CodePoint).unwrap();
    other.skip(&doc);
    assert_eq!(doc.to_string(), "mine ");
}

#[test]
fn a_step_brings_back_its_selection() {
    let mut doc = Doc::new(1);
    doc.insert(0, "hello", CodePoint).unwrap();
    let mut undo = UndoManager::new(&doc, 0.0, 100);
    let caret = |doc: &mut Doc, i| {
        let s = doc.sticky_index(i, Bias::Right, CodePoint).unwrap();
        Selection { anchor: s, head: s }
    };
    let before = caret(&mut doc, 5);
    doc.insert(5, " world", CodePoint).unwrap();
    undo.record(&doc, 0.0, Some(before));
    // The caret after " world" holds on to the "d": undo deletes it, redo
    // inserts it again as a new character, which the caret then follows.
    let now = Selection {
        anchor: doc.sticky_index(11, Bias::Right, CodePoint).unwrap(),
        head: doc.sticky_index(11, Bias::Left, CodePoint).unwrap(),
    };
    let undone = undo.undo(&mut doc, Some(now), CodePoint).unwrap().unwrap();
    assert_eq!(undone.selection, Some(before));
    assert_eq!(
        undone.patches,
        vec![crate::Patch::Delete { index: 5, len: 6 }]
    );
    let redone = undo.redo(&mut doc, None, CodePoint).unwrap().unwrap();
    let head = redone.selection.unwrap().head;
    assert_ne!(head, now.head, "it follows the new character");
    assert_eq!(doc.resolve_sticky(&head, CodePoint).unwrap(), 11);
    assert_eq!(doc.resolve_sticky(&now.head, CodePoint).unwrap(), 5);
}

#[test]
fn undo_after_a_reload_of_a_snapshot_with_the_deleted_text() {
    let mut doc = Doc::new(1);
    doc.insert(0, "keep this text", CodePoint).unwrap();
    doc.delete(4, 5, CodePoint).unwrap();
    let mut doc = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 2).unwrap();
    let mut undo = UndoManager::new(&doc, 0.0, 100);
    doc.insert(0, "x", CodePoint).unwrap();
    undo.record(&doc, 0.0, None);
    doc.delete(0, 5, CodePoint).unwrap(); // "x" and "keep"
    undo.record(&doc, 1.0, None);
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "xkeep text");
    undo.undo(&mut doc, None, CodePoint).unwrap();
    assert_eq!(doc.to_string(), "keep text");
    doc.check_invariants();
}

/// One user alone, any edits, undo and redo at random: each undo brings
/// back the text before its step, each redo the text after it, and the
/// patches reproduce every change.
fn single_user(seed: u64) {
    let mut rng = Rng::new(seed);
    let unit = [CodePoint, Utf16, IndexUnit::Utf8][rng.below(3)];
    let mut doc = Doc::new(seed + 1);
    let limit = 3 + rng.below(20);
    let mut undo = UndoManager::new(&doc, 0.0, limit);
    // Texts after each step (`done[0]` before the first), and undone ones.
    let mut done = vec![String::new()];
    let mut undone: Vec<String> = Vec::new();
    let mut editor = String::new();
    for t in 0..300 {
        match rng.below(10) {
            0..=5 => {
                let a = boundary(&mut rng, &editor, unit);
                if editor.is_empty() || rng.chance(60) {
                    let text = rng.text(6);
                    doc.insert(a, &text, unit).unwrap();
                } else {
                    let b = boundary(&mut rng, &editor, unit);
                    doc.delete(a.min(b), a.max(b) - a.min(b), unit).unwrap();
                }
                editor = doc.to_string();
                if doc.local_clock() > 0 && done.last() != Some(&editor) {
                    undo.record(&doc, f64::from(t), None);
                    done.push(editor.clone());
                    if done.len() > limit + 1 {
                        done.remove(0);
                    }
                    undone.clear();
                }
            }
            6..=7 => {
                let applied = undo.undo(&mut doc, None, unit).unwrap();
                assert_eq!(applied.is_some(), done.len() > 1, "seed {seed}");
                if let Some(applied) = applied {
                    apply_patches(&mut editor, &applied.patches, unit);
                    undone.push(done.pop().unwrap());
                    assert_eq!(&editor, done.last().unwrap(), "seed {seed}: undo");
                }
            }
            _ => {
                let applied = undo.redo(&mut doc, None, unit).unwrap();
                assert_eq!(applied.is_some(), !undone.is_empty(), "seed {seed}");
                if let Some(applied) = applied {
                    apply_patches(&mut editor, &applied.patches, unit);
                    done.push(undone.pop().unwrap());
                    assert_eq!(&editor, done.last().unwrap(), "seed {seed}: redo");
                }
            }
        }
        assert_eq!(editor, doc.to_string(), "seed {seed}: patches");
    }
    doc.check_invariants();
}

#[test]
fn undo_and_redo_restore_each_text_of_a_single_user() {
    for seed in 0..150 {
        single_user(seed);
    }
}

/// The visible items of replicas other than `doc`'s own, by global id.
fn others_visible(doc: &Doc) -> Vec<(ReplicaId, u32)> {
    let mut out = Vec::new();
    for (span, _) in doc.tree.spans() {
        if span.agent != doc.me && !span.deleted() {
            let replica = doc.history.replica(span.agent);
            out.extend((span.seq..span.end_seq()).map(|s| (replica, s)));
        }
    }
    out.sort_unstable();
    out
}

/// Several users edit, undo and redo while updates cross in any order,
/// duplicated, across partitions: undo and redo never remove another
/// user's visible text, and every replica ends identical.
fn many_users(seed: u64) {
    let mut rng = Rng::new(seed);
    let n = 2 + rng.below(3);
    let mut users: Vec<User> = (0..n).map(|i| User::new(seed * 8 + i as u64 + 1)).collect();
    let mut sent = vec![Version::new(); n];
    let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for _ in 0..300 {
        let i = rng.below(n);
        let u = &mut users[i];
        match rng.below(12) {
            0..=4 => {
                rng.edit(&mut u.doc, 35, 5, 8);
                u.now += rng.below(800) as f64;
                u.undo.record(&u.doc, u.now, None);
            }
            5..=7 => {
                let others = others_visible(&u.doc);
                let undo = rng.chance(70);
                let applied = if undo {
                    u.undo.undo(&mut u.doc, None, CodePoint)
                } else {
                    u.undo.redo(&mut u.doc, None, CodePoint)
                };
                applied.unwrap();
                assert_eq!(
                    others,
                    others_visible(&u.doc),
                    "seed {seed}: undo took others' text"
                );
            }
            8..=9 => {
                let update = u.doc.encode_update(&sent[i]).unwrap();
                sent[i] = u.doc.version();
                for (j, inbox) in inbox.iter_mut().enumerate() {
                    if j != i && !rng.chance(10) {
                        inbox.push(update.clone());
                        if rng.chance(10) {
                            inbox.push(update.clone());
                        }
                    }
                }
            }
            _ => {
                if !inbox[i].is_empty() {
                    let k = rng.below(inbox[i].len());
                    let msg = inbox[i].swap_remove(k);
                    u.doc.apply_update(&msg, CodePoint).unwrap();
                }
            }
        }
    }
    for a in 0..n {
        for b in 0..n {
            if a != b {
                let version = users[b].doc.version();
                let update = users[a].doc.encode_update(&version).unwrap();
                users[b].doc.apply_update(&update, CodePoint).unwrap();
            }
        }
    }
    let text = users[0].text();
    for u in &users {
        u.doc.check_invariants();
        assert_eq!(u.text(), text, "seed {seed}: replicas diverged");
    }
}

#[test]
fn replicas_that_undo_and_redo_converge_and_keep_each_others_text() {
    for seed in 0..80 {
        many_users(seed);
    }
}
