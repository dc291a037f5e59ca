//! Author ids: set once per replica, carried with its first operation and
//! in snapshots, and used to say who wrote and who deleted what.

use super::oracle::apply_patches;
use crate::encoding::envelope::{self, Kind};
use crate::encoding::ops;
use crate::encoding::Writer;
use crate::IndexUnit::{CodePoint, Utf16};
use crate::{DecodeError, Doc, Error, Patch, Version};

fn doc(replica: u64, author: &str) -> Doc {
    let mut d = Doc::new(replica);
    d.set_author(author).unwrap();
    d
}

fn sync(from: &mut Doc, to: &mut Doc) {
    let update = from.encode_update(&to.version()).unwrap();
    to.apply_update(&update, CodePoint).unwrap();
}

#[test]
fn an_author_travels_with_the_first_operation_only() {
    let mut ada = doc(1, "ada");
    let mut bob = Doc::new(2);
    ada.insert(0, "hello", CodePoint).unwrap();
    let first = ada.encode_update(&Version::new()).unwrap();
    let mut plain = Doc::new(1);
    plain.insert(0, "hello", CodePoint).unwrap();
    let without = plain.encode_update(&Version::new()).unwrap();
    // A count, the table index, a new name of 3 bytes.
    assert_eq!(first.len(), without.len() + 1 + 1 + 1 + 1 + 3);
    bob.apply_update(&first, CodePoint).unwrap();
    assert_eq!(bob.author(1), Some("ada"));
    assert_eq!(bob.author(2), None);

    // Later updates of the same replica carry no claim.
    let seen = ada.version();
    ada.insert(5, "!", CodePoint).unwrap();
    plain.insert(5, "!", CodePoint).unwrap();
    assert_eq!(
        ada.encode_update(&seen).unwrap().len(),
        plain.encode_update(&seen).unwrap().len()
    );
    // A replica that lacks the first operation gets the claim again.
    let mut carol = Doc::new(3);
    sync(&mut bob, &mut carol);
    assert_eq!(carol.author(1), Some("ada"));
    carol.check_invariants();
}

#[test]
fn authors_survive_snapshots_both_ways_of_writing_them() {
    let mut ada = doc(1, "ada");
    let mut bob = doc(2, "bob");
    let mut bob2 = doc(3, "bob"); // the same person after a reload
    ada.insert(0, "one ", CodePoint).unwrap();
    sync(&mut ada, &mut bob);
    bob.insert(4, "two ", CodePoint).unwrap();
    sync(&mut bob, &mut bob2);
    bob2.insert(8, "three", CodePoint).unwrap();
    let snapshot = bob2.encode_snapshot().unwrap();
    let mut loaded = Doc::from_snapshot(&snapshot, 9).unwrap();
    for (replica, author) in [(1, "ada"), (2, "bob"), (3, "bob")] {
        assert_eq!(loaded.author(replica), Some(author));
    }
    // Unchanged since loading: the history is written as stored.
    assert_eq!(loaded.encode_snapshot().unwrap(), snapshot);
    loaded.insert(0, ">", CodePoint).unwrap();
    let again = Doc::from_snapshot(&loaded.encode_snapshot().unwrap(), 10).unwrap();
    assert_eq!(again.author(3), Some("bob"));
    assert_eq!(again.author(9), None);
    again.check_invariants();
    // Merging a snapshot into a document with history keeps them too.
    let mut dan = doc(4, "dan");
    dan.insert(0, "x", CodePoint).unwrap();
    dan.apply_update(&snapshot, CodePoint).unwrap();
    assert_eq!(dan.author(2), Some("bob"));
    assert_eq!(dan.author(4), Some("dan"));
    // Adopting a snapshot into an empty document keeps its own author.
    let mut eve = doc(5, "eve");
    eve.apply_update(&snapshot, CodePoint).unwrap();
    eve.insert(0, "e", CodePoint).unwrap();
    let mut seen = Doc::new(6);
    sync(&mut eve, &mut seen);
    assert_eq!(seen.author(5), Some("eve"));
    assert_eq!(seen.author(1), Some("ada"));
}

