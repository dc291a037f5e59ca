//! Bytes written before references could name a replica's cursor (see
//! `docs/format.md`, *Operations section*), by the code of that time from
//! the sessions in `sessions/`: they still load and merge to the same
//! document, and what is written now is smaller and reads back the same.

mod sessions;

use weft::{Doc, IndexUnit::CodePoint, Version};

const TRACE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../weft-traces/traces/seph-blog1.json.gz"
);

fn check(now: &mut Doc, old_snapshot: &[u8], old_update: &[u8]) {
    let expected = now.to_string();
    let mut loaded = Doc::from_snapshot(old_snapshot, 7).unwrap();
    loaded.finish_loading().unwrap();
    loaded.check_invariants();
    assert_eq!(loaded.to_string(), expected);
    assert_eq!(loaded.version(), now.version());
    let mut merged = Doc::new(8);
    merged.apply_update_unwatched(old_update).unwrap();
    merged.check_invariants();
    assert_eq!(merged.to_string(), expected);
    assert_eq!(merged.version(), now.version());

    // Written now: smaller (an update as small as its run count allows, see
    // `RUN_BYTES`), and the same document again.
    let snapshot = now.encode_snapshot().unwrap();
    let update = now.encode_update(&Version::default()).unwrap();
    assert!(
        snapshot.len() < old_snapshot.len(),
        "{} < {}",
        snapshot.len(),
        old_snapshot.len()
    );
    assert!(
        update.len() <= old_update.len(),
        "{} <= {}",
        update.len(),
        old_update.len()
    );
    let mut again = Doc::from_snapshot(&snapshot, 9).unwrap();
    again.finish_loading().unwrap();
    again.check_invariants();
    assert_eq!(again.to_string(), expected);
    assert_eq!(again.encode_snapshot().unwrap(), snapshot);
    // The old document goes on from where it was, and merges with the new.
    loaded
        .insert(loaded.len(CodePoint) / 2, "more", CodePoint)
        .unwrap();
    let since = again.version();
    again
        .apply_update_unwatched(&loaded.encode_update(&since).unwrap())
        .unwrap();
    assert_eq!(again.to_string(), loaded.to_string());
}

#[test]
fn one_replica_typing_a_blog_post() {
    check(
        &mut sessions::trace_prefix(TRACE, 4000),
        include_bytes!("old-format/typed_snapshot_before_guesses.bin"),
        include_bytes!("old-format/typed_update_before_guesses.bin"),
    );
}

#[test]
fn three_replicas_editing_together() {
    check(
        &mut sessions::three_replicas(),
        include_bytes!("old-format/replicas_snapshot_before_guesses.bin"),
        include_bytes!("old-format/replicas_update_before_guesses.bin"),
    );
}
