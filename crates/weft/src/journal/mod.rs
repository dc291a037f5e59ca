//! The journal: durable storage for a document as an append-only log of
//! update records plus checkpoints (snapshots), independent of where the
//! bytes live. A backend (IndexedDB in the browser, memory in tests) stores
//! entries under `u64` keys; this module says what to write, and how to open
//! a document from whatever it finds, skipping and reporting corrupt entries.
//!
//! - Each local edit (or batch) becomes a **record**: the update, under the
//!   next key. It is durable once the backend's write of it completes.
//! - A **checkpoint** is a snapshot under a fresh key (after every stored
//!   one). **Compaction** writes a new checkpoint, then deletes exactly the
//!   records and checkpoints it includes (a backend whose freed keys can be
//!   taken again checks that a record still holds what it included), so a
//!   crash between steps leaves everything readable and entries other
//!   writers added meanwhile are kept.
//! - **Opening** merges every checkpoint that decodes, then applies every
//!   record in key order. Merging is idempotent, so an entry a checkpoint
//!   already includes does no harm.
//!
//! [`Journal`] is one writer's view: what is stored, what to append, when
//! to compact and what a compaction deletes; the backend (IndexedDB in the
//! browser) only carries it out. The formats are in `docs/format.md`.

mod entry;
#[allow(clippy::module_inception)]
mod journal;
mod keys;
mod open;
mod policy;

#[cfg(test)]
mod tests;

pub use entry::{decode_entry, encode_checkpoint, encode_record, Entry, EntryKind};
pub use journal::{Compaction, Journal, JournalStats, ToEncode, Unsaved};
pub use keys::KeySet;
pub use open::{open, Opened, Problem};
pub use policy::{CompactionPolicy, DEFAULT_FLOOR_BYTES};
