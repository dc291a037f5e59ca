//! Every file in `tests/bad-inputs` (known-bad encodings, named for what is
//! wrong with them, and any crash a fuzzer ever found) must be rejected with
//! an error by every decoder, leaving the document unchanged.

use weft::{Doc, IndexUnit::Utf16, StickyIndex, Version};

#[test]
fn every_known_bad_input_is_rejected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut doc = Doc::new(1);
        doc.insert(0, "keep me", Utf16).unwrap();
        let before = doc.encode_snapshot().unwrap();
        assert!(
            doc.apply_update(&bytes, Utf16).is_err(),
            "{name}: accepted as an update"
        );
        assert_eq!(
            doc.encode_snapshot().unwrap(),
            before,
            "{name}: changed the document"
        );
        // A snapshot's pages and history are checked when first needed.
        assert!(
            Doc::from_snapshot(&bytes, 2)
                .and_then(|mut d| d.finish_loading())
                .is_err(),
            "{name}: loaded as a snapshot"
        );
        assert!(
            Version::decode(&bytes).is_err(),
            "{name}: decoded as a version"
        );
        assert!(
            StickyIndex::decode(&bytes).is_err(),
            "{name}: decoded as a sticky index"
        );
        seen += 1;
    }
    assert!(
        seen >= 10,
        "expected the known-bad inputs in {}",
        dir.display()
    );
}
