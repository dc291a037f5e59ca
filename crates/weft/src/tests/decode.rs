//! Hostile bytes: every decoder returns an error (never panics, never
//! allocates without bound) and a failed apply leaves the document unchanged.

use super::rng::Rng;
use crate::encoding::envelope::{seal, Kind};
use crate::encoding::ops::{self, OpsSection, TableEntry};
use crate::encoding::Writer;
use crate::encoding::{page_text, pages};
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::{DecodeError, Doc, Error, IndexUnit::CodePoint, Version};

fn sample() -> (Doc, Doc) {
    let mut a = Doc::new(11);
    let mut b = Doc::new(22);
    a.insert(0, "hello w\u{f6}rld\n\u{1F600}", CodePoint)
        .unwrap();
    b.apply_update(&a.encode_update(&Version::new()).unwrap(), CodePoint)
        .unwrap();
    b.insert(5, ", there", CodePoint).unwrap();
    a.delete(1, 3, CodePoint).unwrap();
    a.delete(0, 1, CodePoint).unwrap();
    b.apply_update(&a.encode_update(&b.version()).unwrap(), CodePoint)
        .unwrap();
    (a, b)
}

/// The body of an envelope.
fn body_of(bytes: &[u8]) -> &[u8] {
    &bytes[6..bytes.len() - 4]
}

/// A reader of snapshot `body` past its history and page columns, where
/// the text starts, and the page directory.
fn past_page_columns(body: &[u8]) -> (crate::encoding::Reader<'_>, Vec<pages::PageEntry>) {
    let mut r = crate::encoding::Reader::new(body);
    ops::read_table(&mut r).unwrap();
    ops::skip_runs(&mut r).unwrap();
    let directory = pages::read_directory(&mut r).unwrap();
    for _ in &directory {
        r.skip_column().unwrap();
    }
    (r, directory)
}

/// Where the deleted-text section of a snapshot's body starts (its end,
/// for a snapshot written before that section existed).
pub(crate) fn deleted_text_at(body: &[u8]) -> usize {
    let (mut r, directory) = past_page_columns(body);
    page_text::read_stored(&mut r, &directory).unwrap();
    body.len() - r.remaining()
}

/// `snapshot` as written before pages had their own text (and before
/// snapshots carried deleted text): the text in one column.
pub(crate) fn with_whole_text(snapshot: &[u8]) -> Vec<u8> {
    let body = body_of(snapshot);
    let (mut r, directory) = past_page_columns(body);
    let head = &body[..body.len() - r.remaining()];
    let (texts, _) = page_text::read_stored(&mut r, &directory)
        .unwrap()
        .open(&directory)
        .unwrap();
    let text: String = texts
        .into_iter()
        .map(|(t, deflated)| deflated.map_or(t, |d| d.get().unwrap().to_owned()))
        .collect();
    let mut w = Writer::default();
    w.bytes(head);
    w.column(text.as_bytes());
    seal(Kind::Snapshot, &w.into_bytes())
}

/// Where an update's body ends its operations section (its deleted-text
/// section, if any, follows).
pub(crate) fn ops_end(body: &[u8]) -> usize {
    let mut r = crate::encoding::Reader::new(body);
    ops::read(&mut r).unwrap();
    body.len() - r.remaining()
}

/// `update` as written before updates carried deleted text (and without
/// authors): what a replica sends that does not know it.
pub(crate) fn update_without_deleted_text(update: &[u8]) -> Vec<u8> {
    let body = body_of(update);
    seal(Kind::Update, &body[..ops_end(body)])
}

/// `snapshot` as written before snapshots carried deleted text.
pub(crate) fn without_deleted_text(snapshot: &[u8]) -> Vec<u8> {
    let body = body_of(snapshot);
    seal(Kind::Snapshot, &body[..deleted_text_at(body)])
}

