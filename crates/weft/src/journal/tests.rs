//! The journal against an in-memory backend with fault injection: a crash at
//! every write step, the step either not happening or torn, loses nothing
//! that was acknowledged, and damage is reported, never fatal.

use super::*;
use crate::tests::rng::Rng;
use crate::{DecodeError, Doc, Error, IndexUnit::CodePoint, Version};
use std::collections::BTreeMap;

/// One write a backend performs.
#[derive(Debug, Clone)]
enum Write {
    Record(u64, Vec<u8>),
    Checkpoint(u64, Vec<u8>),
    DeleteRecords(Vec<u64>),
    DeleteCheckpoints(Vec<u64>),
}

#[derive(Debug, Clone, Default)]
struct Store {
    records: BTreeMap<u64, Vec<u8>>,
    checkpoints: BTreeMap<u64, Vec<u8>>,
}

impl Store {
    fn apply(&mut self, w: &Write) {
        match w {
            Write::Record(k, b) => drop(self.records.insert(*k, b.clone())),
            Write::Checkpoint(k, b) => drop(self.checkpoints.insert(*k, b.clone())),
            Write::DeleteRecords(keys) => self.records.retain(|r, _| !keys.contains(r)),
            Write::DeleteCheckpoints(keys) => self.checkpoints.retain(|c, _| !keys.contains(c)),
        }
    }

    /// The write interrupted half way: half the bytes of a put, half the
    /// keys of a delete.
    fn apply_torn(&mut self, w: &Write) {
        match w {
            Write::Record(k, b) => drop(self.records.insert(*k, b[..b.len() / 2].to_vec())),
            Write::Checkpoint(k, b) => drop(self.checkpoints.insert(*k, b[..b.len() / 2].to_vec())),
            Write::DeleteRecords(keys) => {
                for r in &keys[..keys.len() / 2] {
                    self.records.remove(r);
                }
            }
            Write::DeleteCheckpoints(keys) => {
                for c in &keys[..keys.len() / 2] {
                    self.checkpoints.remove(c);
                }
            }
        }
    }

    fn open(&self, replica: u64) -> Opened {
        open(
            replica,
            self.checkpoints.iter().map(|(k, v)| (*k, &v[..])),
            self.records.iter().map(|(k, v)| (*k, &v[..])),
        )
    }
}

/// A writing session: random edits, each appended as a record as a
/// `Journal` says, compacting when it says. Returns the writes and, for
/// each, the text that is durable once it completes.
fn session(seed: u64, edits: usize, policy: CompactionPolicy) -> (Vec<Write>, Vec<String>) {
    let mut rng = Rng::new(seed);
    let mut doc = Doc::new(seed);
    let mut journal = Journal::empty(policy);
    let mut writes = Vec::new();
    let mut durable = Vec::new();
    let mut last_key = 0u64;
    for _ in 0..edits {
        rng.edit(&mut doc, 30, 5, 4);
        let unsaved = journal
            .unsaved(&mut doc)
            .unwrap()
            .expect("an edit to store");
        last_key += 1 + rng.below(3) as u64; // keys need only increase
        let record = encode_record(last_key, &unsaved.update);
        journal.appended(last_key, record.len() as u64, unsaved);
        writes.push(Write::Record(last_key, record));
        durable.push(doc.to_string());
        assert_eq!(journal.unsaved(&mut doc).unwrap(), None, "all stored");
        if journal.should_compact() {
            last_key += 1; // a fresh key from the same counter
            let c = journal.compaction(&mut doc).unwrap();
            let entry = c.entry(last_key);
            journal.compacted(&c, last_key, entry.len() as u64);
            for w in [
                Write::Checkpoint(last_key, entry),
                Write::DeleteRecords(c.records),
                Write::DeleteCheckpoints(c.checkpoints),
            ] {
                writes.push(w);
                durable.push(doc.to_string());
            }
            let stats = journal.stats();
            assert_eq!(
                (stats.records, stats.journal_bytes, stats.checkpoints),
                (0, 0, 1)
            );
        }
    }
    (writes, durable)
}

