//! Snapshots keep each page's text in a column of its own: loading leaves
//! the pages past the dictionary deflated until something reads them. A
//! loaded document must read and edit as one decoded whole does; a page
//! whose text is not what its directory says fails what touches it with a
//! typed error, never a panic; older snapshots (one text column) load as
//! before.

use super::decode::with_whole_text;
use super::rng::Rng;
use crate::encoding::envelope::{seal, Kind};
use crate::encoding::{ops, page_text, pages, Reader, Writer};
use crate::{DecodeError, Doc, Error, IndexUnit};
use IndexUnit::{CodePoint, Utf16, Utf8};

/// A document of some 60 KB of mixed text: past the 32 KiB dictionary, so
/// its later pages stay deflated when loaded.
fn large(rng: &mut Rng) -> Doc {
    let mut doc = Doc::new(1);
    while doc.len(Utf8) < 60_000 {
        rng.edit(&mut doc, 10, 120, 40);
    }
    doc
}

/// Random reads (no `to_string` first: each reads only the pages it needs)
/// answer as the oracle's.
fn same_reads(rng: &mut Rng, lazy: &Doc, eager: &Doc) {
    let unit = *rng.pick(&[CodePoint, Utf16, Utf8]);
    let len = eager.len(unit);
    let (a, b) = (rng.below(len + 1), rng.below(len + 1));
    let (a, b) = (a.min(b), a.max(b).min(a + 2_000));
    match rng.below(4) {
        0 => assert_eq!(lazy.slice(a, b, unit), eager.slice(a, b, unit)),
        1 => assert_eq!(
            lazy.convert_index(a, unit, Utf16),
            eager.convert_index(a, unit, Utf16)
        ),
        2 => assert_eq!(lazy.line_column(a, unit), eager.line_column(a, unit)),
        _ => {
            let line = rng.below(eager.line_count());
            assert_eq!(lazy.line_start(line, unit), eager.line_start(line, unit));
        }
    }
}

#[test]
fn deflated_pages_read_and_edit_as_if_decoded_whole() {
    for seed in 0..6 {
        let mut rng = Rng::new(seed);
        let mut source = large(&mut rng);
        let bytes = source.encode_snapshot().unwrap();
        let mut lazy = Doc::from_snapshot(&bytes, 7).unwrap();
        let mut eager = Doc::from_snapshot(&bytes, 7).unwrap();
        eager.finish_loading().unwrap();
        let unread = lazy.tree.unread_pages();
        assert!(unread > 10, "seed {seed}: {unread} pages deflated");
        for step in 0..60 {
            if rng.chance(30) {
                let len = eager.len(CodePoint);
                let at = rng.below(len + 1);
                if rng.chance(30) && at < len {
                    let n = 1 + rng.below((len - at).min(50));
                    lazy.delete(at, n, CodePoint).unwrap();
                    eager.delete(at, n, CodePoint).unwrap();
                } else {
                    let text = rng.text(5);
                    lazy.insert(at, &text, CodePoint).unwrap();
                    eager.insert(at, &text, CodePoint).unwrap();
                }
            } else {
                same_reads(&mut rng, &lazy, &eager);
            }
            if step % 10 == 0 {
                lazy.check_invariants();
            }
        }
        assert!(lazy.tree.unread_pages() > 0, "seed {seed}: all pages read");
        lazy.check_invariants();
        assert_eq!(lazy.to_string(), eager.to_string(), "seed {seed}");
        assert_eq!(lazy.tree.unread_pages(), 0);
        assert_eq!(
            lazy.encode_snapshot().unwrap(),
            eager.encode_snapshot().unwrap()
        );
    }
}

