#![cfg(target_arch = "wasm32")]
//! The IndexedDB store in a real browser (headless Chromium): real
//! IndexedDB, no mocks.

use wasm_bindgen_test::*;
use weft::journal::{CompactionPolicy, Journal};
use weft::{IndexUnit::Utf16, Version};
use weft_wasm::JournalDb;

wasm_bindgen_test_configure!(run_in_browser);

/// The keys of the records opening merged.
fn record_keys(opened: &weft::journal::Opened) -> Vec<u64> {
    opened.merged_records.iter().map(|r| r.0).collect()
}

/// A database name no other test (or earlier run) uses.
fn fresh(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random())
}

#[wasm_bindgen_test]
async fn appended_updates_survive_reopening() {
    let name = fresh("append");
    let store = JournalDb::open(&name).await.unwrap();
    let opened = store.load(1).await.unwrap();
    assert!(opened.problems.is_empty());
    let mut journal = Journal::opened(&opened, CompactionPolicy::default());
    let mut doc = opened.doc;
    let mut keys = Vec::new();
    for word in ["hello", " world", " \u{1F600}"] {
        let at = doc.len(Utf16);
        doc.insert(at, word, Utf16).unwrap();
        let unsaved = journal.unsaved(&mut doc).unwrap().unwrap();
        let (key, bytes) = store.append(&unsaved.update).await.unwrap();
        journal.appended(key, bytes, unsaved);
        keys.push(key);
    }
    assert_eq!(keys, vec![1, 2, 3]);
    assert_eq!(journal.stats().records, 3);
    store.close();
    let again = JournalDb::open(&name).await.unwrap();
    let reopened = again.load(2).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "hello world \u{1F600}");
    assert_eq!(record_keys(&reopened), vec![1, 2, 3]);
    assert_eq!(
        reopened.journal_bytes,
        journal.stats().journal_bytes,
        "the journal counts what was written"
    );
    assert!(reopened.problems.is_empty());
    reopened.doc.check_invariants();
}

#[wasm_bindgen_test]
async fn compaction_replaces_records_with_a_checkpoint() {
    let name = fresh("compact");
    let store = JournalDb::open(&name).await.unwrap();
    let opened = store.load(1).await.unwrap();
    let mut journal = Journal::opened(&opened, CompactionPolicy::default());
    let mut doc = opened.doc;
    for i in 0..20 {
        doc.insert(0, &format!("line {i}\n"), Utf16).unwrap();
        let unsaved = journal.unsaved(&mut doc).unwrap().unwrap();
        let (key, bytes) = store.append(&unsaved.update).await.unwrap();
        journal.appended(key, bytes, unsaved);
    }
    let planned = journal.compaction(&mut doc).unwrap();
    assert_eq!(planned.records, (1..=20).collect::<Vec<u64>>());
    let (checkpoint, size) = store.compact(&planned).await.unwrap();
    journal.compacted(&planned, checkpoint, size);
    assert_eq!(checkpoint, 21, "the key after every stored one");
    assert!(size > 0);
    // One more edit after the checkpoint.
    doc.insert(0, "last\n", Utf16).unwrap();
    let unsaved = journal.unsaved(&mut doc).unwrap().unwrap();
    store.append(&unsaved.update).await.unwrap();
    let reopened = JournalDb::open(&name).await.unwrap().load(2).await.unwrap();
    assert_eq!(reopened.doc.to_string(), doc.to_string());
    assert_eq!(reopened.covered, 21);
    assert_eq!(reopened.merged_checkpoints, vec![21]);
    assert_eq!(
        record_keys(&reopened),
        vec![22],
        "the compacted records are gone"
    );
    assert_eq!(reopened.checkpoint_bytes, size);
}