/// What a compaction of `doc` under `key` writes and deletes, given the
/// records and checkpoints `doc` includes.
struct Compacted {
    key: u64,
    checkpoint: Vec<u8>,
    records: Vec<u64>,
}

fn compaction(doc: &mut Doc, key: u64, records: Vec<u64>, checkpoints: Vec<u64>) -> Compacted {
    let c = Compaction {
        snapshot: doc.encode_snapshot().unwrap(),
        version: doc.version(),
        records,
        checkpoints,
    };
    Compacted {
        key,
        checkpoint: c.entry(key),
        records: c.records,
    }
}

#[test]
fn a_crash_at_any_write_step_loses_nothing_acknowledged() {
    let policy = CompactionPolicy { floor_bytes: 300 };
    for seed in 0..6 {
        let (writes, durable) = session(seed, 60, policy);
        assert!(
            writes.iter().any(|w| matches!(w, Write::Checkpoint(..))),
            "the session compacts"
        );
        let mut store = Store::default();
        for (k, w) in writes.iter().enumerate() {
            let acknowledged = if k == 0 {
                String::new()
            } else {
                durable[k - 1].clone()
            };
            for torn in [false, true] {
                let mut crashed = store.clone();
                if torn {
                    crashed.apply_torn(w);
                }
                let opened = crashed.open(1000 + k as u64);
                opened.doc.check_invariants();
                let text = opened.doc.to_string();
                assert!(
                    text == acknowledged,
                    "seed {seed}, crash in write {k} ({}): text differs",
                    if torn { "torn" } else { "lost" }
                );
                let torn_put = torn && matches!(w, Write::Record(..) | Write::Checkpoint(..));
                assert_eq!(
                    !opened.problems.is_empty(),
                    torn_put,
                    "seed {seed}, write {k}: {:?}",
                    opened.problems
                );
            }
            store.apply(w);
        }
        let opened = store.open(7);
        assert!(opened.problems.is_empty());
        assert_eq!(opened.doc.to_string(), *durable.last().unwrap());
    }
}

#[test]
fn a_corrupt_record_is_skipped_and_reported_and_the_rest_loads() {
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    let mut store = Store::default();
    a.insert(0, "alpha ", CodePoint).unwrap();
    store.apply(&Write::Record(
        1,
        encode_record(1, &a.encode_update(&Version::new()).unwrap()),
    ));
    b.insert(0, "beta ", CodePoint).unwrap(); // independent of record 1
    let mut bad = encode_record(2, &b.encode_update(&Version::new()).unwrap());
    let n = bad.len();
    bad[n / 2] ^= 0x10;
    store.apply(&Write::Record(2, bad));
    let v = a.version();
    a.insert(6, "gamma", CodePoint).unwrap();
    store.apply(&Write::Record(
        3,
        encode_record(3, &a.encode_update(&v).unwrap()),
    ));
    let opened = store.open(9);
    assert_eq!(opened.doc.to_string(), "alpha gamma");
    assert!(matches!(
        opened.problems.as_slice(),
        [Problem::Record {
            key: 2,
            error: Error::Decode(DecodeError::ChecksumMismatch { .. })
        }]
    ));
    assert_eq!(opened.last_key, 3);
    assert_eq!(
        opened.journal_bytes,
        store.records.values().map(|r| r.len() as u64).sum::<u64>()
    );
}

/// A store holding checkpoint 4 ("first"), record 5 (" second") and, as
/// checkpoint 6, `newer(doc)`: what a newer checkpoint of both would be.
fn store_with_newer_checkpoint(newer: impl Fn(&mut Doc) -> Vec<u8>) -> Store {
    let mut d = Doc::new(1);
    d.insert(0, "first", CodePoint).unwrap();
    let mut store = Store::default();
    store.apply(&Write::Checkpoint(
        4,
        compaction(&mut d, 4, vec![], vec![]).checkpoint,
    ));
    let v = d.version();
    d.insert(5, " second", CodePoint).unwrap();
    store.apply(&Write::Record(
        5,
        encode_record(5, &d.encode_update(&v).unwrap()),
    ));
    store.apply(&Write::Checkpoint(6, newer(&mut d)));
    store
}

