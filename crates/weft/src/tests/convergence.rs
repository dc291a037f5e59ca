//! Seeded multi-replica runs over a simulated network that reorders,
//! duplicates and drops messages and partitions replicas; every replica must
//! end identical, with every patch it reported reproducing its text.

use super::oracle::{apply_patches, boundary, unit_len};
use super::rng::Rng;
use crate::{Doc, IndexUnit, Version};

struct Replica {
    doc: Doc,
    /// What an editor bound to `doc` shows, maintained only from local edits
    /// and the patches `apply_update` reports.
    editor: String,
    unit: IndexUnit,
    sent: Version,
}

struct Net {
    replicas: Vec<Replica>,
    inbox: Vec<Vec<Vec<u8>>>,
    /// Partition number of each replica; messages cross only within one.
    side: Vec<usize>,
}

impl Net {
    fn new(rng: &mut Rng, n: usize) -> Net {
        let units = [IndexUnit::CodePoint, IndexUnit::Utf16, IndexUnit::Utf8];
        let replicas = (0..n)
            .map(|i| Replica {
                doc: with_author(Doc::new(rng.next() | i as u64), i),
                editor: String::new(),
                unit: units[i % 3],
                sent: Version::new(),
            })
            .collect();
        Net {
            replicas,
            inbox: vec![Vec::new(); n],
            side: vec![0; n],
        }
    }

    fn edit(&mut self, rng: &mut Rng, i: usize) {
        let r = &mut self.replicas[i];
        let unit = r.unit;
        if r.editor.is_empty() || rng.chance(60) {
            let at = boundary(rng, &r.editor, unit);
            let text = rng.text(5);
            r.doc.insert(at, &text, unit).unwrap();
            apply_patches(
                &mut r.editor,
                &[crate::Patch::Insert { index: at, text }],
                unit,
            );
        } else {
            let a = boundary(rng, &r.editor, unit);
            let b = boundary(rng, &r.editor, unit);
            let (a, b) = (a.min(b), a.max(b));
            r.doc.delete(a, b - a, unit).unwrap();
            apply_patches(
                &mut r.editor,
                &[crate::Patch::Delete {
                    index: a,
                    len: b - a,
                }],
                unit,
            );
        }
    }

    /// Sends replica `i`'s new operations to every replica it can reach.
    fn broadcast(&mut self, rng: &mut Rng, i: usize) {
        let r = &mut self.replicas[i];
        let update = r.doc.encode_update(&r.sent).unwrap();
        r.sent = r.doc.version();
        for j in 0..self.replicas.len() {
            if j != i && self.side[j] == self.side[i] && !rng.chance(5) {
                self.inbox[j].push(update.clone());
                if rng.chance(10) {
                    self.inbox[j].push(update.clone()); // duplicated
                }
            }
        }
    }

    fn deliver(&mut self, rng: &mut Rng, j: usize) {
        if self.inbox[j].is_empty() {
            return;
        }
        let k = rng.below(self.inbox[j].len()); // any order
        let msg = self.inbox[j].swap_remove(k);
        self.receive(j, &msg);
    }

    fn receive(&mut self, j: usize, msg: &[u8]) {
        let r = &mut self.replicas[j];
        let patches = r.doc.apply_update(msg, r.unit).unwrap();
        apply_patches(&mut r.editor, &patches, r.unit);
        assert_eq!(r.editor, r.doc.to_string(), "patches reproduce the text");
    }

    /// A version handshake between two replicas, as a reconnect does.
    fn sync_pair(&mut self, a: usize, b: usize, snapshot: bool) {
        let msg = if snapshot {
            self.replicas[a].doc.encode_snapshot().unwrap()
        } else {
            let theirs = self.replicas[b].doc.version();
            self.replicas[a].doc.encode_update(&theirs).unwrap()
        };
        self.receive(b, &msg);
    }

    fn heal_and_sync(&mut self) {
        self.side.iter_mut().for_each(|s| *s = 0);
        let n = self.replicas.len();
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    self.sync_pair(a, b, false);
                }
            }
        }
    }
}

