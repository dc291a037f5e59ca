//! Group commit: writes queued at once share transactions, yet each gets
//! its own key, bytes and outcome, as if it had been committed alone.
//!
//! The tests that count commits run on a current-thread runtime: every
//! write spawned at once is queued before the committer first runs, so
//! which writes share a group does not depend on timing.

use super::*;
use std::collections::HashMap;
use weft::journal::{self, Unsaved};
use weft::Version;
use weft_server::storage::{StorageError, MAX_GROUP_BYTES, MAX_GROUP_WRITES};

/// A change of its own, from a replica of its own: appended in any order,
/// every one loads back.
fn change(replica: u64, text: &str) -> Unsaved {
    let mut doc = Doc::new(replica);
    doc.insert(0, text, IndexUnit::CodePoint).unwrap();
    Unsaved {
        update: doc.encode_update(&Version::new()).unwrap(),
        version: doc.version(),
    }
}

/// Spawns an append of each `(room, change)` at once; returns each one's
/// outcome, in the same order.
async fn append_all(
    storage: &Storage,
    writes: Vec<(String, Unsaved)>,
) -> Vec<Result<(u64, u64), StorageError>> {
    let tasks: Vec<_> = writes
        .into_iter()
        .map(|(room, unsaved)| {
            let storage = storage.clone();
            tokio::spawn(async move { storage.append(&room, &unsaved).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

both! {
/// 50 rooms x 20 appends, all spawned at once on two worker threads: every
/// one is acknowledged with its own key (each room's keys are 1 to 20, each
/// once) and the bytes of its own entry, in far fewer commits than writes,
/// and all of them load back from the database opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_many_rooms_share_commits(engine: Engine) {
    const ROOMS: u64 = 50;
    const PER_ROOM: u64 = 20;
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let mut writes = Vec::new();
    // Interleaved, as a busy server's rooms would queue them.
    for i in 0..PER_ROOM {
        for room in 0..ROOMS {
            let text = format!("room {room} change {i}; ");
            writes.push((
                format!("room {room}"),
                change(1 + room * PER_ROOM + i, &text),
            ));
        }
    }
    let before = storage.commits();
    let outcomes = append_all(&storage, writes.clone()).await;
    let commits = storage.commits() - before;
    let n = writes.len() as u64;
    assert!(
        commits * 2 <= n,
        "{n} writes took {commits} commits: not grouped"
    );

    let raw = place.raw().await;
    let mut keys_of: HashMap<&str, Vec<u64>> = HashMap::new();
    for ((room, unsaved), outcome) in writes.iter().zip(outcomes) {
        let (key, bytes) = outcome.expect("acknowledged");
        // The answer is this write's own: its row holds its update under
        // its key.
        let stored = raw.entry("records", room, key as i64).await;
        assert_eq!(stored, journal::encode_record(key, &unsaved.update));
        assert_eq!(bytes, stored.len() as u64);
        keys_of.entry(room).or_default().push(key);
    }
    assert_eq!(keys_of.len() as u64, ROOMS);
    for (room, keys) in &mut keys_of {
        keys.sort_unstable();
        assert_eq!(*keys, (1..=PER_ROOM).collect::<Vec<_>>(), "{room}");
    }
    raw.close().await;
    storage.close().await;

    let storage = place.open().await;
    for room in 0..ROOMS {
        let name = format!("room {room}");
        let loaded = storage.load(&name, 10_000 + room, policy()).await.unwrap();
        loaded.doc.check_invariants();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.journal.stats().records, PER_ROOM as usize);
        for (_, unsaved) in writes.iter().filter(|(r, _)| *r == name) {
            assert!(loaded.doc.version().includes(&unsaved.version), "{name}");
        }
    }
}
}

both! {
/// Groups are bounded: 600 small writes queued at once take at least
/// ceil(600 / `MAX_GROUP_WRITES`) commits, and 10 sealed records of
/// `MAX_GROUP_BYTES / 4` each take at least 3 (4 to a group), yet both far
/// fewer than one each.
#[tokio::test(flavor = "current_thread")]
async fn groups_are_bounded_in_writes_and_bytes(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;

    let writes: Vec<_> = (0..600u64)
        .map(|i| (format!("room {}", i % 3), change(1 + i, "x")))
        .collect();
    let before = storage.commits();
    for outcome in append_all(&storage, writes).await {
        outcome.unwrap();
    }
    let commits = storage.commits() - before;
    let least = 600usize.div_ceil(MAX_GROUP_WRITES) as u64;
    assert!(
        (least..=least + 2).contains(&commits),
        "600 writes took {commits} commits"
    );

    let body = vec![7u8; MAX_GROUP_BYTES / 4];
    let before = storage.commits();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let storage = storage.clone();
            let body = body.clone();
            tokio::spawn(async move { storage.sealed_append("big", body).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().unwrap());
    }
    // Queue order is key order.
    assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    let commits = storage.commits() - before;
    assert!((3..=5).contains(&commits), "10 big writes took {commits}");
    let loaded = storage.sealed_load("big", 0).await.unwrap();
    assert_eq!(loaded.records.len(), 10);
    assert!(loaded.records.iter().all(|(_, b)| *b == body));
}
}

both! {
/// A write that SQLite refuses and rolls back (here: its key is already
/// taken, the room's counter having been damaged) fails alone with
/// `Write`; the others queued with it in the same group are committed, in
/// one more commit, under the keys they would have had anyway.
#[tokio::test(flavor = "current_thread")]
async fn a_write_rolled_back_in_a_group_fails_alone(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    storage.append("bad", &change(1, "first")).await.unwrap();
    let raw = place.raw().await;
    raw.execute("UPDATE rooms SET last_key = 0 WHERE room = 'bad'")
        .await;

    let mut writes = Vec::new();
    for i in 0..5 {
        writes.push(("a".to_owned(), change(10 + i, "a")));
        if i == 2 {
            writes.push(("bad".to_owned(), change(20, "bad")));
        }
        writes.push(("b".to_owned(), change(30 + i, "b")));
    }
    let before = storage.commits();
    let outcomes = append_all(&storage, writes.clone()).await;
    assert_eq!(
        storage.commits() - before,
        1,
        "the others are committed together, once"
    );
    let mut keys_of: HashMap<&str, Vec<u64>> = HashMap::new();
    for ((room, _), outcome) in writes.iter().zip(outcomes) {
        match (room.as_str(), outcome) {
            ("bad", Err(StorageError::Write { room, .. })) => assert_eq!(room, "bad"),
            ("bad", other) => panic!("expected Write, got {other:?}"),
            (room, outcome) => keys_of
                .entry(room)
                .or_default()
                .push(outcome.expect("acknowledged").0),
        }
    }
    // In queue order, with no key lost to the failed write.
    assert_eq!(keys_of["a"], [1, 2, 3, 4, 5]);
    assert_eq!(keys_of["b"], [1, 2, 3, 4, 5]);
    assert_eq!(keys(&raw, "records", "a").await, [1, 2, 3, 4, 5]);
    assert_eq!(keys(&raw, "records", "b").await, [1, 2, 3, 4, 5]);
    assert_eq!(keys(&raw, "records", "bad").await, [1]);
    let last = raw
        .integer("SELECT last_key FROM rooms WHERE room = 'bad'")
        .await;
    assert_eq!(last, 0, "the failed write's counter bump was rolled back");
    // Nothing is unknown: the storage goes on.
    assert_eq!(storage.generation().unwrap(), 0);
    storage.append("a", &change(40, "more")).await.unwrap();
}
}

both! {
/// A group whose commit fails leaves the database's state unknown: every write
/// of the group, for whatever room, and every write queued behind it gets
/// `Unknown`, naming the group's first room (it runs in room order); none
/// of them is on disk after
/// `reopen`.
#[tokio::test(flavor = "current_thread")]
async fn a_failed_group_commit_fails_the_group_and_the_queue(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let raw = place.raw().await;
    // As in `failures`: a COMMIT that fails, here only for a write to
    // room "x".
    raw.break_commits(Some("x")).await;
    // More than one group: the first fails, the rest are still queued.
    let n = MAX_GROUP_WRITES as u64 + 44;
    let writes: Vec<_> = (0..n)
        .map(|i| {
            let room = if i == 0 {
                "x".to_owned()
            } else {
                format!("room {}", i % 7)
            };
            (room, change(1 + i, "lost"))
        })
        .collect();
    let before = storage.commits();
    for outcome in append_all(&storage, writes).await {
        match outcome {
            // The first room of the group as it runs: in room order.
            Err(StorageError::Unknown { room, .. }) => assert_eq!(room, "room 0"),
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
    assert_eq!(storage.commits(), before);
    raw.mend_commits().await;
    storage.reopen().await.unwrap();
    let rows = raw.integer("SELECT COUNT(*) FROM records").await;
    assert_eq!(rows, 0);
    assert_eq!(
        storage.append("x", &change(1000, "again")).await.unwrap().0,
        1
    );
}
}

both! {
/// A caller that stops waiting once its write is queued loses nothing: the
/// write is committed all the same, and the next one takes the next key.
#[tokio::test(flavor = "current_thread")]
async fn a_write_whose_caller_stops_waiting_still_commits(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let first = change(1, "abandoned ");
    tokio::select! {
        biased;
        // Polled once, so queued, then dropped.
        _ = storage.append("room", &first) => panic!("committed without a wait"),
        () = std::future::ready(()) => {}
    }
    let second = change(2, "awaited");
    let (key, _) = storage.append("room", &second).await.unwrap();
    assert_eq!(key, 2);
    let loaded = storage.load("room", 3, policy()).await.unwrap();
    assert!(loaded.doc.version().includes(&first.version));
    assert!(loaded.doc.version().includes(&second.version));
    assert_eq!(keys(&place.raw().await, "records", "room").await, [1, 2]);
}
}

/// A committer that never runs (its runtime shuts down first) leaves
/// nothing behind: the storage, used from another runtime, starts a new
/// one, and the write that was only queued was not written (it takes no
/// key).
///
/// On SQLite only: a PostgreSQL connection belongs to the runtime that
/// opened it, and a server's storage lives and dies with its one runtime.
#[test]
fn a_committer_dropped_with_its_runtime_leaves_no_write_waiting() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let place = first.block_on(Place::new(Engine::Sqlite));
    let storage = first.block_on(place.open());
    let lost = change(1, "never written");
    first.block_on(async {
        tokio::select! {
            biased;
            // Queued, and its committer spawned; `block_on` returns before
            // the committer is ever polled.
            _ = storage.append("room", &lost) => {
                panic!("committed without a wait")
            }
            () = std::future::ready(()) => {}
        }
    });
    drop(first);
    runtime().block_on(async {
        // Nothing was in progress, so nothing is unknown.
        assert_eq!(storage.generation().unwrap(), 0);
        let second = change(2, "written");
        let written = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            storage.append("room", &second),
        )
        .await
        .expect("a committer runs again");
        assert_eq!(written.unwrap().0, 1);
        assert_eq!(keys(&place.raw().await, "records", "room").await, [1]);
    });
}