#[test]
fn a_newer_corrupt_checkpoint_falls_back_to_the_older_one() {
    let store = store_with_newer_checkpoint(|d| {
        let mut newer = compaction(d, 6, vec![5], vec![4]).checkpoint;
        newer.truncate(newer.len() - 1);
        newer
    });
    let opened = store.open(3);
    assert_eq!(opened.doc.to_string(), "first second");
    assert_eq!(opened.covered, 4);
    assert!(matches!(
        opened.problems.as_slice(),
        [Problem::Checkpoint { key: 6, .. }]
    ));
}

#[test]
fn a_newer_checkpoint_with_an_invalid_history_falls_back_when_records_follow() {
    let crafted = crate::tests::decode::snapshot_with_bad_history();
    let store = store_with_newer_checkpoint(|_| encode_checkpoint(6, &crafted));
    let opened = store.open(3);
    assert_eq!(opened.doc.to_string(), "first second");
    assert_eq!(opened.covered, 4);
    assert!(matches!(
        opened.problems.as_slice(),
        [Problem::Checkpoint {
            key: 6,
            error: Error::Decode(DecodeError::InvalidReference)
        }]
    ));
}

#[test]
fn a_record_another_writer_added_survives_a_compaction_that_did_not_see_it() {
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    let mut store = Store::default();
    a.insert(0, "mine ", CodePoint).unwrap();
    store.apply(&Write::Record(
        1,
        encode_record(1, &a.encode_update(&Version::new()).unwrap()),
    ));
    b.insert(0, "theirs", CodePoint).unwrap();
    store.apply(&Write::Record(
        2,
        encode_record(2, &b.encode_update(&Version::new()).unwrap()),
    ));
    let v = a.version();
    a.insert(5, "more ", CodePoint).unwrap();
    store.apply(&Write::Record(
        3,
        encode_record(3, &a.encode_update(&v).unwrap()),
    ));
    // A compacts what it wrote, without having seen record 2.
    let c = compaction(&mut a, 4, vec![1, 3], vec![]);
    store.apply(&Write::Checkpoint(c.key, c.checkpoint));
    store.apply(&Write::DeleteRecords(c.records));
    let opened = store.open(9);
    assert!(opened.problems.is_empty());
    assert_eq!(
        opened
            .merged_records
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        vec![2]
    );
    let text = opened.doc.to_string();
    assert!(
        text.contains("mine more") && text.contains("theirs"),
        "{text:?}"
    );
}

#[test]
fn writers_that_compact_on_their_own_never_lose_each_others_edits() {
    let mut store = Store::default();
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    a.insert(0, "from a ", CodePoint).unwrap();
    store.apply(&Write::Record(
        1,
        encode_record(1, &a.encode_update(&Version::new()).unwrap()),
    ));
    let ca = compaction(&mut a, 2, vec![1], vec![]);
    store.apply(&Write::Checkpoint(ca.key, ca.checkpoint));
    store.apply(&Write::DeleteRecords(ca.records));
    // B never saw A's edit; its checkpoint is newer and lacks it.
    b.insert(0, "from b", CodePoint).unwrap();
    store.apply(&Write::Record(
        3,
        encode_record(3, &b.encode_update(&Version::new()).unwrap()),
    ));
    let cb = compaction(&mut b, 4, vec![3], vec![]);
    store.apply(&Write::Checkpoint(cb.key, cb.checkpoint));
    store.apply(&Write::DeleteRecords(cb.records));
    let mut opened = store.open(9);
    assert!(opened.problems.is_empty());
    assert_eq!(opened.merged_checkpoints, vec![4, 2]);
    let text = opened.doc.to_string();
    assert!(
        text.contains("from a") && text.contains("from b"),
        "{text:?}"
    );
    // A compaction by the opener includes both and may delete both.
    let mut journal = Journal::opened(&opened, CompactionPolicy::default());
    let c = journal.compaction(&mut opened.doc).unwrap();
    assert_eq!(c.checkpoints, vec![4, 2]);
    let entry = c.entry(5);
    journal.compacted(&c, 5, entry.len() as u64);
    store.apply(&Write::Checkpoint(5, entry));
    store.apply(&Write::DeleteCheckpoints(c.checkpoints));
    assert_eq!(journal.stats().checkpoints, 1);
    assert_eq!(store.checkpoints.len(), 1);
    assert_eq!(store.open(10).doc.to_string(), text);
}