/// Two of every three replicas edit for an author, two replicas per author.
fn with_author(mut doc: Doc, i: usize) -> Doc {
    if i % 3 != 2 {
        doc.set_author(&format!("author {}", i / 2)).unwrap();
    }
    doc
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let n = 3 + rng.below(3);
    let mut net = Net::new(&mut rng, n);
    let mut middle = Version::new();
    for step in 0..steps {
        if step == steps / 2 {
            middle = net.replicas[0].doc.version();
        }
        let i = rng.below(n);
        match rng.below(20) {
            0..=8 => net.edit(&mut rng, i),
            9..=11 => net.broadcast(&mut rng, i),
            12..=16 => net.deliver(&mut rng, i),
            17 => {
                // Partition: each replica picks one of two sides.
                for s in net.side.iter_mut() {
                    *s = rng.below(2);
                }
            }
            18 => net.side.iter_mut().for_each(|s| *s = 0),
            _ => {
                let j = rng.below(n);
                if i != j && net.side[i] == net.side[j] {
                    let snapshot = rng.chance(30);
                    net.sync_pair(i, j, snapshot);
                }
            }
        }
    }
    net.heal_and_sync();
    let text = net.replicas[0].doc.to_string();
    for r in &net.replicas {
        r.doc.check_invariants();
        assert_eq!(r.doc.to_string(), text, "seed {seed}: replicas diverged");
        assert_eq!(r.doc.version(), net.replicas[0].doc.version());
        assert_eq!(
            r.doc.stats().pending_ops,
            0,
            "seed {seed}: operations left waiting"
        );
        assert_eq!(r.editor, text);
        assert_eq!(r.doc.len(r.unit), unit_len(&text, r.unit));
        for (i, other) in net.replicas.iter().enumerate() {
            let author = (i % 3 != 2).then(|| format!("author {}", i / 2));
            assert_eq!(r.doc.author(other.doc.replica()), author.as_deref());
        }
    }
    // Who did what since the middle, the same at every replica: each
    // knows every deleted text (seen visible, or sent with its tombstones).
    let end = net.replicas[0].doc.version();
    let mut attributed = None;
    for r in &mut net.replicas {
        assert!(
            knows_every_deleted_text(&mut r.doc),
            "seed {seed}: deleted text unknown"
        );
        let changes = r
            .doc
            .diff_by_replica(&middle, &end, IndexUnit::CodePoint)
            .unwrap();
        match &attributed {
            None => attributed = Some(changes),
            Some(first) => assert_eq!(&changes, first, "seed {seed}: attribution differs"),
        }
    }
}

/// Whether `doc` knows the text of each of its tombstones.
fn knows_every_deleted_text(doc: &mut Doc) -> bool {
    doc.decode_deleted().unwrap();
    let tombstones: Vec<_> = doc
        .tree
        .spans()
        .filter(|(s, _)| s.deleted())
        .map(|(s, _)| (s.agent, s.seq, s.len()))
        .collect();
    tombstones
        .into_iter()
        .all(|(agent, seq, len)| doc.deleted.get(agent, seq, len).is_some())
}

#[test]
fn replicas_converge_under_reordering_duplication_and_partitions() {
    for seed in 0..60 {
        run(seed, 400);
    }
}

#[test]
#[ignore = "soak: long runs over many seeds"]
fn replicas_converge_soak() {
    for seed in 10_000..10_300 {
        run(seed, 4000);
    }
}

#[test]
fn out_of_order_updates_wait_for_their_dependencies() {
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    a.insert(0, "abc", IndexUnit::CodePoint).unwrap();
    let first = a.encode_update(&Version::new()).unwrap();
    let v1 = a.version();
    a.insert(3, "def", IndexUnit::CodePoint).unwrap();
    a.delete(0, 1, IndexUnit::CodePoint).unwrap();
    let second = a.encode_update(&v1).unwrap();
    assert!(b
        .apply_update(&second, IndexUnit::CodePoint)
        .unwrap()
        .is_empty());
    assert_eq!(b.stats().pending_ops, 2);
    assert_eq!(b.to_string(), "");
    let patches = b.apply_update(&first, IndexUnit::CodePoint).unwrap();
    assert_eq!(patches.len(), 3);
    assert_eq!(b.to_string(), "bcdef");
    assert_eq!(b.stats().pending_ops, 0);
    // Applying everything again changes nothing.
    assert!(b
        .apply_update(&first, IndexUnit::CodePoint)
        .unwrap()
        .is_empty());
    assert!(b
        .apply_update(&second, IndexUnit::CodePoint)
        .unwrap()
        .is_empty());
    b.check_invariants();
}

