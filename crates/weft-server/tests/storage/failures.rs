//! What each failure is reported as, and what the storage does after it.

use super::*;
use weft_server::storage::{Location, StorageError};

/// A data directory that cannot be created is an `Open` error naming it.
/// (PostgreSQL's unreachable or refusing servers: see `postgres.rs`.)
#[tokio::test]
async fn an_unusable_directory_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a file");
    std::fs::write(&file, b"not a directory").unwrap();
    match Storage::open(&Location::Sqlite(file.clone())).await {
        Err(StorageError::Open { location, .. }) => {
            assert_eq!(
                location.to_string(),
                file.join("weft.sqlite3").display().to_string()
            )
        }
        other => panic!("expected Open, got {other:?}"),
    }
    // A file that is not a database.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("weft.sqlite3"), vec![7u8; 8192]).unwrap();
    let err = Storage::open(&Location::Sqlite(data))
        .await
        .expect_err("not a database");
    assert!(matches!(err, StorageError::Open { .. }), "{err}");
}

both! {
/// A file written by a newer server (a schema version this one does not
/// know) is refused, not written to.
#[tokio::test]
async fn a_newer_schema_is_refused(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let raw = place.raw().await;
    raw.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
        .await;
    raw.close().await;
    storage.close().await;
    match Storage::open(&place.location).await {
        Err(StorageError::UnsupportedSchema {
            found, supported, ..
        }) => assert_eq!((found, supported), (99, 1)),
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
}
}

both! {
/// A write that fails before its commit was rolled back: `Write`, nothing
/// stored, the journal untouched, and the next write goes through.
#[tokio::test]
async fn a_write_refused_before_commit_changes_nothing(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let mut rng = Rng::new(4);
    let mut room = storage.load("room", 1, policy()).await.unwrap();
    append_edits(&storage, "room", &mut room, 2, &mut rng).await;
    let raw = place.raw().await;
    raw.refuse_inserts().await;
    edit(&mut room.doc, &mut rng);
    let unsaved = room.journal.unsaved(&mut room.doc).unwrap().unwrap();
    match storage.append("room", &unsaved).await {
        Err(StorageError::Write { room, .. }) => assert_eq!(room, "room"),
        other => panic!("expected Write, got {other:?}"),
    }
    raw.allow_inserts().await;
    assert_eq!(keys(&raw, "records", "room").await, [1, 2]);
    // Not acknowledged, so still unsaved: the next write stores it, under
    // the key the failed one did not use.
    assert_eq!(append_unsaved(&storage, "room", &mut room).await, 3);
    let loaded = storage.load("room", 2, policy()).await.unwrap();
    assert_eq!(loaded.doc.to_string(), room.doc.to_string());
}
}

both! {
/// A commit that fails leaves the database's state unknown: that write and
/// every later call on every clone report `Unknown` (naming the first
/// failure) until `reopen`, after which what is on disk loads and writes
/// go through again, in the next generation.
///
/// The commit is made to fail for real (see `Raw::break_commits`): SQLite
/// finds a deferred foreign key broken at COMMIT, PostgreSQL's session
/// ends during the COMMIT.
#[tokio::test]
async fn a_failed_commit_stops_everything_until_reopen(engine: Engine) {
    let place = Place::new(engine).await;
    let storage = place.open().await;
    let clone = storage.clone();
    let mut rng = Rng::new(5);
    let mut room = storage.load("room", 1, policy()).await.unwrap();
    assert_eq!((room.generation, storage.generation().unwrap()), (0, 0));
    append_edits(&storage, "room", &mut room, 2, &mut rng).await;
    let stored = room.doc.to_string();
    let raw = place.raw().await;
    raw.break_commits(None).await;
    edit(&mut room.doc, &mut rng);
    let unsaved = room.journal.unsaved(&mut room.doc).unwrap().unwrap();
    match storage.append("room", &unsaved).await {
        Err(StorageError::Unknown { room, .. }) => assert_eq!(room, "room"),
        other => panic!("expected Unknown, got {other:?}"),
    }
    raw.mend_commits().await;
    // Everything is refused now, even writes that would work, on clones too.
    let mut other = Doc::new(9);
    edit(&mut other, &mut rng);
    let fresh = weft::journal::Journal::empty(policy())
        .unsaved(&mut other)
        .unwrap()
        .unwrap();
    for result in [
        clone.append("other", &fresh).await.map(drop),
        clone.load("room", 2, policy()).await.map(drop),
        clone.stored_bytes().await.map(drop),
        clone.generation().map(drop),
    ] {
        match result {
            Err(e @ StorageError::Unknown { .. }) => {
                assert!(e.to_string().contains("\"room\""), "names the first: {e}")
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
    clone.reopen().await.unwrap();
    // The failed commit was rolled back: the disk has the first two edits.
    let mut loaded = storage.load("room", 3, policy()).await.unwrap();
    assert_eq!(loaded.doc.to_string(), stored);
    // Journals loaded before the reopen are from an older generation.
    assert_eq!((loaded.generation, storage.generation().unwrap()), (1, 1));
    assert_eq!(keys(&raw, "records", "room").await, [1, 2]);
    // The recovery the error's documentation describes: merge the
    // in-memory document in, and store what the disk lacks.
    loaded
        .doc
        .merge(&mut room.doc, IndexUnit::CodePoint)
        .unwrap();
    append_unsaved(&storage, "room", &mut loaded).await;
    storage.append("other", &fresh).await.unwrap();
    let last = storage.load("room", 4, policy()).await.unwrap();
    assert_eq!(last.doc.to_string(), room.doc.to_string());
}
}
