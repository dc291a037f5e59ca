//! The most memory hostile input can make Weft hold: every input here is at
//! most 1 MiB, the worst we could craft for one decoder (columns that
//! inflate as far as allowed, streams that are not deflate, the most runs,
//! spans, pages and replicas the bytes allow, huge declared lengths), and
//! the peak heap growth while a document or sync session takes it,
//! the resulting document included, must stay within 64 MiB.
//!
//! A counting global allocator records the peak. The cases run one at a
//! time (one test function), so nothing else allocates meanwhile. Run with
//! `--nocapture` to see the peaks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use weft::sync::Session;
use weft::{Doc, IndexUnit::CodePoint, Version};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How far a deflated column may inflate (`INFLATE_RATIO`, see
/// docs/format.md).
const RATIO: usize = 8;
/// The largest input considered.
const MAX_INPUT: usize = 1 << 20;
/// The most memory such an input may cause.
const MAX_PEAK: usize = 64 << 20;

/// Peak heap growth while `f` runs (what it returns is dropped after).
fn peak_of<R>(f: impl FnOnce() -> R) -> usize {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let t = std::time::Instant::now();
    let r = f();
    let peak = PEAK.load(Relaxed) - base;
    if std::env::var("WEFT_MEM_DETAIL").is_ok() {
        eprintln!(
            "    kept {:.2} MiB, {:?}",
            (CURRENT.load(Relaxed) - base) as f64 / (1 << 20) as f64,
            t.elapsed()
        );
    }
    drop(r);
    peak
}

// ---- A minimal writer of the formats in docs/format.md ----

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn uvar(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    fn svar(&mut self, v: i64) -> &mut Self {
        self.uvar(((v << 1) ^ (v >> 63)) as u64)
    }
    fn u64le(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// A column stored as is.
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.uvar((b.len() as u64) << 1).bytes(b)
    }
    /// A deflated column declaring `len` bytes, its stream as given.
    fn deflated(&mut self, len: u64, stream: &[u8]) -> &mut Self {
        let mut head = W::default();
        head.uvar(len);
        self.uvar(((head.0.len() + stream.len()) as u64) << 1 | 1)
            .bytes(&head.0)
            .bytes(stream)
    }
}

/// A deflate stream of `len` copies of `byte`, padded with empty stored
/// blocks to `stored` bytes: the most a column of that size may inflate.
fn padded_stream(len: usize, byte: u8, stored: usize) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec(&vec![byte; len], 9);
    let mut s = Vec::new();
    while s.len() + packed.len() < stored {
        s.extend_from_slice(&[0, 0, 0, 0xff, 0xff]);
    }
    s.extend_from_slice(&packed);
    s
}

fn seal(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = b"WEFT".to_vec();
    v.extend_from_slice(&[1, kind]);
    v.extend_from_slice(body);
    let crc = weft::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Frames of one sync message (see `docs/format.md`), at most 16 KiB each.
fn frames(kind: u8, body: &[u8]) -> Vec<Vec<u8>> {
    let mut m = vec![kind];
    m.extend_from_slice(body);
    let mut out = Vec::new();
    let mut rest = &m[..];
    let mut first = true;
    loop {
        let mut f = W::default();
        let room = 16 * 1024 - if first { 12 } else { 2 };
        let take = rest.len().min(room);
        let flags = u8::from(first) | if take == rest.len() { 2 } else { 0 };
        f.bytes(&[1, flags]);
        if first {
            f.uvar(m.len() as u64);
        }
        f.bytes(&rest[..take]);
        out.push(f.0);
        rest = &rest[take..];
        first = false;
        if flags & 2 != 0 {
            return out;
        }
    }
}

// ---- The inputs ----

/// An update whose six columns are deflated, each as large as `column`
/// bytes allow, filled with `byte`; the run count as large as allowed.
fn update_of_bombs(column: usize, byte: u8) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(1).u64le(7).uvar(0).uvar(1 << 20); // one replica
    let stream = padded_stream(column * RATIO - 8, byte, column - 4);
    w.uvar((6 * column / 4) as u64);
    for _ in 0..6 {
        w.deflated((column * RATIO - 8) as u64, &stream);
    }
    seal(1, &w.0)
}