#[test]
fn concurrent_deletes_of_the_same_text_are_fine() {
    let mut a = Doc::new(1);
    a.insert(0, "hello world", IndexUnit::CodePoint).unwrap();
    let mut b = Doc::new(2);
    b.apply_update(
        &a.encode_update(&Version::new()).unwrap(),
        IndexUnit::CodePoint,
    )
    .unwrap();
    a.delete(2, 6, IndexUnit::CodePoint).unwrap();
    b.delete(4, 5, IndexUnit::CodePoint).unwrap();
    let to_b = a.encode_update(&b.version()).unwrap();
    let to_a = b.encode_update(&a.version()).unwrap();
    let pb = b.apply_update(&to_b, IndexUnit::CodePoint).unwrap();
    let pa = a.apply_update(&to_a, IndexUnit::CodePoint).unwrap();
    assert_eq!(a.to_string(), "held");
    assert_eq!(b.to_string(), "held");
    assert_eq!(pa, vec![crate::Patch::Delete { index: 2, len: 1 }]);
    assert_eq!(pb, vec![crate::Patch::Delete { index: 2, len: 2 }]);
    a.check_invariants();
    b.check_invariants();
}

#[test]
fn operations_waiting_for_dependencies_are_bounded() {
    let limit = crate::pending::MAX_PENDING_BYTES;
    let mut a = Doc::new(1);
    a.insert(0, "x", IndexUnit::CodePoint).unwrap();
    let mut b = Doc::new(2);
    // Updates whose first dependency never arrives, a run or two each.
    while b.stats().discarded_ops == 0 {
        let v = a.version();
        a.insert(a.len(IndexUnit::CodePoint) % 2, "y", IndexUnit::CodePoint)
            .unwrap();
        a.delete(0, 1, IndexUnit::CodePoint).unwrap();
        let patches = b
            .apply_update(&a.encode_update(&v).unwrap(), IndexUnit::CodePoint)
            .unwrap();
        assert!(patches.is_empty());
        assert!(b.stats().pending_bytes <= limit);
    }
    assert!(b.stats().pending_ops > 100);
    catches_up(&mut a, &mut b);
}

#[test]
fn long_waiting_texts_are_bounded_in_bytes_not_only_in_runs() {
    let limit = crate::pending::MAX_PENDING_BYTES;
    let mut a = Doc::new(1);
    a.insert(0, "x", IndexUnit::CodePoint).unwrap();
    let mut b = Doc::new(2);
    // Each update is one run carrying a long text, waiting for the "x".
    let long = "y".repeat(limit / 8);
    for _ in 0..20 {
        let v = a.version();
        a.insert(0, &long, IndexUnit::CodePoint).unwrap();
        b.apply_update(&a.encode_update(&v).unwrap(), IndexUnit::CodePoint)
            .unwrap();
        assert!(b.stats().pending_bytes <= limit);
    }
    // Twenty texts of an eighth of the budget each: most were discarded.
    assert!(b.stats().pending_ops > 0);
    assert!(b.stats().discarded_ops > b.stats().pending_ops);
    catches_up(&mut a, &mut b);
}

/// A version handshake brings everything, discarded operations included.
fn catches_up(a: &mut Doc, b: &mut Doc) {
    b.apply_update(
        &a.encode_update(&b.version()).unwrap(),
        IndexUnit::CodePoint,
    )
    .unwrap();
    assert_eq!(b.to_string(), a.to_string());
    assert_eq!(b.version(), a.version());
    assert_eq!(b.stats().pending_ops, 0);
    b.check_invariants();
}