#[test]
fn an_author_is_set_once_before_editing() {
    let mut d = Doc::new(1);
    assert_eq!(d.set_author(""), Err(Error::InvalidAuthor));
    assert_eq!(d.set_author(&"x".repeat(129)), Err(Error::InvalidAuthor));
    d.set_author(&"é".repeat(64)).unwrap();
    assert_eq!(d.set_author("other"), Err(Error::AuthorAfterEdits));
    let mut e = Doc::new(2);
    e.insert(0, "a", CodePoint).unwrap();
    assert_eq!(e.set_author("late"), Err(Error::AuthorAfterEdits));
    assert_eq!(e.author(2), None);
}

#[test]
fn authors_of_a_range_list_each_writer_once() {
    let mut ada = doc(1, "ada");
    let mut bob = doc(2, "bob");
    let mut anon = Doc::new(3);
    ada.insert(0, "aaaa", CodePoint).unwrap();
    sync(&mut ada, &mut bob);
    bob.insert(2, "😀b", Utf16).unwrap(); // aa😀baa
    sync(&mut bob, &mut anon);
    anon.insert(0, "z", CodePoint).unwrap(); // zaa😀baa
    sync(&mut anon, &mut ada);
    ada.insert(8, "a", Utf16).unwrap(); // zaa😀baaa
    assert_eq!(ada.to_string(), "zaa😀baaa");
    assert_eq!(
        ada.authors(0, 9, Utf16).unwrap(),
        vec![None, Some("ada"), Some("bob")]
    );
    assert_eq!(ada.authors(3, 6, Utf16).unwrap(), vec![Some("bob")]);
    assert_eq!(ada.authors(1, 3, Utf16).unwrap(), vec![Some("ada")]);
    assert_eq!(ada.authors(6, 9, Utf16).unwrap(), vec![Some("ada")]);
    assert!(ada.authors(5, 5, Utf16).unwrap().is_empty());
    assert_eq!(
        ada.authors(4, 6, Utf16),
        Err(Error::NotCharBoundary {
            index: 4,
            unit: Utf16
        })
    );
    assert!(matches!(
        ada.authors(6, 5, Utf16),
        Err(Error::InvalidRange { .. })
    ));
    assert!(matches!(
        ada.authors(0, 10, Utf16),
        Err(Error::IndexOutOfBounds { .. })
    ));
}

#[test]
fn a_diff_says_who_inserted_and_who_deleted() {
    let mut ada = doc(1, "ada");
    let mut bob = doc(2, "bob");
    ada.insert(0, "hello world", CodePoint).unwrap();
    sync(&mut ada, &mut bob);
    let before = ada.version();
    ada.delete(0, 6, CodePoint).unwrap(); // "hello "
    bob.delete(5, 6, CodePoint).unwrap(); // " world": both delete the space
    bob.insert(5, "!", CodePoint).unwrap(); // after the deleted " world"
    sync(&mut ada, &mut bob);
    sync(&mut bob, &mut ada);
    assert_eq!(ada.to_string(), "!");
    let after = ada.version();
    let changes = ada.diff_by_replica(&before, &after, CodePoint).unwrap();
    assert_eq!(
        changes,
        vec![
            (Patch::Delete { index: 0, len: 6 }, 1),
            (Patch::Delete { index: 0, len: 5 }, 2),
            (
                Patch::Insert {
                    index: 0,
                    text: "!".into()
                },
                2
            ),
        ]
    );
    assert_eq!(
        bob.diff_by_replica(&before, &after, CodePoint).unwrap(),
        changes
    );
    // Back: what `before` lacks is removed by whoever inserted it.
    let back = ada.diff_by_replica(&after, &before, CodePoint).unwrap();
    assert_eq!(
        back,
        vec![
            (
                Patch::Insert {
                    index: 0,
                    text: "hello world".into()
                },
                1
            ),
            (Patch::Delete { index: 11, len: 1 }, 2),
        ]
    );
    let mut text = ada.to_string();
    apply_patches(
        &mut text,
        &back.into_iter().map(|c| c.0).collect::<Vec<_>>(),
        CodePoint,
    );
    assert_eq!(text, "hello world");
}

