//! The interleaving examples of "The Art of the Fugue" (Weidner, Gentle and
//! Kleppmann, 2023): concurrent insertions at one place must not interleave,
//! whether typed forwards or backwards, and whatever order merges happen in.

use crate::{Doc, IndexUnit::CodePoint, Version};

fn sync(docs: &mut [Doc]) {
    for i in 0..docs.len() {
        for j in 0..docs.len() {
            if i != j {
                let u = {
                    let v = docs[j].version();
                    docs[i].encode_update(&v)
                }
                .unwrap();
                docs[j].apply_update(&u, CodePoint).unwrap();
            }
        }
    }
    for d in docs.iter() {
        d.check_invariants();
        assert_eq!(d.to_string(), docs[0].to_string());
    }
}

fn replicas(n: usize, base: &str) -> Vec<Doc> {
    let mut first = Doc::new(100);
    first.insert(0, base, CodePoint).unwrap();
    let u = first.encode_update(&Version::new()).unwrap();
    let mut docs = vec![first];
    for i in 1..n {
        let mut d = Doc::new(100 + i as u64);
        d.apply_update(&u, CodePoint).unwrap();
        docs.push(d);
    }
    docs
}

/// Types `word` one character at a time going forwards from `at`.
fn type_forwards(doc: &mut Doc, at: usize, word: &str) {
    for (i, c) in word.chars().enumerate() {
        doc.insert(at + i, &c.to_string(), CodePoint).unwrap();
    }
}

/// Types `word` one character at a time, each at `at` (so backwards).
fn type_backwards(doc: &mut Doc, at: usize, word: &str) {
    for c in word.chars().rev() {
        doc.insert(at, &c.to_string(), CodePoint).unwrap();
    }
}

fn assert_one_of(text: &str, options: &[&str]) {
    assert!(
        options.contains(&text),
        "{text:?} is not one of {options:?}"
    );
}

#[test]
fn forward_typing_at_one_place_does_not_interleave() {
    let mut docs = replicas(2, "milk\n");
    type_forwards(&mut docs[0], 5, "eggs\n");
    type_forwards(&mut docs[1], 5, "bread\n");
    sync(&mut docs);
    assert_one_of(
        &docs[0].to_string(),
        &["milk\neggs\nbread\n", "milk\nbread\neggs\n"],
    );
}

#[test]
fn backward_typing_at_one_place_does_not_interleave() {
    let mut docs = replicas(2, "");
    type_backwards(&mut docs[0], 0, "abc");
    type_backwards(&mut docs[1], 0, "xyz");
    sync(&mut docs);
    assert_one_of(&docs[0].to_string(), &["abcxyz", "xyzabc"]);
}

#[test]
fn forward_and_backward_typing_at_one_place_do_not_interleave() {
    let mut docs = replicas(2, "[]");
    type_forwards(&mut docs[0], 1, "abc");
    type_backwards(&mut docs[1], 1, "xyz");
    sync(&mut docs);
    assert_one_of(&docs[0].to_string(), &["[abcxyz]", "[xyzabc]"]);
}

#[test]
fn three_writers_at_one_place_do_not_interleave_in_any_merge_order() {
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let mut docs = replicas(3, "()");
        type_forwards(&mut docs[0], 1, "one");
        type_forwards(&mut docs[1], 1, "two");
        type_backwards(&mut docs[2], 1, "six");
        // Merge pairwise in a given order before a full sync.
        let theirs = docs[order[1]].version();
        let u = docs[order[0]].encode_update(&theirs).unwrap();
        docs[order[1]].apply_update(&u, CodePoint).unwrap();
        sync(&mut docs);
        let t = docs[0].to_string();
        let words = ["one", "two", "six"];
        let inner = &t[1..t.len() - 1];
        let mut perms = Vec::new();
        for a in 0..3 {
            for b in 0..3 {
                for c in 0..3 {
                    if a != b && b != c && a != c {
                        perms.push(format!("{}{}{}", words[a], words[b], words[c]));
                    }
                }
            }
        }
        assert!(perms.iter().any(|p| p == inner), "{t:?} interleaves");
    }
}

#[test]
fn the_merge_rule_orders_concurrent_inserts_identically_everywhere() {
    // Replica ids decide ties; the same result whoever merges first.
    let mut a = replicas(2, "ab");
    let mut b = replicas(2, "ab");
    for docs in [&mut a, &mut b] {
        docs[0].insert(1, "X", CodePoint).unwrap();
        docs[1].insert(1, "Y", CodePoint).unwrap();
    }
    let (x, y) = (
        {
            let v = a[1].version();
            a[0].encode_update(&v)
        }
        .unwrap(),
        {
            let v = a[0].version();
            a[1].encode_update(&v)
        }
        .unwrap(),
    );
    a[1].apply_update(&x, CodePoint).unwrap();
    a[0].apply_update(&y, CodePoint).unwrap();
    b.reverse();
    sync(&mut b);
    assert_eq!(a[0].to_string(), a[1].to_string());
    assert_eq!(a[0].to_string(), b[0].to_string());
}