/// An empty update whose first column is `column` (tag included), as is.
fn update_with_column(column: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0]; // no replicas, no runs
    body.extend_from_slice(column);
    body.extend_from_slice(&[0; 5]); // the other columns, empty
    seal(Kind::Update, &body)
}

/// Applies `bytes` to a copy of `doc`: on error nothing may have changed; on
/// success every invariant must hold. Loading as a snapshot likewise.
fn try_all(doc: &mut Doc, bytes: &[u8]) -> bool {
    let before = doc.encode_snapshot().unwrap();
    let mut copy = doc.clone();
    let failed = match copy.apply_update(bytes, CodePoint) {
        Err(_) => {
            assert!(
                copy.encode_snapshot().unwrap() == before,
                "a failed apply changed the document"
            );
            true
        }
        Ok(_) => {
            copy.check_invariants();
            false
        }
    };
    // Loading defers the history: it is checked when first needed, and
    // then rejects exactly what merging the same bytes rejects.
    let eager = Doc::new(5).apply_update(bytes, CodePoint).is_ok();
    if let Ok(mut d) = Doc::from_snapshot(bytes, 5) {
        // An edit in the middle decodes one page first (or fails cleanly).
        let mid = d.len(CodePoint) / 2;
        let edited = d.insert(mid, "\u{e9}", CodePoint).is_ok();
        let shown = d.to_string();
        let loaded = d.finish_loading();
        assert!(
            edited || loaded.is_err(),
            "a page failed, then everything loaded"
        );
        assert_eq!(loaded.is_ok(), eager, "loading and merging disagree");
        match loaded {
            Ok(()) => d.check_invariants(),
            Err(e) => {
                assert!(d.encode_snapshot().is_err(), "{e}: encoded anyway");
                assert_eq!(d.to_string(), shown, "a failed decode changed the text");
            }
        }
    }
    failed
}

#[test]
fn envelope_errors_are_named() {
    let (mut a, _) = sample();
    let good = a.encode_update(&Version::new()).unwrap();
    let mut d = Doc::new(1);
    let err = |d: &mut Doc, b: &[u8]| match d.apply_update(b, CodePoint) {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert_eq!(err(&mut d, &[]), DecodeError::UnexpectedEnd);
    assert_eq!(err(&mut d, b"NOPE and more bytes"), DecodeError::BadMagic);
    let mut v = good.clone();
    v[4] = 9;
    assert_eq!(err(&mut d, &v), DecodeError::UnsupportedVersion(9));
    let mut c = good.clone();
    let n = c.len();
    c[n - 1] ^= 1;
    assert!(matches!(
        err(&mut d, &c),
        DecodeError::ChecksumMismatch { .. }
    ));
    let wrong_kind = {
        let mut s = good.clone();
        s[5] = 7;
        let n = s.len();
        let crc = crate::crc32c(&s[..n - 4]);
        s[n - 4..].copy_from_slice(&crc.to_le_bytes());
        s
    };
    assert_eq!(err(&mut d, &wrong_kind), DecodeError::WrongKind(7));
    assert_eq!(
        Doc::from_snapshot(&good, 1).unwrap_err(),
        Error::Decode(DecodeError::WrongKind(1))
    );
    assert!(d.is_empty());
}

#[test]
fn every_truncation_fails_cleanly() {
    let (mut a, mut b) = sample();
    for bytes in [
        a.encode_update(&Version::new()).unwrap(),
        b.encode_snapshot().unwrap(),
    ] {
        let kind = if bytes[5] == 1 {
            Kind::Update
        } else {
            Kind::Snapshot
        };
        for cut in 0..bytes.len() {
            assert!(try_all(&mut b, &bytes[..cut]), "prefix {cut} was accepted");
            // Resealed so the checksum passes and the body decoder sees the cut.
            let body = body_of(&bytes);
            // (Cut before its deleted text, a snapshot or an update is as
            // written before they carried it: valid.)
            let older = match kind {
                Kind::Snapshot => cut == deleted_text_at(body),
                _ => cut == ops_end(body),
            };
            if cut < body.len() && !older {
                assert!(
                    try_all(&mut b, &seal(kind, &body[..cut])),
                    "body prefix {cut} was accepted"
                );
            }
        }
    }
}

#[test]
fn mutated_inputs_never_panic_and_failures_change_nothing() {
    let (mut a, mut b) = sample();
    let mut rng = Rng::new(99);
    let inputs = [
        (Kind::Update, a.encode_update(&Version::new()).unwrap()),
        (Kind::Update, b.encode_update(&a.version()).unwrap()),
        (Kind::Snapshot, b.encode_snapshot().unwrap()),
    ];
    let mut target = Doc::new(33);
    let mut accepted = 0;
    for i in 0..6000 {
        let (kind, bytes) = &inputs[i % inputs.len()];
        let mut body = body_of(bytes).to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(body.len().max(1));
            match rng.below(5) {
                0 => body[at] ^= 1 << rng.below(8),
                1 => body[at] = rng.next() as u8,
                2 => body.insert(at, rng.next() as u8),
                3 if body.len() > 1 => {
                    body.remove(at);
                }
                _ => body[at] = [0, 1, 0x7f, 0x80, 0xff][rng.below(5)],
            }
        }
        let sealed = seal(*kind, &body);
        let doc = if i % 2 == 0 { &mut target } else { &mut b };
        if !try_all(doc, &sealed) {
            accepted += 1;
        }
    }
    // Some mutations (inside text, say) stay valid; most must not.
    assert!(accepted < 6000);
}