#[test]
fn entries_under_the_wrong_key_or_of_the_wrong_kind_are_reported() {
    let mut d = Doc::new(1);
    d.insert(0, "x", CodePoint).unwrap();
    let update = d.encode_update(&Version::new()).unwrap();
    let mut store = Store::default();
    store.apply(&Write::Record(8, encode_record(7, &update)));
    store.apply(&Write::Record(
        9,
        encode_checkpoint(9, &d.encode_snapshot().unwrap()),
    ));
    store.apply(&Write::Checkpoint(3, encode_record(3, &update)));
    let opened = store.open(2);
    assert_eq!(opened.doc.to_string(), "");
    assert_eq!(opened.problems.len(), 3);
}

#[test]
fn entries_detect_every_kind_of_damage() {
    let mut doc = Doc::new(1);
    doc.insert(0, "payload", CodePoint).unwrap();
    let update = doc.encode_update(&Version::new()).unwrap();
    let e = encode_record(42, &update);
    let entry = decode_entry(&e).unwrap();
    assert_eq!((entry.kind, entry.key), (EntryKind::Record, 42));
    assert_eq!(
        entry.body(),
        &update[6..update.len() - 4],
        "the update's body, unwrapped"
    );
    assert_eq!(
        e.len(),
        update.len() + 8,
        "one envelope: the key is all it adds"
    );
    for cut in 0..e.len() {
        assert!(decode_entry(&e[..cut]).is_err(), "prefix {cut}");
    }
    for i in 0..e.len() {
        let mut bad = e.clone();
        bad[i] ^= 0x01;
        assert!(decode_entry(&bad).is_err(), "flip at {i}");
    }
    let mut longer = e.clone();
    longer.push(0);
    assert!(decode_entry(&longer).is_err());
    // An update or snapshot is no entry.
    assert_eq!(decode_entry(&update), Err(DecodeError::WrongKind(1)));
}

#[test]
fn journals_of_the_first_format_still_open() {
    let mut a = Doc::new(1);
    a.insert(0, "checkpointed ", CodePoint).unwrap();
    let snapshot = a.encode_snapshot().unwrap();
    let v = a.version();
    a.insert(13, "then recorded", CodePoint).unwrap();
    let update = a.encode_update(&v).unwrap();
    let old = |kind, key, bytes: &[u8]| super::entry::encode_legacy(kind, key, bytes);
    let opened = open(
        9,
        [(1, &old(EntryKind::Checkpoint, 1, &snapshot)[..])],
        [
            (2, &old(EntryKind::Record, 2, &update)[..]),
            // Its header says record, its envelope snapshot: refused.
            (3, &old(EntryKind::Record, 3, &snapshot)[..]),
        ],
    );
    assert_eq!(opened.doc.to_string(), "checkpointed then recorded");
    assert_eq!(opened.merged_records.len(), 1);
    assert_eq!(opened.problems.len(), 1, "{:?}", opened.problems);
    // Mixed with entries of the new format, as a journal written before and
    // after an upgrade is.
    a.insert(0, "> ", CodePoint).unwrap();
    let newer = a.encode_update(&v).unwrap();
    let opened = open(
        9,
        [(1, &old(EntryKind::Checkpoint, 1, &snapshot)[..])],
        [
            (2, &old(EntryKind::Record, 2, &update)[..]),
            (3, &encode_record(3, &newer)[..]),
        ],
    );
    assert_eq!(opened.doc.to_string(), "> checkpointed then recorded");
    assert!(opened.problems.is_empty());
}

