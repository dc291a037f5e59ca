//! Deep content trees built through the public API. With the `small-chunks`
//! feature leaves hold 4 spans or 16 bytes and nodes 4 children, so a few
//! thousand edits make trees several levels deep: leaf and node splits,
//! the leaf chain, cold snapshot pages and their neighbours are all
//! exercised. Each replica is checked against a plain `String` model that
//! follows its own edits and the patches merges report.
//!
//! Run with `cargo test -p weft --features small-chunks --test deep_trees`.
#![cfg(feature = "small-chunks")]

use weft::{Bias, Doc, IndexUnit::CodePoint, Patch, Version};

/// A tiny seeded generator (SplitMix64), so every run is reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    /// A few characters of mixed widths (ASCII, newline, two- to
    /// four-byte UTF-8), so byte, UTF-16 and line counts all differ.
    fn text(&mut self) -> String {
        const POOL: &[&str] = &["a", "bc", " ", "\n", "\u{e9}", "\u{4e2d}", "\u{1F600}"];
        (0..1 + self.below(4))
            .map(|_| POOL[self.below(POOL.len())])
            .collect()
    }
}

/// A document and the text it must hold.
struct Replica {
    doc: Doc,
    model: String,
}

impl Replica {
    fn new(replica: u64) -> Self {
        Replica {
            doc: Doc::new(replica),
            model: String::new(),
        }
    }

    fn chars(&self) -> usize {
        self.model.chars().count()
    }

    /// One random insert (three in four) or short delete, in the document
    /// and the model: the text grows, and tombstones pile up between it.
    fn edit(&mut self, rng: &mut Rng) {
        let len = self.chars();
        if len > 0 && rng.below(4) == 0 {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(5));
            self.doc.delete(at, n, CodePoint).unwrap();
            delete_chars(&mut self.model, at, n);
        } else {
            let at = rng.below(len + 1);
            let text = rng.text();
            self.doc.insert(at, &text, CodePoint).unwrap();
            insert_chars(&mut self.model, at, &text);
        }
    }

    /// Applies `update`, following the patches it reports in the model.
    fn receive(&mut self, update: &[u8]) {
        for patch in self.doc.apply_update(update, CodePoint).unwrap() {
            match patch {
                Patch::Insert { index, text } => insert_chars(&mut self.model, index, &text),
                Patch::Delete { index, len } => delete_chars(&mut self.model, index, len),
                other => panic!("a patch the model cannot follow: {other:?}"),
            }
        }
    }

    /// The document against the model: text, lengths, slices that cross
    /// leaves, line lookups, and every internal invariant.
    fn check(&self, rng: &mut Rng) {
        assert_eq!(self.doc.to_string(), self.model);
        let len = self.chars();
        assert_eq!(self.doc.len(CodePoint), len);
        for _ in 0..8 {
            let start = rng.below(len + 1);
            let end = start + rng.below(len - start + 1);
            let want: String = self.model.chars().skip(start).take(end - start).collect();
            assert_eq!(self.doc.slice(start, end, CodePoint).unwrap(), want);
            let line = self
                .model
                .chars()
                .take(start)
                .filter(|&c| c == '\n')
                .count();
            assert_eq!(self.doc.line_column(start, CodePoint).unwrap().0, line);
        }
        self.doc.check_invariants();
    }
}

fn byte_of(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(b, _)| b)
}

fn insert_chars(s: &mut String, at: usize, text: &str) {
    s.insert_str(byte_of(s, at), text);
}

fn delete_chars(s: &mut String, at: usize, n: usize) {
    let from = byte_of(s, at);
    let to = from + byte_of(&s[from..], n);
    s.replace_range(from..to, "");
}

/// Enough leaves that, four children a node, the tree is at least four
/// levels deep.
fn assert_deep(doc: &Doc) {
    let leaves = doc.stats().leaves;
    assert!(leaves > 4usize.pow(3), "only {leaves} leaves");
}

#[test]
fn random_edits_build_a_deep_tree_that_matches_a_string() {
    let mut rng = Rng(1);
    let mut r = Replica::new(1);
    for i in 0..4000 {
        r.edit(&mut rng);
        if i % 500 == 0 {
            r.check(&mut rng);
        }
    }
    r.check(&mut rng);
    assert_deep(&r.doc);
}

#[test]
fn replicas_that_edit_apart_and_merge_agree_with_their_models() {
    let mut rng = Rng(2);
    let mut replicas: Vec<Replica> = (10..13).map(Replica::new).collect();
    for round in 0..12 {
        let marks: Vec<Version> = replicas.iter().map(|r| r.doc.version()).collect();
        for r in &mut replicas {
            for _ in 0..60 {
                r.edit(&mut rng);
            }
        }
        // Everyone sends what it did this round to everyone else.
        let updates: Vec<Vec<u8>> = replicas
            .iter_mut()
            .zip(&marks)
            .map(|(r, mark)| r.doc.encode_update(mark).unwrap())
            .collect();
        for (i, r) in replicas.iter_mut().enumerate() {
            for (j, update) in updates.iter().enumerate() {
                if i != j {
                    r.receive(update);
                }
            }
            r.check(&mut rng);
        }
        let text = &replicas[0].model;
        assert!(replicas.iter().all(|r| &r.model == text), "round {round}");
    }
    assert_deep(&replicas[0].doc);
    // A merge of whole documents agrees too.
    let mut merged = Replica::new(99);
    merged.doc.merge(&mut replicas[1].doc, CodePoint).unwrap();
    merged.model = replicas[1].model.clone();
    merged.check(&mut rng);
}

#[test]
fn a_deep_snapshot_loads_edits_and_saves_like_the_string() {
    let mut rng = Rng(3);
    let mut r = Replica::new(5);
    for _ in 0..3000 {
        r.edit(&mut rng);
    }
    assert_deep(&r.doc);
    let stickies: Vec<_> = (0..20)
        .map(|_| {
            let at = rng.below(r.chars() + 1);
            r.doc.sticky_index(at, Bias::Right, CodePoint).unwrap()
        })
        .collect();
    let resolved: Vec<usize> = stickies
        .iter()
        .map(|s| r.doc.resolve_sticky(s, CodePoint).unwrap())
        .collect();
    let bytes = r.doc.encode_snapshot().unwrap();

    // Loaded, pages stay cold until edits touch them.
    let mut loaded = Replica {
        doc: Doc::from_snapshot(&bytes, 5).unwrap(),
        model: r.model.clone(),
    };
    loaded.check(&mut rng);
    for (s, &at) in stickies.iter().zip(&resolved) {
        assert_eq!(loaded.doc.resolve_sticky(s, CodePoint).unwrap(), at);
    }
    for i in 0..1500 {
        loaded.edit(&mut rng);
        if i % 300 == 0 {
            loaded.check(&mut rng);
        }
    }
    loaded.check(&mut rng);

    // Saved again and reloaded, then everything decoded.
    let again = Doc::from_snapshot(&loaded.doc.encode_snapshot().unwrap(), 6).unwrap();
    assert_eq!(again.to_string(), loaded.model);
    let mut again = Replica {
        doc: again,
        model: loaded.model.clone(),
    };
    again.doc.finish_loading().unwrap();
    again.check(&mut rng);
    assert_deep(&again.doc);
}