fn update(table: Vec<TableEntry>, runs: Vec<OpRun>, texts: Vec<Option<&str>>) -> Vec<u8> {
    let mut w = Writer::default();
    let section = OpsSection {
        table,
        runs,
        texts: texts.into_iter().map(|t| t.map(str::to_owned)).collect(),
    };
    ops::write(&mut w, &section);
    seal(Kind::Update, &w.into_bytes())
}

fn entry(replica: u64, count: u32) -> TableEntry {
    TableEntry {
        replica,
        first_seq: 0,
        count,
    }
}

fn insert(seq: u32, len: u32, left: LocalId) -> OpRun {
    OpRun::new(
        0,
        seq,
        len,
        OpKind::Insert {
            left,
            right: LocalId::NONE,
        },
    )
}

/// Hand-made invalid inputs, each named for what is wrong with it. They are
/// also written to `tests/bad-inputs` (see `write_known_bad_inputs`).
pub(crate) fn known_bad_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let (mut a, mut b) = sample();
    let good_update = a.encode_update(&Version::new()).unwrap();
    let good_snapshot = b.encode_snapshot().unwrap();
    let reseal = |kind, mut body: Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
        f(&mut body);
        seal(kind, &body)
    };
    let del = |seq, target: LocalId, len, reversed| {
        OpRun::new(0, seq, len, OpKind::Delete { target, reversed })
    };
    vec![
        ("bad_magic", {
            let mut v = good_update.clone();
            v[0] = b'X';
            v
        }),
        ("unsupported_format_version", {
            let mut v = good_update.clone();
            v[4] = 200;
            v
        }),
        ("checksum_mismatch", {
            let mut v = good_update.clone();
            let n = v.len();
            v[n / 2] ^= 0x20;
            v
        }),
        (
            "truncated_update",
            reseal(Kind::Update, body_of(&good_update)[..10].to_vec(), &|_| {}),
        ),
        (
            "trailing_bytes",
            reseal(Kind::Update, body_of(&good_update).to_vec(), &|b| b.push(0)),
        ),
        ("varint_overflow", seal(Kind::Update, &[0xff; 12])),
        (
            "compressed_column_beyond_any_ratio",
            update_with_column(&[13, 0xff, 0xff, 0xff, 0x7f, 0x03, 0x00]),
        ),
        (
            "compressed_column_corrupt",
            update_with_column(&[13, 0x05, 0x12, 0x34, 0x56, 0x78, 0x9a]),
        ),
        ("compressed_column_length_mismatch", {
            let packed = miniz_oxide::deflate::compress_to_vec(&[0u8; 40], 9);
            let mut w = Writer::default();
            w.uvar(((packed.len() + 1) << 1 | 1) as u64);
            w.uvar(41);
            w.bytes(&packed);
            update_with_column(&w.into_bytes())
        }),
        (
            "run_exceeds_its_replica_count",
            update(
                vec![entry(1, 2)],
                vec![insert(0, 3, LocalId::NONE)],
                vec![Some("abc")],
            ),
        ),
        (
            "insert_text_shorter_than_run",
            update(
                vec![entry(1, 5)],
                vec![insert(0, 5, LocalId::NONE)],
                vec![Some("ab")],
            ),
        ),
        (
            "reversed_delete_below_zero",
            update(
                vec![entry(1, 4)],
                vec![
                    insert(0, 1, LocalId::NONE),
                    del(1, LocalId::new(0, 0), 3, true),
                ],
                vec![Some("a"), None],
            ),
        ),
        (
            "origin_names_a_deletion",
            update(
                vec![entry(1, 3)],
                vec![
                    insert(0, 1, LocalId::NONE),
                    del(1, LocalId::new(0, 0), 1, false),
                    insert(2, 1, LocalId::new(0, 1)),
                ],
                vec![Some("a"), None, Some("b")],
            ),
        ),
        (
            "delete_targets_a_deletion",
            update(
                vec![entry(1, 3)],
                vec![
                    insert(0, 1, LocalId::NONE),
                    del(1, LocalId::new(0, 0), 1, false),
                    del(2, LocalId::new(0, 1), 1, false),
                ],
                vec![Some("a"), None, None],
            ),
        ),
        ("invalid_utf8_text", {
            let mut v = update(
                vec![entry(1, 2)],
                vec![insert(0, 2, LocalId::NONE)],
                vec![Some("ab")],
            );
            let n = v.len();
            v[n - 6] = 0xff; // inside the text block, then reseal
            reseal(Kind::Update, body_of(&v).to_vec(), &|_| {})
        }),
        ("snapshot_text_longer_than_spans", {
            let older = with_whole_text(&good_snapshot);
            let body = body_of(&older).to_vec();
            let text = b.to_string();
            // Replace the text column (the last, stored, with a one-byte
            // length) with one a character longer.
            assert!(text.len() < 63);
            let cut = body.len() - text.len() - 1;
            assert_eq!(body[cut] as usize, text.len() << 1);
            let mut w = body[..cut].to_vec();
            w.push(((text.len() + 1) << 1) as u8);
            w.extend_from_slice(text.as_bytes());
            w.push(b'!');
            seal(Kind::Snapshot, &w)
        }),
        (
            "snapshot_truncated",
            seal(
                Kind::Snapshot,
                &body_of(&good_snapshot)[..body_of(&good_snapshot).len() - 3],
            ),
        ),
        ("snapshot_history_not_from_zero", {
            let mut w = Writer::default();
            let section = OpsSection {
                table: vec![TableEntry {
                    replica: 1,
                    first_seq: 3,
                    count: 1,
                }],
                runs: vec![OpRun::new(
                    0,
                    3,
                    1,
                    OpKind::Insert {
                        left: LocalId::NONE,
                        right: LocalId::NONE,
                    },
                )],
                texts: vec![None],
            };
            ops::write(&mut w, &section);
            // No spans, no pages, no text.
            for _ in 0..3 {
                w.uvar(0);
            }
            seal(Kind::Snapshot, &w.into_bytes())
        }),
        (
            "snapshot_history_names_a_deletion",
            snapshot_with_bad_history(),
        ),
        (
            "snapshot_page_text_longer_than_its_directory_says",
            with_first_page(&good_snapshot, |e| e.chars -= 1),
        ),
        (
            "snapshot_page_items_differ_from_its_directory",
            with_first_page(&good_snapshot, |e| e.items += 1),
        ),
        (
            "snapshot_page_more_spans_than_its_bytes_allow",
            with_first_page(&good_snapshot, |e| e.spans += 1000),
        ),
        ("compressed_column_over_the_inflate_ratio", {
            // A true stream of zeros, not padded: it inflates further than
            // its bytes allow.
            let packed = miniz_oxide::deflate::compress_to_vec(&[0u8; 1000], 9);
            let mut w = Writer::default();
            w.uvar(((packed.len() + 2) << 1 | 1) as u64);
            w.uvar(1000);
            w.bytes(&packed);
            update_with_column(&w.into_bytes())
        }),
        (
            "snapshot_deleted_text_shorter_than_its_runs",
            with_deleted_text(&good_snapshot, &[4], b"el"),
        ),
        (
            "snapshot_deleted_text_beyond_the_deleted_items",
            with_deleted_text(&good_snapshot, &[5], b"hello"),
        ),
        (
            "snapshot_deleted_text_runs_beyond_the_deleted_items",
            with_deleted_text(&good_snapshot, &[4, 1], b"hell"),
        ),
        (
            "snapshot_deleted_text_empty_run",
            with_deleted_text(&good_snapshot, &[0, 0, 4], b"hell"),
        ),
        (
            "snapshot_deleted_text_invalid_utf8",
            with_deleted_text(&good_snapshot, &[4], b"h\xffll"),
        ),
        ("snapshot_deleted_text_cut_short", {
            let body = body_of(&good_snapshot);
            let at = deleted_text_at(body);
            let mut w = body[..at].to_vec();
            w.extend_from_slice(&[2, 8]); // the runs column alone
            seal(Kind::Snapshot, &w)
        }),
        ("snapshot_deleted_text_runs_deflated", {
            // Deflated, declaring a million bytes of runs: the runs column
            // is always stored (its bytes bound the runs), so this is
            // refused at load, before anything inflates.
            let body = body_of(&good_snapshot);
            let mut w = Writer::default();
            w.bytes(&body[..deleted_text_at(body)]);
            w.uvar(5 << 1 | 1);
            w.uvar(1_000_000);
            w.bytes(&[0x03, 0x00]);
            w.column(b"hell");
            seal(Kind::Snapshot, &w.into_bytes())
        }),
        ("more_runs_than_their_bytes_allow", {
            let mut w = Writer::default();
            w.uvar(1);
            w.u64_le(1);
            w.uvar(0);
            w.uvar(1);
            w.uvar(2); // runs, in six empty columns of a byte each
            w.bytes(&[0; 6]);
            seal(Kind::Update, &w.into_bytes())
        }),
    ]
}