/// An update whose six columns claim the most their bytes allow, but are
/// not deflate streams.
fn update_of_garbage(column: usize) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(0).uvar(0);
    for i in 0..6 {
        w.deflated((column * RATIO - RATIO) as u64, &noise(column - 4, i));
    }
    seal(1, &w.0)
}

/// Columns declaring 2^31 bytes each from a few.
fn update_declaring_huge_columns() -> Vec<u8> {
    let mut w = W::default();
    w.uvar(0).uvar(0);
    for _ in 0..6 {
        w.deflated((1 << 31) - 1, &noise(2_000, 3));
    }
    seal(1, &w.0)
}

/// The most replicas a table holds, each with one insert without text
/// (the least bytes per run) before the previous replica's, none mergeable.
fn update_of_many_replicas(n: usize) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(n as u64);
    for i in 0..n {
        w.u64le(1000 + i as u64).uvar(0).uvar(1);
    }
    w.uvar(n as u64);
    let (mut agents, mut lens, mut lefts, mut rights) =
        (W::default(), W::default(), W::default(), W::default());
    for i in 0..n {
        agents.uvar(i as u64).uvar(1);
        lens.uvar(1 << 2 | 1);
        lefts.uvar(0);
        match i {
            0 => rights.uvar(0),
            _ => rights.uvar(3 + i as u64 - 1).uvar(0),
        };
    }
    w.raw(&agents.0).raw(&lens.0).raw(&lefts.0).raw(&rights.0);
    w.raw(&[]).raw(&[]);
    seal(1, &w.0)
}

/// Runs that all wait for an operation that never comes.
fn update_of_waiting_runs(n: usize) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(2);
    w.u64le(1).uvar(0).uvar(n as u64);
    w.u64le(2).uvar(0).uvar(0); // referred to only: its item 5 never comes
    w.uvar(n as u64);
    let (mut agents, mut lens, mut lefts, mut rights) =
        (W::default(), W::default(), W::default(), W::default());
    agents.uvar(0).uvar(n as u64);
    for _ in 0..n {
        lens.uvar(1 << 2);
        lefts.uvar(4).uvar(5);
        rights.uvar(0);
    }
    let text = "w".repeat(n);
    w.raw(&agents.0).raw(&lens.0).raw(&lefts.0).raw(&rights.0);
    w.raw(&[]).raw(text.as_bytes());
    seal(1, &w.0)
}

/// The five run columns of a history of one replica: an insert run of `n`
/// characters without text, then `deletes` single deletes whose target
/// `target(i, column)` writes. Returns agents, lengths, lefts, rights,
/// targets.
fn insert_then_deletes(n: usize, deletes: usize, target: impl Fn(usize, &mut W)) -> [W; 5] {
    let [mut agents, mut lens, mut lefts, mut rights, mut targets] =
        std::array::from_fn(|_| W::default());
    agents.uvar(0).uvar(1 + deletes as u64);
    lens.uvar((n as u64) << 2 | 1);
    lefts.uvar(0);
    rights.uvar(0);
    for i in 0..deletes {
        lens.uvar(1 << 2 | 2);
        target(i, &mut targets);
    }
    [agents, lens, lefts, rights, targets]
}