#[wasm_bindgen_test]
async fn corrupt_and_truncated_records_are_skipped_and_reported() {
    let name = fresh("corrupt");
    let store = JournalDb::open(&name).await.unwrap();
    let mut a = weft::Doc::new(1);
    a.insert(0, "alpha ", Utf16).unwrap();
    store
        .append(&a.encode_update(&Version::new()).unwrap())
        .await
        .unwrap();
    // Damage written straight into the store: a record cut short, a record
    // with a flipped bit, and bytes that are not a record at all.
    let mut b = weft::Doc::new(2);
    b.insert(0, "beta", Utf16).unwrap();
    let good = weft::journal::encode_record(2, &b.encode_update(&Version::new()).unwrap());
    store.put_raw(2, &good[..good.len() - 3]).await.unwrap();
    let mut flipped = weft::journal::encode_record(3, &b.encode_update(&Version::new()).unwrap());
    flipped[20] ^= 4;
    store.put_raw(3, &flipped).await.unwrap();
    store.put_raw(4, b"not a record").await.unwrap();
    let v = a.version();
    a.insert(6, "gamma", Utf16).unwrap();
    // A later record, written the same way.
    store
        .put_raw(
            5,
            &weft::journal::encode_record(5, &a.encode_update(&v).unwrap()),
        )
        .await
        .unwrap();
    let reopened = store.load(9).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "alpha gamma");
    let keys: Vec<u64> = reopened
        .problems
        .iter()
        .map(|p| match p {
            weft::journal::Problem::Record { key, .. } => *key,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(keys, vec![2, 3, 4]);
}

#[wasm_bindgen_test]
async fn two_connections_writing_at_once_keep_both_writers_edits() {
    let name = fresh("two");
    let first = JournalDb::open(&name).await.unwrap();
    let second = JournalDb::open(&name).await.unwrap();
    let mut a = weft::Doc::new(1);
    let mut b = weft::Doc::new(2);
    let mut pending = Vec::new();
    for i in 0..10 {
        let (va, vb) = (a.version(), b.version());
        a.insert(a.len(Utf16), &format!("a{i} "), Utf16).unwrap();
        b.insert(b.len(Utf16), &format!("b{i} "), Utf16).unwrap();
        pending.push((a.encode_update(&va).unwrap(), b.encode_update(&vb).unwrap()));
    }
    // Interleave the two writers' transactions.
    let writes = pending.iter().map(|(ua, ub)| async {
        let (ka, kb) = futures_join(first.append(ua), second.append(ub)).await;
        (ka.unwrap().0, kb.unwrap().0)
    });
    let mut keys = Vec::new();
    for w in writes {
        let (ka, kb) = w.await;
        keys.push(ka);
        keys.push(kb);
    }
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 20, "no key was given twice");
    let reopened = first.load(3).await.unwrap();
    let text = reopened.doc.to_string();
    for i in 0..10 {
        assert!(
            text.contains(&format!("a{i} ")) && text.contains(&format!("b{i} ")),
            "{text}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_writer_whose_next_key_another_took_writes_under_a_fresh_one() {
    let name = fresh("stale");
    let first = JournalDb::open(&name).await.unwrap();
    let second = JournalDb::open(&name).await.unwrap();
    let [one, two, three] = three_updates();
    // `first` expects key 2 next; `second` takes it meanwhile.
    let k1 = first.append(&one).await.unwrap().0;
    let k2 = second.append(&two).await.unwrap().0;
    let k3 = first.append(&three).await.unwrap().0;
    assert_eq!((k1, k2, k3), (1, 2, 3));
    let reopened = first.load(2).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "one two three");
    assert_eq!(record_keys(&reopened), vec![1, 2, 3]);
}

#[wasm_bindgen_test]
async fn a_compaction_keeps_a_record_written_again_under_a_key_it_freed() {
    let name = fresh("freed");
    let (x, y) = (weft_db(&name).await, weft_db(&name).await);
    let [one, two, three] = three_updates();
    assert_eq!(x.append(&one).await.unwrap().0, 1);
    assert_eq!(y.append(&two).await.unwrap().0, 2);
    // `y` and `z` load records 1 and 2, and plan to compact them.
    let (y_plan, z) = (plan(&y, 2).await, weft_db(&name).await);
    let z_plan = plan(&z, 3).await;
    assert_eq!(z_plan.records, vec![1, 2]);
    // `y` compacts, freeing keys 1 and 2.
    assert_eq!(y.compact(&y_plan).await.unwrap().0, 3);
    // `x` missed it: it adds its next record under key 2 again.
    assert_eq!(x.append(&three).await.unwrap().0, 2);
    // `z` compacts what it loaded, records 1 and 2: the record now under 2
    // is not the one it loaded, and stays.
    assert_eq!(z.compact(&z_plan).await.unwrap().0, 4);
    let reopened = weft_db(&name).await.load(5).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "one two three");
    assert_eq!(record_keys(&reopened), vec![2]);
    assert!(reopened.problems.is_empty());
}

#[wasm_bindgen_test]
async fn an_append_does_not_wait_for_a_compaction_under_way() {
    let name = fresh("beside");
    let db = weft_db(&name).await;
    let [one, two, three] = three_updates();
    assert_eq!(db.append(&one).await.unwrap().0, 1);
    assert_eq!(db.append(&two).await.unwrap().0, 2);
    let planned = plan(&db, 2).await;
    // The compaction's first transaction starts first. The append's record
    // is durable before the compaction is done: its checkpoint is written
    // beside the append, and its deletions come after it (one transaction
    // over both stores would make the append wait for all of it).
    let finished = std::cell::RefCell::new(Vec::new());
    let compaction = async {
        let done = db.compact(&planned).await.unwrap();
        finished.borrow_mut().push("compaction");
        done
    };
    let append = async {
        let done = db.append(&three).await.unwrap();
        finished.borrow_mut().push("append");
        done
    };
    let ((checkpoint, _), (record, _)) = futures_join(compaction, append).await;
    assert_eq!(*finished.borrow(), ["append", "compaction"]);
    assert_eq!((checkpoint, record), (3, 3), "one key in each store");
    let reopened = weft_db(&name).await.load(3).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "one two three");
    assert_eq!(reopened.merged_checkpoints, vec![3]);
    assert_eq!(
        record_keys(&reopened),
        vec![3],
        "the compacted records are gone"
    );
    assert!(reopened.problems.is_empty());
}

