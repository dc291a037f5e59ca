//! Durable storage, each test on a real SQLite file in a temporary
//! directory and on a real PostgreSQL database (see `engine.rs`): round
//! trips, compaction, damaged entries, failed commits, group commit, and a
//! writer killed with SIGKILL at random moments; and what only
//! PostgreSQL does (`postgres.rs`).

mod crash;
mod damage;
mod engine;
mod failures;
mod group_commit;
mod postgres;
mod round_trip;

#[path = "../support/postgres.rs"]
mod pg;

pub(crate) use engine::both;
pub use engine::{Engine, Place, Raw};
use weft::journal::CompactionPolicy;
use weft::{Doc, IndexUnit};
use weft_server::storage::{LoadedRoom, Storage};

/// A small seeded generator (SplitMix64): tests replay exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One random edit that changes `doc`: an insert of 1 to 12 characters
/// (some not ASCII), or a delete of up to 8.
pub fn edit(doc: &mut Doc, rng: &mut Rng) {
    const ALPHABET: &[char] = &['a', 'b', 'c', ' ', '\n', 'é', '語', '🙂'];
    let len = doc.len(IndexUnit::CodePoint);
    if len == 0 || rng.below(3) > 0 {
        let text: String = (0..1 + rng.below(12))
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        let at = rng.below(len + 1);
        doc.insert(at, &text, IndexUnit::CodePoint).expect("insert");
    } else {
        let at = rng.below(len);
        let n = 1 + rng.below(8.min(len - at));
        doc.delete(at, n, IndexUnit::CodePoint).expect("delete");
    }
}

/// `n` random edits to `room`, each appended as a record as the journal
/// says.
pub async fn append_edits(
    storage: &Storage,
    room: &str,
    loaded: &mut LoadedRoom,
    n: usize,
    rng: &mut Rng,
) {
    for _ in 0..n {
        edit(&mut loaded.doc, rng);
        append_unsaved(storage, room, loaded).await;
    }
}

/// Appends what `loaded.doc` holds beyond its journal; returns the key.
pub async fn append_unsaved(storage: &Storage, room: &str, loaded: &mut LoadedRoom) -> u64 {
    let unsaved = loaded
        .journal
        .unsaved(&mut loaded.doc)
        .expect("encode")
        .expect("something to store");
    let (key, bytes) = storage.append(room, &unsaved).await.expect("append");
    loaded.journal.appended(key, bytes, unsaved);
    key
}

/// The default policy: no compaction unless a test asks for it.
pub fn policy() -> CompactionPolicy {
    CompactionPolicy::default()
}

/// The keys of `room`'s rows in `table`, in order.
pub async fn keys(raw: &Raw, table: &str, room: &str) -> Vec<i64> {
    raw.keys(table, room).await
}
