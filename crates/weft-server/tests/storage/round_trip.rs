//! What is appended and compacted is what a later open loads.

use super::*;
use weft::journal::JournalStats;

both! {
/// Edits appended as records to several rooms load back the same, from a
/// storage opened again on the same directory; rooms do not see each
/// other's entries, and a room never written loads empty without being
/// created.
#[tokio::test]
async fn appended_edits_load_back_per_room(engine: Engine) {
    let place = Place::new(engine).await;
    let rooms = ["alpha", "beta", "a room with spaces/and slashes"];
    let mut texts = Vec::new();
    {
        let storage = place.open().await;
        let mut rng = Rng::new(1);
        let mut loaded = Vec::new();
        for (i, room) in rooms.iter().enumerate() {
            loaded.push(storage.load(room, 10 + i as u64, policy()).await.unwrap());
        }
        // Interleaved, so each room's keys come from its own counter.
        for _ in 0..20 {
            for (room, loaded) in rooms.iter().zip(&mut loaded) {
                append_edits(&storage, room, loaded, 1, &mut rng).await;
            }
        }
        for loaded in &loaded {
            texts.push(loaded.doc.to_string());
        }
        let raw = place.raw().await;
        for room in rooms {
            let expected: Vec<i64> = (1..=20).collect();
            assert_eq!(keys(&raw, "records", room).await, expected, "{room}");
        }
        storage.close().await;
    }
    let storage = place.open().await;
    for (i, room) in rooms.iter().enumerate() {
        let loaded = storage.load(room, 20 + i as u64, policy()).await.unwrap();
        loaded.doc.check_invariants();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.doc.to_string(), texts[i], "{room}");
        assert_eq!(loaded.journal.stats().records, 20);
        assert_eq!(loaded.journal.saved(), &loaded.doc.version());
    }
    let empty = storage.load("never written", 30, policy()).await.unwrap();
    assert!(empty.doc.is_empty());
    assert!(empty.doc.version().is_empty());
    assert!(empty.problems.is_empty());
    assert_eq!(empty.journal.stats(), JournalStats::default());
    let raw = place.raw().await;
    let rows = raw
        .integer("SELECT COUNT(*) FROM rooms WHERE room = 'never written'")
        .await;
    assert_eq!(rows, 0, "loading creates nothing");
    assert!(storage.stored_bytes().await.unwrap() > 0);
}
}

both! {
/// A compaction writes its checkpoint under a fresh key and deletes exactly
/// the records and checkpoints it planned to: a record appended between
/// planning and committing stays, other rooms are untouched, and every
/// open loads the same text.
#[tokio::test]
async fn compaction_deletes_exactly_what_it_includes(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let mut rng = Rng::new(2);
    let mut other = storage.load("other", 1, policy()).await.unwrap();
    append_edits(&storage, "other", &mut other, 3, &mut rng).await;
    let mut room = storage.load("room", 2, policy()).await.unwrap();
    append_edits(&storage, "room", &mut room, 20, &mut rng).await;
    let bytes_before = storage.stored_bytes().await.unwrap();

    let plan = room.journal.compaction(&mut room.doc).unwrap();
    assert_eq!(plan.records, (1..=20).collect::<Vec<u64>>());
    // The room keeps being edited while the checkpoint is written.
    edit(&mut room.doc, &mut rng);
    assert_eq!(append_unsaved(&storage, "room", &mut room).await, 21);
    let (key, bytes) = storage.compact("room", &plan).await.unwrap();
    assert_eq!(key, 22, "a fresh key from the room's counter");
    room.journal.compacted(&plan, key, bytes);
    assert_eq!(room.journal.stats().records, 1);
    assert_eq!(room.journal.stats().checkpoints, 1);

    let raw = place.raw().await;
    assert_eq!(keys(&raw, "records", "room").await, [21]);
    assert_eq!(keys(&raw, "checkpoints", "room").await, [22]);
    assert_eq!(keys(&raw, "records", "other").await, [1, 2, 3]);
    assert!(storage.stored_bytes().await.unwrap() < bytes_before);

    edit(&mut room.doc, &mut rng);
    assert_eq!(append_unsaved(&storage, "room", &mut room).await, 23);
    let text = room.doc.to_string();
    storage.close().await;

    let storage = place.open().await;
    let mut again = storage.load("room", 3, policy()).await.unwrap();
    again.doc.check_invariants();
    assert!(again.problems.is_empty());
    assert_eq!(again.doc.to_string(), text);
    assert_eq!(again.journal.stats().records, 2);
    assert_eq!(again.journal.stats().checkpoints, 1);
    assert_eq!(
        storage
            .load("other", 4, policy())
            .await
            .unwrap()
            .doc
            .to_string(),
        other.doc.to_string()
    );

    // Compacting what was loaded folds in the old checkpoint too.
    let plan = again.journal.compaction(&mut again.doc).unwrap();
    let (key, bytes) = storage.compact("room", &plan).await.unwrap();
    again.journal.compacted(&plan, key, bytes);
    assert_eq!(key, 24);
    assert!(keys(&raw, "records", "room").await.is_empty());
    assert_eq!(keys(&raw, "checkpoints", "room").await, [24]);
    let last = storage.load("room", 5, policy()).await.unwrap();
    last.doc.check_invariants();
    assert_eq!(last.doc.to_string(), text);
}
}