#[wasm_bindgen_test]
async fn a_compaction_deletes_around_a_record_it_does_not_hold() {
    let name = fresh("around");
    let db = weft_db(&name).await;
    let [one, two, three] = three_updates();
    for (update, key) in [(&one, 1), (&two, 2), (&three, 3)] {
        assert_eq!(db.append(update).await.unwrap().0, key);
    }
    let planned = plan(&db, 2).await;
    assert_eq!(planned.records, vec![1, 2, 3]);
    // Another writer's entry under key 2 now: not the one included.
    let other = weft::journal::encode_record(2, &three);
    db.put_raw(2, &other).await.unwrap();
    assert_eq!(db.compact(&planned).await.unwrap().0, 4);
    let reopened = weft_db(&name).await.load(3).await.unwrap();
    assert_eq!(record_keys(&reopened), vec![2], "1 and 3 deleted, 2 kept");
    assert_eq!(reopened.doc.to_string(), "one two three");
}

#[wasm_bindgen_test]
async fn a_page_told_of_a_workers_compaction_lets_go_of_the_records_it_deleted() {
    let name = fresh("elsewhere");
    let page = weft_db(&name).await;
    let [one, two, three] = three_updates();
    assert_eq!(page.append(&one).await.unwrap().0, 1);
    assert_eq!(page.append(&two).await.unwrap().0, 2);
    // A second connection (the Worker's) compacts what is stored.
    let worker = weft_db(&name).await;
    let planned = plan(&worker, 2).await;
    let (key, _) = worker.compact(&planned).await.unwrap();
    assert_eq!(key, 3);
    assert_eq!(page.held_records(), 2);
    page.compacted_elsewhere(&planned.records, key);
    assert_eq!(
        page.held_records(),
        0,
        "what the Worker deleted is not held"
    );
    assert_eq!(page.append(&three).await.unwrap().0, 4);
    assert_eq!(page.held_records(), 1);
    let reopened = weft_db(&name).await.load(3).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "one two three");
    assert_eq!(reopened.merged_checkpoints, vec![3]);
    assert_eq!(record_keys(&reopened), vec![4]);
}

#[wasm_bindgen_test]
async fn a_version_1_database_opens_and_takes_appends() {
    let name = fresh("v1");
    let mut doc = weft::Doc::new(1);
    doc.insert(0, "stored by version 1", Utf16).unwrap();
    let entry = weft::journal::encode_record(7, &doc.encode_update(&Version::new()).unwrap());
    // Version 1's layout, as its code wrote it: a `meta` store with the
    // counter beside records and checkpoints.
    let script = format!(
        "new Promise((resolve, reject) => {{
          const req = indexedDB.open('weft:{name}', 1);
          req.onupgradeneeded = () => {{
            for (const s of ['records', 'checkpoints', 'meta']) req.result.createObjectStore(s);
          }};
          req.onsuccess = () => {{
            const db = req.result;
            const tx = db.transaction(['records', 'meta'], 'readwrite');
            tx.objectStore('records').put(new Uint8Array({entry:?}), 7);
            tx.objectStore('meta').put(8, 'nextKey');
            tx.oncomplete = () => {{ db.close(); resolve(); }};
            tx.onerror = () => reject(tx.error);
          }};
          req.onerror = () => reject(req.error);
        }})"
    );
    let written = js_sys::eval(&script).unwrap();
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(written))
        .await
        .unwrap();
    let db = weft_db(&name).await;
    let opened = db.load(2).await.unwrap();
    assert_eq!(opened.doc.to_string(), "stored by version 1");
    let v = doc.version();
    doc.insert(0, "kept: ", Utf16).unwrap();
    assert_eq!(
        db.append(&doc.encode_update(&v).unwrap()).await.unwrap().0,
        8
    );
    let reopened = weft_db(&name).await.load(3).await.unwrap();
    assert_eq!(reopened.doc.to_string(), "kept: stored by version 1");
}

/// Updates typing "one ", "two " and "three" in turn, each after the last.
fn three_updates() -> [Vec<u8>; 3] {
    let mut doc = weft::Doc::new(1);
    ["one ", "two ", "three"].map(|word| {
        let v = doc.version();
        doc.insert(doc.len(Utf16), word, Utf16).unwrap();
        doc.encode_update(&v).unwrap()
    })
}

/// Opens the database of `name`.
async fn weft_db(name: &str) -> JournalDb {
    JournalDb::open(name).await.unwrap()
}

/// Loads `db` and plans the compaction of everything it holds.
async fn plan(db: &JournalDb, replica: u64) -> weft::journal::Compaction {
    let mut opened = db.load(replica).await.unwrap();
    let journal = Journal::opened(&opened, CompactionPolicy::default());
    journal.compaction(&mut opened.doc).unwrap()
}

/// Runs two futures concurrently (a tiny join, to need no extra crate).
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    use std::pin::pin;
    use std::task::Poll;
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}