#[test]
fn compaction_is_by_bytes_with_a_floor() {
    let p = CompactionPolicy::default();
    assert!(!p.should_compact(16 * 1024, 0));
    assert!(p.should_compact(16 * 1024 + 1, 0));
    assert!(!p.should_compact(16 * 1024 + 1, 100_000), "under a quarter");
    assert!(!p.should_compact(50_000, 200_000));
    assert!(p.should_compact(50_001, 200_000));
}

#[test]
fn a_large_document_merged_whole_is_first_stored_as_a_checkpoint() {
    let policy = CompactionPolicy { floor_bytes: 100 };
    let mut source = Doc::new(1);
    source.insert(0, &"words ".repeat(20), CodePoint).unwrap();
    let snapshot = source.encode_snapshot().unwrap();
    let mut doc = Doc::new(2);
    let mut journal = Journal::empty(policy);
    doc.insert(0, "typed", CodePoint).unwrap();
    assert!(!journal.starts_with_checkpoint(&doc), "small: a record");
    doc.apply_update(&snapshot, CodePoint).unwrap();
    assert!(
        journal.starts_with_checkpoint(&doc),
        "over the floor, nothing stored"
    );
    let done = journal.compaction(&mut doc).unwrap();
    journal.compacted(&done, 1, 500);
    assert!(
        !journal.starts_with_checkpoint(&doc),
        "stored: records from now on"
    );
    assert_eq!(journal.unsaved(&mut doc).unwrap(), None);
    doc.insert(0, "more", CodePoint).unwrap();
    assert!(!journal.starts_with_checkpoint(&doc));
    assert!(journal.unsaved(&mut doc).unwrap().is_some());
}