#[test]
fn overlapping_concurrent_deletes_are_attributed_alike_everywhere() {
    let mut docs: Vec<Doc> = (1..=3).map(|i| doc(i, &format!("p{i}"))).collect();
    docs[0].insert(0, "abcdefghij", CodePoint).unwrap();
    let base = docs[0].encode_update(&Version::new()).unwrap();
    for d in &mut docs[1..] {
        d.apply_update(&base, CodePoint).unwrap();
    }
    let before = docs[0].version();
    docs[0].delete(2, 5, CodePoint).unwrap();
    docs[1].delete(4, 5, CodePoint).unwrap();
    docs[2].delete(1, 2, CodePoint).unwrap();
    let updates: Vec<Vec<u8>> = docs
        .iter_mut()
        .map(|d| d.encode_update(&before).unwrap())
        .collect();
    // Each replica merges the others in its own order.
    for (i, d) in docs.iter_mut().enumerate() {
        for k in [2, 0, 1] {
            if k != i {
                d.apply_update(&updates[k], CodePoint).unwrap();
            }
        }
    }
    let after = docs[0].version();
    let first = docs[0].diff_by_replica(&before, &after, CodePoint).unwrap();
    let removed: usize = first
        .iter()
        .map(|(p, _)| match p {
            Patch::Delete { len, .. } => *len,
            Patch::Insert { .. } => 0,
        })
        .sum();
    assert_eq!(removed, 8);
    assert_eq!(docs[0].to_string(), "aj");
    for d in &mut docs[1..] {
        assert_eq!(
            d.diff_by_replica(&before, &after, CodePoint).unwrap(),
            first
        );
    }
    // Without attribution, one delete.
    assert_eq!(
        docs[0].diff(&before, &after, CodePoint).unwrap(),
        vec![Patch::Delete { index: 1, len: 8 }]
    );
}

/// An update of replica 7's operations from `first_seq` on, ending with
/// `authors` as its authors section.
fn update_with_authors(first_seq: u32, authors: &[u8]) -> Vec<u8> {
    let mut d = Doc::new(7);
    d.insert(0, "ab", CodePoint).unwrap();
    let since: Version = [(7, first_seq)].into_iter().collect();
    let bytes = d.encode_update(&since).unwrap();
    let (_, mut r) = envelope::open(&bytes).unwrap();
    ops::read(&mut r).unwrap();
    let section_len = bytes.len() - 6 - 4 - r.remaining();
    let mut w = Writer::default();
    w.bytes(&bytes[6..6 + section_len]);
    w.bytes(authors);
    envelope::seal(Kind::Update, &w.into_bytes())
}

#[test]
fn bad_author_sections_are_rejected_before_anything_is_applied() {
    let ok = update_with_authors(0, &[1, 0, 0, 3, b'a', b'd', b'a']);
    let mut d = Doc::new(1);
    d.apply_update(&ok, CodePoint).unwrap();
    assert_eq!(d.author(7), Some("ada"));
    let cases: [(&[u8], u32, DecodeError); 8] = [
        // A 0 there starts the deleted-text section instead (it never
        // starts an authors section): cut short.
        (&[0], 0, DecodeError::UnexpectedEnd),
        (
            &[2, 0, 0, 1, b'a', 0, 1],
            0,
            DecodeError::InvalidValue("author count"),
        ),
        (
            &[1, 1, 0, 1, b'a'],
            0,
            DecodeError::InvalidValue("author's replica"),
        ),
        (
            &[1, 0, 0, 1, b'a'],
            1,
            DecodeError::InvalidValue("author's replica"),
        ),
        (
            &[1, 0, 0, 0],
            0,
            DecodeError::InvalidValue("author id length"),
        ),
        (
            &[1, 0, 0, 0x81, 1],
            0,
            DecodeError::InvalidValue("author id length"),
        ),
        (&[1, 0, 0, 2, 0xff, 0xfe], 0, DecodeError::InvalidUtf8),
        (&[1, 0, 1], 0, DecodeError::InvalidValue("author reference")),
    ];
    for (authors, first_seq, error) in cases {
        let bytes = update_with_authors(first_seq, authors);
        let mut d = Doc::new(1);
        assert_eq!(
            d.apply_update(&bytes, CodePoint),
            Err(Error::Decode(error)),
            "{authors:?}"
        );
        assert!(d.version().is_empty(), "nothing applied for {authors:?}");
    }
    // A claim cut short, and bytes after the claims.
    for authors in [&[1, 0, 0, 3, b'a'][..], &[1, 0, 0, 1, b'a', 9]] {
        let bytes = update_with_authors(0, authors);
        assert!(Doc::new(1).apply_update(&bytes, CodePoint).is_err());
    }
}
