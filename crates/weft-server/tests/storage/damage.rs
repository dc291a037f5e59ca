//! Damaged rows are skipped and reported; the rest loads.

use super::*;
use weft::journal::{Problem, Unsaved};
use weft::Version;

both! {
/// A record whose bytes were corrupted in the file is skipped and reported
/// with its key; the records before and after it load. The damaged row
/// stays on disk for inspection: a compaction deletes only what it
/// includes.
#[tokio::test]
async fn a_corrupt_record_is_skipped_and_reported(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let mut ada = storage.load("room", 1, policy()).await.unwrap();
    ada.doc.insert(0, "hello", IndexUnit::CodePoint).unwrap();
    assert_eq!(append_unsaved(&storage, "room", &mut ada).await, 1);
    // Another writer's edit, independent of Ada's, as record 2.
    let mut bob = Doc::new(2);
    bob.insert(0, "XYZ", IndexUnit::CodePoint).unwrap();
    let bobs = Unsaved {
        update: bob.encode_update(&Version::new()).unwrap(),
        version: bob.version(),
    };
    assert_eq!(storage.append("room", &bobs).await.unwrap().0, 2);
    ada.doc.insert(5, " world", IndexUnit::CodePoint).unwrap();
    assert_eq!(append_unsaved(&storage, "room", &mut ada).await, 3);

    let raw = place.raw().await;
    let mut bytes = raw.entry("records", "room", 2).await;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    raw.set_entry("records", "room", 2, &bytes).await;

    let mut loaded = storage.load("room", 3, policy()).await.unwrap();
    loaded.doc.check_invariants();
    assert_eq!(loaded.doc.to_string(), "hello world");
    assert!(
        matches!(&loaded.problems[..], [Problem::Record { key: 2, .. }]),
        "{:?}",
        loaded.problems
    );
    assert_eq!(loaded.journal.stats().records, 2);

    let plan = loaded.journal.compaction(&mut loaded.doc).unwrap();
    let (key, bytes) = storage.compact("room", &plan).await.unwrap();
    loaded.journal.compacted(&plan, key, bytes);
    assert_eq!(keys(&raw, "records", "room").await, [2]);
    let again = storage.load("room", 4, policy()).await.unwrap();
    assert_eq!(again.doc.to_string(), "hello world");
    assert!(matches!(
        &again.problems[..],
        [Problem::Record { key: 2, .. }]
    ));
}
}

both! {
/// A checkpoint cut short (a torn write) is skipped and reported; the
/// records load on their own.
#[tokio::test]
async fn a_torn_checkpoint_is_skipped_and_reported(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let mut rng = Rng::new(3);
    let mut room = storage.load("room", 1, policy()).await.unwrap();
    append_edits(&storage, "room", &mut room, 5, &mut rng).await;
    let plan = room.journal.compaction(&mut room.doc).unwrap();
    let (key, bytes) = storage.compact("room", &plan).await.unwrap();
    room.journal.compacted(&plan, key, bytes);
    append_edits(&storage, "room", &mut room, 5, &mut rng).await;
    let raw = place.raw().await;
    raw.execute("UPDATE checkpoints SET bytes = substr(bytes, 1, length(bytes) / 2)")
        .await;
    let loaded = storage.load("room", 2, policy()).await.unwrap();
    loaded.doc.check_invariants();
    assert!(
        matches!(&loaded.problems[..], [Problem::Checkpoint { key: 6, .. }]),
        "{:?}",
        loaded.problems
    );
    // Records 7..=10 were made on top of the checkpoint's text: without it
    // they are kept aside or refused, never applied in the wrong place.
    assert!(room.doc.version().includes(&loaded.doc.version()));
}
}