/// A snapshot with one span per page: the most pages its bytes allow.
fn snapshot_of_many_pages(n: usize) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(1).u64le(9).uvar(0).uvar((n + n / 2) as u64);
    // History: one insert run of n items, then deletes of every odd one.
    let deletes = n / 2;
    w.uvar(1 + deletes as u64);
    let [agents, lens, lefts, rights, targets] = insert_then_deletes(n, deletes, |i, t| {
        let own_previous = (n + i) as i64 - 1;
        t.uvar(2).svar((2 * i + 1) as i64 - own_previous);
    });
    w.raw(&agents.0)
        .raw(&lens.0)
        .raw(&lefts.0)
        .raw(&rights.0)
        .raw(&targets.0)
        .raw(&[]);
    w.uvar(n as u64).uvar(n as u64);
    for i in 0..n {
        let visible = u64::from(i % 2 == 0);
        w.uvar(1).uvar(1).uvar(visible).uvar(visible);
    }
    for i in 0..n {
        let mut block = W::default();
        let mut replicas = W::default();
        replicas.uvar(0).uvar(1);
        let mut seqs = W::default();
        seqs.svar(i as i64);
        block.uvar(replicas.0.len() as u64).bytes(&replicas.0);
        block.uvar(seqs.0.len() as u64).bytes(&seqs.0);
        block.uvar(1 << 1 | u64::from(i % 2 == 1));
        w.raw(&block.0);
    }
    w.raw("a".repeat(n.div_ceil(2)).as_bytes());
    seal(2, &w.0)
}

/// A deflated column of `b`, its stream padded with empty stored blocks so
/// the column takes at least `stored` bytes after its tag.
fn padded_column(w: &mut W, b: &[u8], stored: usize) {
    let packed = miniz_oxide::deflate::compress_to_vec(b, 9);
    let mut head = W::default();
    head.uvar(b.len() as u64);
    let mut s = Vec::new();
    while head.0.len() + s.len() + packed.len() < stored.max(b.len().div_ceil(RATIO)) {
        s.extend_from_slice(&[0, 0, 0, 0xff, 0xff]);
    }
    s.extend_from_slice(&packed);
    w.deflated(b.len() as u64, &s);
}

/// A snapshot with the most history runs its bytes allow (4 bytes a run,
/// see docs/format.md): one insert of `n` characters, then `n` deletes of
/// one character each, every other one first, so none continues another.
fn snapshot_of_most_runs(n: usize) -> Vec<u8> {
    let mut w = W::default();
    w.uvar(1).u64le(9).uvar(0).uvar(2 * n as u64);
    w.uvar(1 + n as u64);
    let [agents, lens, lefts, rights, targets] = insert_then_deletes(n, n, |i, t| {
        let target = if i < n / 2 {
            2 * i
        } else {
            2 * (i - n / 2) + 1
        };
        t.uvar(3).uvar(target as u64);
    });
    let mut document = W::default();
    let mut block = W::default();
    block.uvar(2).uvar(0).uvar(1).uvar(1).svar(0);
    block.uvar((n as u64) << 1 | 1);
    document
        .uvar(1)
        .uvar(1)
        .uvar(1)
        .uvar(n as u64)
        .uvar(0)
        .uvar(0);
    document.raw(&block.0).raw(&[]);
    let mut head = W::default();
    head.raw(&agents.0);
    padded_column(&mut head, &lens.0, 0);
    head.raw(&lefts.0).raw(&rights.0);
    // The body takes what the runs and the span cost (4 bytes a run, 3 a
    // span), and a few bytes more (column tags).
    let need = 4 * (n + 1) + 3;
    let rest = w.0.len() + head.0.len() + document.0.len();
    padded_column(&mut head, &targets.0, need.saturating_sub(rest) + 8);
    w.bytes(&head.0).raw(&[]).bytes(&document.0);
    seal(2, &w.0)
}

/// A document typed backwards: every character its own run and span.
fn typed_backwards(n: usize) -> Doc {
    let mut d = Doc::new(41);
    let letters = noise(n, 5);
    for &b in &letters {
        let c = (b'a' + b % 26) as char;
        d.insert(0, c.encode_utf8(&mut [0; 4]), CodePoint).unwrap();
    }
    d
}