#[test]
fn a_document_untouched_since_loading_writes_its_pages_as_stored() {
    for seed in 0..4 {
        let mut rng = Rng::new(200 + seed);
        let mut source = large(&mut rng);
        let bytes = source.encode_snapshot().unwrap();
        let mut loaded = Doc::from_snapshot(&bytes, 7).unwrap();
        let eager = Doc::from_snapshot(&bytes, 7).unwrap();
        for _ in 0..5 {
            same_reads(&mut rng, &loaded, &eager);
        }
        let unread = loaded.tree.unread_pages();
        assert!(unread > 0, "seed {seed}");
        // Copied, not inflated and deflated again: byte for byte, and the
        // pages nobody read are still deflated.
        assert_eq!(loaded.encode_snapshot().unwrap(), bytes, "seed {seed}");
        assert_eq!(loaded.tree.unread_pages(), unread, "seed {seed}");
        // Adopted by an empty document (checked whole first): the same.
        let mut adopted = Doc::new(9);
        adopted.apply_update(&bytes, CodePoint).unwrap();
        assert!(adopted.checked_whole);
        assert_eq!(adopted.encode_snapshot().unwrap(), bytes, "seed {seed}");
        // Once an edit thaws a page, everything is written afresh.
        let at = rng.below(loaded.len(CodePoint) + 1);
        loaded.insert(at, "edited", CodePoint).unwrap();
        source.insert(at, "edited", CodePoint).unwrap();
        let mut again = Doc::from_snapshot(&loaded.encode_snapshot().unwrap(), 8).unwrap();
        again.finish_loading().unwrap();
        again.check_invariants();
        assert_eq!(again.to_string(), source.to_string(), "seed {seed}");
    }
}

#[test]
fn snapshots_with_one_text_column_load_as_before() {
    for seed in 0..4 {
        let mut rng = Rng::new(100 + seed);
        let mut doc = large(&mut rng);
        let bytes = doc.encode_snapshot().unwrap();
        let old = with_whole_text(&bytes);
        let mut loaded = Doc::from_snapshot(&old, 2).unwrap();
        assert_eq!(loaded.tree.unread_pages(), 0, "one column is read whole");
        loaded.check_invariants();
        assert_eq!(loaded.to_string(), doc.to_string());
        // Written again in the new form, byte for byte what the source
        // writes (the deleted text aside: the old form has none).
        let again = Doc::from_snapshot(&loaded.encode_snapshot().unwrap(), 3).unwrap();
        assert_eq!(
            with_whole_text(&again.clone().encode_snapshot().unwrap()),
            old
        );
        assert_eq!(again.to_string(), doc.to_string());
    }
}

/// `snapshot` with page `page`'s text sizes (`utf16 − chars`, `lines`) and
/// column (tag included) changed by `f`.
fn with_page_text(
    snapshot: &[u8],
    page: usize,
    mut f: impl FnMut(&mut [u64; 2], &mut Vec<u8>),
) -> Vec<u8> {
    let body = &snapshot[6..snapshot.len() - 4];
    let mut r = Reader::new(body);
    ops::read_table(&mut r).unwrap();
    ops::skip_runs(&mut r).unwrap();
    let directory = pages::read_directory(&mut r).unwrap();
    for _ in &directory {
        r.skip_column().unwrap();
    }
    let mut w = Writer::default();
    w.bytes(&body[..body.len() - r.remaining()]);
    assert_eq!(r.u8().unwrap(), page_text::PAGED);
    w.bytes(&[page_text::PAGED]);
    let mut at = 0;
    for (i, e) in directory.iter().enumerate() {
        // Pages within the dictionary carry no sizes.
        let past = at >= crate::encoding::WINDOW;
        at += e.bytes as usize;
        let mut sizes = [0, 0];
        if past {
            sizes = [r.uvar().unwrap(), r.uvar().unwrap()];
        }
        let mut column = r.raw_column().unwrap().to_vec();
        if i == page {
            f(&mut sizes, &mut column);
        }
        if past {
            sizes.iter().for_each(|&v| w.uvar(v));
        }
        w.bytes(&column);
    }
    w.bytes(r.rest());
    seal(Kind::Snapshot, &w.into_bytes())
}

/// A document whose last page is deflated when loaded (a long line of
/// its own), its snapshot and that page's number.
fn with_deflated_last_page() -> (Doc, Vec<u8>, usize) {
    let mut doc = Doc::new(1);
    let line = "Pages past the dictionary stay deflated until something reads them: edits, slices, lines.\n";
    while doc.len(Utf8) < 40_000 {
        doc.insert(doc.len(CodePoint), line, CodePoint).unwrap();
        doc.insert(doc.len(CodePoint) / 2, "x", CodePoint).unwrap();
    }
    doc.insert(doc.len(CodePoint), &line.repeat(8), CodePoint)
        .unwrap();
    let bytes = doc.encode_snapshot().unwrap();
    let loaded = Doc::from_snapshot(&bytes, 2).unwrap();
    (doc, bytes, loaded.stats().leaves - 1)
}

