//! Every trace in `crates/weft-traces/traces` (or `$WEFT_TRACES`) replays to its
//! `endContent`: sequentially through the local API, concurrently with one
//! replica per agent merging where transactions have several parents, and
//! through a snapshot round trip.

use std::path::PathBuf;
use weft::{Doc, IndexUnit::CodePoint, Version};
use weft_traces::{merge_all, replay_concurrent, replay_sequential, Patch, ReplayDoc};

struct W(Doc);

impl ReplayDoc for W {
    type Mark = Version;
    type Update = Vec<u8>;
    fn new_replica(agent: usize) -> Self {
        W(Doc::new(0x5eed_0000 + agent as u64))
    }
    fn apply_patch(&mut self, p: &Patch) {
        if p.del > 0 {
            self.0.delete(p.pos, p.del, CodePoint).unwrap();
        }
        if !p.ins.is_empty() {
            self.0.insert(p.pos, &p.ins, CodePoint).unwrap();
        }
    }
    fn mark(&self) -> Version {
        self.0.version()
    }
    fn update_since(&mut self, mark: &Version) -> Vec<u8> {
        self.0.encode_update(mark).unwrap()
    }
    fn apply_update(&mut self, u: &Vec<u8>) {
        self.0.apply_update(u, CodePoint).unwrap();
    }
    fn text(&self) -> String {
        self.0.to_string()
    }
}

fn trace_files() -> Vec<PathBuf> {
    let dir = std::env::var_os("WEFT_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../weft-traces/traces"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("trace folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no traces in {}", dir.display());
    files
}

#[test]
fn every_trace_replays_to_its_end_content() {
    for path in trace_files() {
        let trace = weft_traces::load(&path).unwrap();
        let mut doc = if trace.concurrent {
            let run = replay_concurrent::<W>(&trace);
            let mut merged: W = merge_all(&run.updates);
            for mut r in run.replicas {
                // Bring every agent's replica up to date: all converge.
                r.apply_update(&merged.0.encode_update(&r.0.version()).unwrap());
                assert!(
                    r.text() == trace.end,
                    "{}: an agent's replica differs",
                    trace.name
                );
                r.0.check_invariants();
            }
            merged.0
        } else {
            replay_sequential::<W>(&trace).0
        };
        doc.check_invariants();
        assert!(
            doc.to_string() == trace.end,
            "{}: final text differs from endContent",
            trace.name
        );
        let loaded = Doc::from_snapshot(&doc.encode_snapshot().unwrap(), 1).unwrap();
        loaded.check_invariants();
        assert!(
            loaded.to_string() == trace.end,
            "{}: snapshot differs",
            trace.name
        );
        let replayed: W = {
            let mut fresh = W::new_replica(99);
            fresh.apply_update(&doc.encode_update(&Version::new()).unwrap());
            fresh
        };
        assert!(
            replayed.text() == trace.end,
            "{}: full update differs",
            trace.name
        );
        println!(
            "{}: {} patches ok, {:?}",
            trace.name,
            trace.patch_count(),
            doc.stats()
        );
    }
}

/// Every sequential trace stored as a journal stores it: an update per
/// batch of edits, each since the last, applied in order to a fresh
/// replica. Batches end anywhere, also inside a run of backspaces, so an
/// update may start with the last deletion of a run the one before began.
#[test]
fn every_trace_replays_from_its_updates_in_batches() {
    for path in trace_files() {
        let trace = weft_traces::load(&path).unwrap();
        if trace.concurrent {
            continue;
        }
        let patches: Vec<&Patch> = trace.txns.iter().flat_map(|t| &t.patches).collect();
        for batch in [997, 61] {
            let mut doc = W::new_replica(0);
            let mut fresh = W::new_replica(1);
            let start = Patch {
                pos: 0,
                del: 0,
                ins: trace.start.clone(),
            };
            let mut mark = doc.mark();
            for (i, p) in std::iter::once(&start)
                .chain(patches.iter().copied())
                .enumerate()
            {
                doc.apply_patch(p);
                if i % batch == batch - 1 {
                    fresh.apply_update(&doc.update_since(&mark));
                    mark = doc.mark();
                }
            }
            fresh.apply_update(&doc.update_since(&mark));
            fresh.0.check_invariants();
            assert!(
                fresh.text() == trace.end,
                "{}: replica fed batches of {batch} differs",
                trace.name
            );
        }
    }
}