/// `snapshot` with a deleted-text section of `runs` (stored) and `text`.
fn with_deleted_text(snapshot: &[u8], runs: &[u64], text: &[u8]) -> Vec<u8> {
    let body = body_of(snapshot);
    with_counts_and_text(Kind::Snapshot, &body[..deleted_text_at(body)], runs, text)
}

/// `head` sealed as a `kind` body, followed by a column of the uvars
/// `counts` and a column of `text`.
fn with_counts_and_text(kind: Kind, head: &[u8], counts: &[u64], text: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes(head);
    let mut r = Writer::default();
    counts.iter().for_each(|&n| r.uvar(n));
    w.column(&r.into_bytes());
    w.column(text);
    seal(kind, &w.into_bytes())
}

#[test]
fn bad_deleted_text_is_refused_with_typed_errors() {
    let (_, mut b) = sample();
    let good = b.encode_snapshot().unwrap();
    // The sample's four deleted characters, known here.
    let ok = with_deleted_text(&good, &[4], b"hell");
    assert_eq!(ok, good);
    let load = |bytes: &[u8]| Doc::from_snapshot(bytes, 5).and_then(|mut d| d.finish_loading());
    let bad = |what| Err(Error::Decode(DecodeError::InvalidValue(what)));
    assert_eq!(
        load(&with_deleted_text(&good, &[4], b"el")),
        bad("deleted text")
    );
    assert_eq!(
        load(&with_deleted_text(&good, &[5], b"hello")),
        bad("deleted text")
    );
    assert_eq!(
        load(&with_deleted_text(&good, &[0, 0, 4], b"hell")),
        bad("deleted text")
    );
    assert_eq!(
        load(&with_deleted_text(&good, &[4], b"h\xffll")),
        Err(Error::Decode(DecodeError::InvalidUtf8))
    );
    // Unknown text is fine: part of it, or all.
    for (runs, text) in [(&[0u64, 4][..], &b""[..]), (&[1, 2, 1], b"hl")] {
        let mut d = Doc::from_snapshot(&with_deleted_text(&good, runs, text), 5).unwrap();
        d.finish_loading().unwrap();
        d.check_invariants();
    }
    let named = known_bad_inputs();
    let get = |name| &named.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(
        Doc::from_snapshot(get("snapshot_deleted_text_cut_short"), 5).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        Doc::from_snapshot(get("snapshot_deleted_text_runs_deflated"), 5).unwrap_err(),
        Error::Decode(DecodeError::InvalidValue("deleted text"))
    );
}