/// The length of the text a column (tag included) holds.
fn column_len(column: &[u8]) -> usize {
    let mut r = Reader::new(column);
    let tag = r.uvar().unwrap() as usize;
    if tag & 1 == 1 {
        r.uvar().unwrap() as usize
    } else {
        tag >> 1
    }
}

#[test]
fn a_deflated_page_unlike_its_directory_fails_what_touches_it() {
    let (doc, good, last) = with_deflated_last_page();
    let cases = [
        // One newline more than its text holds.
        with_page_text(&good, last, |s, _| s[1] += 1),
        // Its length, not UTF-8.
        with_page_text(&good, last, |_, c| {
            let mut w = Writer::default();
            let len = column_len(c);
            w.uvar((len as u64) << 1);
            w.bytes(&vec![0xff; len]);
            *c = w.into_bytes();
        }),
        // A corrupt stream.
        with_page_text(&good, last, |_, c| {
            let n = c.len();
            assert_eq!(c[0] & 1, 1, "the page is deflated");
            c[n / 2..].fill(0xff);
        }),
    ];
    let bad = |what| Error::Decode(DecodeError::InvalidValue(what));
    let expected = [
        Some(bad("snapshot page text")),
        Some(Error::Decode(DecodeError::InvalidUtf8)),
        None,
    ];
    for (i, (bytes, expected)) in cases.into_iter().zip(expected).enumerate() {
        let mut d = Doc::from_snapshot(&bytes, 5).expect("checked when read");
        assert!(d.tree.unread_pages() > 0);
        // Reads and edits elsewhere work.
        assert_eq!(d.slice(0, 10, CodePoint), doc.slice(0, 10, CodePoint));
        d.insert(0, "ok ", CodePoint).unwrap();
        let before = d.to_string();
        assert!(before.ends_with('\u{FFFD}'), "case {i}: shown as U+FFFD");
        let end = doc.len(CodePoint) + 3;
        let error = d.slice(end - 1, end, CodePoint).unwrap_err();
        assert!(matches!(error, Error::Decode(_)), "case {i}: {error:?}");
        if let Some(e) = expected {
            assert_eq!(error, e, "case {i}");
        }
        let error = Err(error);
        assert_eq!(d.line_column(end - 1, CodePoint).map(drop), error);
        assert_eq!(d.insert(end, "no", CodePoint), error, "case {i}");
        assert_eq!(d.delete(end - 1, 1, CodePoint), error);
        assert_eq!(
            d.to_string(),
            before,
            "case {i}: a failed edit changed nothing"
        );
        assert_eq!(d.encode_snapshot().map(drop), error);
        assert_eq!(d.finish_loading(), error, "case {i}");
    }
}

#[test]
fn page_text_sizes_are_checked_at_load() {
    let (_, good, last) = with_deflated_last_page();
    let bad = |what| Err(Error::Decode(DecodeError::InvalidValue(what)));
    let load = |bytes: &[u8]| Doc::from_snapshot(bytes, 5).map(drop);
    // More astral characters or newlines than characters.
    let sizes = bad("snapshot page text sizes");
    assert_eq!(
        load(&with_page_text(&good, last, |s, _| s[0] = 1 << 30)),
        sizes
    );
    assert_eq!(
        load(&with_page_text(&good, last, |s, _| s[1] = 1 << 30)),
        sizes
    );
    // Astral characters take 4 bytes: the page has too few.
    assert_eq!(
        load(&with_page_text(&good, last, |s, _| s[0] += 200)),
        sizes
    );
    // A column declaring a length other than the directory's.
    let longer = with_page_text(&good, last, |_, c| {
        *c = Writer::column_bytes(&vec![b'a'; column_len(c) + 1], 0);
    });
    assert_eq!(load(&longer), bad("snapshot text length"));
    // Beyond the inflate ratio: refused before anything is allocated.
    let beyond = with_page_text(&good, last, |_, c| {
        let mut w = Writer::default();
        w.uvar(8 << 1 | 1);
        w.uvar(column_len(c) as u64);
        w.bytes(&[0; 5]);
        *c = w.into_bytes();
    });
    assert!(matches!(
        load(&beyond),
        Err(Error::Decode(DecodeError::LengthTooLarge { .. }))
    ));
}