/// A bot that types a character and deletes it, `n` times.
fn bot(n: usize) -> Doc {
    let mut d = Doc::new(42);
    d.insert(0, "x", CodePoint).unwrap();
    for _ in 0..n {
        d.insert(1, "y", CodePoint).unwrap();
        d.delete(1, 1, CodePoint).unwrap();
    }
    d
}

/// Every other character deleted: spans alternate.
fn striped(n: usize) -> Doc {
    let mut d = Doc::new(43);
    let text: String = noise(n, 9)
        .iter()
        .map(|b| (b'a' + b % 26) as char)
        .collect();
    d.insert(0, &text, CodePoint).unwrap();
    for i in 0..n / 2 {
        d.delete(i + 1, 1, CodePoint).unwrap();
    }
    d
}

/// Every other of `n` characters deleted, then 4 MiB of one character:
/// the most spans next to the largest text.
fn striped_then_one_character(n: usize) -> Doc {
    let mut d = striped(n);
    d.insert(d.len(CodePoint), &"a".repeat(4 << 20), CodePoint)
        .unwrap();
    d
}

/// One character, `n` times.
fn same_character(n: usize) -> Doc {
    let mut d = Doc::new(44);
    d.insert(0, &"a".repeat(n), CodePoint).unwrap();
    d
}

/// `same_character`, all deleted: its snapshot's deleted text deflates at
/// the most the reader allows.
fn same_character_deleted(n: usize) -> Doc {
    let mut d = same_character(n);
    d.delete(0, n, CodePoint).unwrap();
    d
}

/// What a document and a session may be given: (name, bytes).
fn hostile_inputs() -> Vec<(String, Vec<u8>)> {
    let column = MAX_INPUT / 6 - 64;
    let mut inputs = vec![
        (
            "update: six columns of zeros at the max ratio".into(),
            update_of_bombs(column, 0),
        ),
        (
            "update: six columns of ones at the max ratio".into(),
            update_of_bombs(column, 1),
        ),
        (
            "update: garbage deflate at the max ratio".into(),
            update_of_garbage(column),
        ),
        (
            "update: columns declaring 2^31 bytes".into(),
            update_declaring_huge_columns(),
        ),
        (
            "update: a replica per run".into(),
            update_of_many_replicas(MAX_INPUT / 20),
        ),
        (
            "update: runs waiting forever".into(),
            update_of_waiting_runs(MAX_INPUT / 6),
        ),
        (
            "snapshot: a span per page".into(),
            snapshot_of_many_pages(MAX_INPUT / 16),
        ),
        (
            "snapshot: a run per 4 bytes".into(),
            snapshot_of_most_runs((MAX_INPUT - 4096) / 4),
        ),
    ];
    // Documents whose updates and snapshots hold the most runs and spans
    // (the writer pads their columns to the reader's bounds), sized to
    // just under 1 MiB.
    // (name, maker, size for the update, size for the snapshot)
    type Honest = (&'static str, fn(usize) -> Doc, usize, usize);
    let honest: Vec<Honest> = vec![
        ("typed backwards", typed_backwards, 255_000, 147_000),
        ("insert/delete bot", bot, 127_000, 94_000),
        ("striped deletions", striped, 163_000, 207_000),
        (
            "striped, then 4 MiB of one character",
            striped_then_one_character,
            80_000,
            150_000,
        ),
        ("one character", same_character, 8_000_000, 8_000_000),
        (
            "one character, deleted",
            same_character_deleted,
            7_000_000,
            8_000_000,
        ),
    ];
    for (name, make, for_update, for_snapshot) in honest {
        let mut doc = make(for_update);
        inputs.push((
            format!("update: {name}"),
            doc.encode_update(&Version::new()).unwrap(),
        ));
        let mut doc = if for_snapshot == for_update {
            doc
        } else {
            make(for_snapshot)
        };
        inputs.push((format!("snapshot: {name}"), doc.encode_snapshot().unwrap()));
    }
    inputs
}

/// One test at a time: the allocator counts every thread.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The writer keeps within the reader's bounds (inflate ratio, runs and
/// spans per byte) however pathological the document: what it writes
/// always loads.
#[test]
fn the_writer_produces_only_what_the_reader_accepts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut docs = [
        same_character(1 << 20),
        bot(20_000),
        typed_backwards(20_000),
        striped(20_000),
    ];
    for doc in &mut docs {
        let mut copy = Doc::new(5);
        copy.apply_update(&doc.encode_update(&Version::new()).unwrap(), CodePoint)
            .unwrap();
        assert_eq!(copy.to_string(), doc.to_string());
        let mut loaded = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 6).unwrap();
        loaded.finish_loading().unwrap();
        assert_eq!(loaded.to_string(), doc.to_string());
        let mut merged = Doc::new(7);
        merged.insert(0, "x", CodePoint).unwrap();
        merged
            .apply_update(&doc.encode_snapshot().unwrap(), CodePoint)
            .unwrap();
        assert_eq!(merged.len(CodePoint), doc.len(CodePoint) + 1);
    }
    // A megabyte of one character takes an eighth of it, not a megabyte.
    let update = docs[0].encode_update(&Version::new()).unwrap();
    assert!(update.len() < (1 << 20) / RATIO + 2048, "{}", update.len());
}