/// `snapshot` with the directory entry of its first page changed by `f`.
fn with_first_page(snapshot: &[u8], f: impl Fn(&mut pages::PageEntry)) -> Vec<u8> {
    let body = body_of(snapshot);
    let mut r = crate::encoding::Reader::new(body);
    ops::read_table(&mut r).unwrap();
    ops::skip_runs(&mut r).unwrap();
    let history = &body[..body.len() - r.remaining()];
    let mut directory = pages::read_directory(&mut r).unwrap();
    f(&mut directory[0]);
    let mut w = Writer::default();
    w.bytes(history);
    w.uvar(directory.iter().map(|e| u64::from(e.spans)).sum());
    w.uvar(directory.len() as u64);
    for e in &directory {
        for v in [e.spans, e.items, e.chars, e.bytes] {
            w.uvar(u64::from(v));
        }
    }
    w.bytes(r.rest());
    seal(Kind::Snapshot, &w.into_bytes())
}

/// A snapshot whose document section is fine ("hlo", from "hello" with "el"
/// deleted) but whose history deletes a deletion instead of "el": only
/// decoding the history finds that.
pub(crate) fn snapshot_with_bad_history() -> Vec<u8> {
    let mut d = Doc::new(1);
    d.insert(0, "hello", CodePoint).unwrap();
    d.delete(1, 2, CodePoint).unwrap();
    let snapshot = d.encode_snapshot().unwrap();
    let mut r = crate::encoding::Reader::new(body_of(&snapshot));
    ops::read_table(&mut r).unwrap();
    ops::skip_runs(&mut r).unwrap();
    let document = r.rest();
    let mut w = Writer::default();
    let del = OpRun::new(
        0,
        5,
        2,
        OpKind::Delete {
            target: LocalId::new(0, 5),
            reversed: false,
        },
    );
    ops::write(
        &mut w,
        &OpsSection {
            table: vec![entry(1, 7)],
            runs: vec![insert(0, 5, LocalId::NONE), del],
            texts: vec![None, None],
        },
    );
    w.bytes(document);
    seal(Kind::Snapshot, &w.into_bytes())
}