#[test]
fn edits_lost_in_a_crash_after_a_peer_saw_them_never_collide_with_later_ones() {
    let mut store = Store::default();
    let mut peer = Doc::new(500);
    // Session 1 persists one edit, then makes another that reaches the peer
    // but crashes before it is stored.
    let mut s1 = store.open(1).doc;
    s1.insert(0, "stored ", CodePoint).unwrap();
    store.apply(&Write::Record(
        1,
        encode_record(1, &s1.encode_update(&Version::new()).unwrap()),
    ));
    s1.insert(7, "lost-but-seen ", CodePoint).unwrap();
    peer.apply_update(&s1.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    // Session 2 opens what was stored under a fresh replica id and edits at
    // the same place.
    let mut s2 = store.open(2).doc;
    assert_eq!(s2.to_string(), "stored ");
    s2.insert(7, "after-restart ", CodePoint).unwrap();
    // Its ids are new: merging with the peer keeps both edits, nothing is
    // mistaken for a duplicate.
    peer.apply_update(&s2.encode_update(&peer.version()).unwrap(), CodePoint)
        .unwrap();
    s2.apply_update(&peer.encode_update(&s2.version()).unwrap(), CodePoint)
        .unwrap();
    assert_eq!(peer.to_string(), s2.to_string());
    let text = peer.to_string();
    assert!(
        text.contains("lost-but-seen") && text.contains("after-restart"),
        "{text}"
    );
    assert_eq!(
        peer.version().get(1),
        21,
        "session 1's operations, once each"
    );
    assert_eq!(peer.version().get(2), 14);
    peer.check_invariants();
}

/// A document holding `text`, stored as record 1 (of 40 bytes) of a
/// journal that compacts at any size.
fn one_record_of(text: &str) -> (Doc, Journal) {
    let mut doc = Doc::new(1);
    let mut journal = Journal::empty(CompactionPolicy { floor_bytes: 0 });
    doc.insert(0, text, CodePoint).unwrap();
    let first = journal.unsaved(&mut doc).unwrap().unwrap();
    journal.appended(1, 40, first);
    (doc, journal)
}

#[test]
fn a_record_appended_while_a_compaction_is_written_stays_listed_with_its_bytes() {
    let (mut doc, mut journal) = one_record_of("one");
    let c = journal.compaction(&mut doc).unwrap();
    // Typed while the checkpoint is being written.
    doc.insert(3, " two", CodePoint).unwrap();
    let second = journal.unsaved(&mut doc).unwrap().unwrap();
    journal.appended(2, 30, second);
    journal.compacted(&c, 3, 100);
    assert_eq!(c.records, vec![1]);
    let stats = journal.stats();
    assert_eq!(
        (
            stats.records,
            stats.journal_bytes,
            stats.checkpoints,
            stats.checkpoint_bytes
        ),
        (1, 30, 1, 100)
    );
    assert_eq!(journal.unsaved(&mut doc).unwrap(), None);
    // Another writer's report moves the stored version, not the lists.
    let mut other = Doc::new(2);
    other.insert(0, "theirs", CodePoint).unwrap();
    doc.apply_update(&other.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    assert!(journal.unsaved(&mut doc).unwrap().is_some());
    journal.stored_elsewhere(&doc.version());
    assert_eq!(journal.unsaved(&mut doc).unwrap(), None);
    assert_eq!(journal.stats().records, 1);
}

#[test]
fn a_compaction_encoded_later_holds_the_document_as_it_was_planned() {
    let (mut doc, journal) = one_record_of("one");
    let planned = journal.compaction_to_encode(&doc);
    let now = journal.compaction(&mut doc).unwrap();
    // Typed before the copy is encoded: not in that checkpoint.
    doc.insert(3, " two", CodePoint).unwrap();
    let later = planned.encode().unwrap();
    assert_eq!(later, now);
    let loaded = Doc::from_snapshot(&later.snapshot, 9).unwrap();
    assert_eq!(loaded.to_string(), "one");
}

#[test]
fn a_compaction_by_another_writer_drops_what_it_deleted_and_keeps_its_checkpoint() {
    let mut store = Store::default();
    let (mut doc, mut journal) = one_record_of("one");
    store.apply(&Write::Record(
        1,
        encode_record(1, &doc.encode_update(&Version::new()).unwrap()),
    ));
    // Another tab's record, which this document has not merged.
    let mut other = Doc::new(2);
    other.insert(0, "theirs ", CodePoint).unwrap();
    store.apply(&Write::Record(
        2,
        encode_record(2, &other.encode_update(&Version::new()).unwrap()),
    ));
    // A Worker compacts what is stored: both records, into checkpoint 3.
    let mut worker = store.open(9);
    let c = Journal::opened(&worker, CompactionPolicy::default())
        .compaction(&mut worker.doc)
        .unwrap();
    assert_eq!(c.records, vec![1, 2]);
    let entry = c.entry(3);
    for w in [
        Write::Checkpoint(3, entry.clone()),
        Write::DeleteRecords(c.records.clone()),
    ] {
        store.apply(&w);
    }
    journal.compacted_elsewhere(&c.records, &c.checkpoints, entry.len() as u64);
    let stats = journal.stats();
    assert_eq!(
        (stats.records, stats.journal_bytes, stats.checkpoints),
        (0, 0, 0)
    );
    assert_eq!(stats.checkpoint_bytes, entry.len() as u64);
    assert!(!journal.should_compact());
    // This page's own compaction later deletes nothing of the Worker's:
    // its checkpoint holds "theirs", which this document lacks.
    doc.insert(3, " two", CodePoint).unwrap();
    let second = journal.unsaved(&mut doc).unwrap().unwrap();
    journal.appended(4, 30, second);
    let mine = journal.compaction(&mut doc).unwrap();
    assert_eq!(
        (&mine.records[..], &mine.checkpoints[..]),
        (&[4][..], &[][..])
    );
    store.apply(&Write::Checkpoint(5, mine.entry(5)));
    let text = store.open(10).doc.to_string();
    assert!(
        text.contains("theirs") && text.contains("one two"),
        "{text}"
    );
}