#[test]
fn no_input_of_a_mebibyte_makes_a_document_or_session_hold_over_64_mib() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut target = Doc::new(1);
    target.insert(0, "an existing document", CodePoint).unwrap();
    let mut worst = (0, String::new());
    let mut report = |what: String, peak: usize| {
        eprintln!("{:>7.2} MiB  {what}", peak as f64 / (1 << 20) as f64);
        if peak > worst.0 {
            worst = (peak, what);
        }
    };
    for (name, bytes) in hostile_inputs() {
        assert!(bytes.len() <= MAX_INPUT, "{name}: {} bytes", bytes.len());
        let name = format!("{name} ({} KiB)", bytes.len() >> 10);
        let empty = Doc::new(2);
        let full = target.clone();
        report(
            format!("{name}, applied to an empty document"),
            peak_of(|| {
                let mut d = empty;
                let _ = d.apply_update(&bytes, CodePoint);
                d
            }),
        );
        report(
            format!("{name}, applied to a document"),
            peak_of(|| {
                let mut d = full;
                let _ = d.apply_update(&bytes, CodePoint);
                d
            }),
        );
        report(
            format!("{name}, loaded and decoded"),
            peak_of(|| {
                Doc::from_snapshot(&bytes, 3).map(|mut d| {
                    let _ = d.insert(d.len(CodePoint) / 2, "x", CodePoint);
                    let _ = d.finish_loading();
                    d
                })
            }),
        );
        // Over sync: the peer's Hello, then the input as an update.
        let mut session = Session::new();
        let mut doc = target.clone();
        let mut incoming = frames(1, &Version::new().encode());
        incoming.extend(frames(2, &bytes));
        report(
            format!("{name}, sent to a session"),
            peak_of(|| {
                for f in &incoming {
                    if session.receive(&mut doc, f, CodePoint).is_err() {
                        break;
                    }
                }
                (session, doc)
            }),
        );
    }
    // A session buffering an unfinished message.
    let mut session = Session::new();
    let mut doc = target.clone();
    let mut incoming = frames(1, &Version::new().encode());
    let huge = frames(2, &vec![7; 64 << 20]);
    incoming.extend(huge.into_iter().take(MAX_INPUT / (16 << 10) - 1));
    report(
        "session: an unfinished message of 64 MiB, 1 MiB sent".into(),
        peak_of(|| {
            for f in &incoming {
                let _ = session.receive(&mut doc, f, CodePoint);
            }
            (session, doc)
        }),
    );
    eprintln!(
        "largest: {:.2} MiB, {}",
        worst.0 as f64 / (1 << 20) as f64,
        worst.1
    );
    assert!(worst.0 <= MAX_PEAK, "over 64 MiB: {}", worst.1);
}