#[test]
fn an_invalid_history_found_after_loading_fails_what_needs_it_and_changes_nothing() {
    let bytes = snapshot_with_bad_history();
    let mut doc = Doc::from_snapshot(&bytes, 9).unwrap();
    assert_eq!(doc.to_string(), "hlo");
    // Local editing needs no history.
    doc.insert(3, "!", CodePoint).unwrap();
    // An update of what was done since loading needs none either.
    let at_load = Doc::from_snapshot(&bytes, 9).unwrap().version();
    assert!(doc.encode_update(&at_load).is_ok());
    // Whatever reaches back into the history fails, naming why.
    let invalid = Err(Error::Decode(DecodeError::InvalidReference));
    assert_eq!(doc.encode_update(&Version::new()).map(drop), invalid);
    assert_eq!(doc.encode_snapshot().map(drop), invalid);
    let (mut a, _) = sample();
    let update = a.encode_update(&Version::new()).unwrap();
    assert_eq!(doc.apply_update(&update, CodePoint).map(drop), invalid);
    assert_eq!(doc.finish_loading(), invalid);
    assert_eq!(doc.to_string(), "hlo!", "a failure changed the document");
    // Merging the same bytes checks them whole first.
    assert_eq!(
        Doc::new(2).apply_update(&bytes, CodePoint).map(drop),
        invalid
    );
}

#[test]
fn known_bad_inputs_fail_cleanly() {
    let (_, mut b) = sample();
    for (name, bytes) in known_bad_inputs() {
        assert!(
            try_all(&mut Doc::new(7), &bytes),
            "{name} was accepted by an empty document"
        );
        assert!(
            try_all(&mut b, &bytes),
            "{name} was accepted by a document with text"
        );
        assert!(
            Doc::from_snapshot(&bytes, 5)
                .and_then(|mut d| d.finish_loading())
                .is_err(),
            "{name} loaded as a snapshot"
        );
    }
}

/// Regenerates `tests/bad-inputs` from `known_bad_inputs`.
#[test]
#[ignore = "writes files: run to regenerate tests/bad-inputs"]
fn write_known_bad_inputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in known_bad_inputs() {
        std::fs::write(dir.join(format!("{name}.bin")), bytes).unwrap();
    }
}

/// `update` (without authors) with its deleted-text section replaced by
/// one of tombstone-run counts `runs` and `text`.
fn with_tombstone_text(update: &[u8], runs: &[u64], text: &[u8]) -> Vec<u8> {
    let body = body_of(update);
    let head = [&body[..ops_end(body)], &[0]].concat();
    with_counts_and_text(Kind::Update, &head, runs, text)
}

#[test]
fn bad_tombstone_text_in_updates_is_refused_with_typed_errors() {
    let (mut a, _) = sample();
    let good = a.encode_update(&Version::new()).unwrap();
    // One tombstone run: the sample's four deleted characters.
    assert_eq!(with_tombstone_text(&good, &[1], b"hell"), good);
    let bad = |what| Error::Decode(DecodeError::InvalidValue(what));
    let tombstones = bad("deleted text of tombstone runs");
    let cases: [(&[u64], &[u8], Error); 7] = [
        (&[1], b"hel", tombstones.clone()),
        (&[1], b"hello", tombstones.clone()),
        (&[2], b"hell", tombstones.clone()),
        (&[0, 1], b"", tombstones.clone()),
        (&[0, 0, 1], b"hell", tombstones.clone()),
        (&[1, 0], b"hell", Error::Decode(DecodeError::TrailingBytes)),
        (&[1], b"h\xffll", Error::Decode(DecodeError::InvalidUtf8)),
    ];
    for (runs, text, error) in cases {
        let bytes = with_tombstone_text(&good, runs, text);
        let mut d = Doc::new(5);
        assert_eq!(
            d.apply_update(&bytes, CodePoint),
            Err(error),
            "{runs:?} {text:?}"
        );
        assert!(d.version().is_empty(), "nothing applied for {runs:?}");
    }
    // Cut short after its mark.
    let body = body_of(&good);
    let cut = seal(Kind::Update, &body[..ops_end(body) + 1]);
    assert_eq!(
        Doc::new(5).apply_update(&cut, CodePoint),
        Err(Error::Decode(DecodeError::UnexpectedEnd))
    );
}
