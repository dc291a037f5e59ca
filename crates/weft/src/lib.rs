//! # Weft
//!
//! A collaborative text document as a sequence CRDT over a rope with
//! tombstones. Every inserted character gets a unique id; deleting leaves a
//! tombstone; concurrent inserts at one place are ordered by the
//! non-interleaving FugueMax rule (Weidner, Gentle and Kleppmann, "The Art of
//! the Fugue", 2023), so replicas converge whatever order updates arrive in.
//!
//! Items live in a B-tree whose nodes summarise the visible length in code
//! points, UTF-16 units, UTF-8 bytes and newlines plus the length including
//! tombstones, so edits, reads and index conversions are O(log n). The index
//! unit is chosen per call ([`IndexUnit`]).
//!
//! ```
//! use weft::{Bias, Doc, IndexUnit::Utf16};
//!
//! let mut a = Doc::new(1);
//! let mut b = Doc::new(2);
//! a.insert(0, "Hello!", Utf16)?;
//! b.apply_update(&a.encode_update(&b.version())?, Utf16)?;
//!
//! // Concurrent edits.
//! let cursor = b.sticky_index(5, Bias::Right, Utf16)?;
//! a.insert(5, ", world", Utf16)?;
//! b.insert(0, "\u{1F600} ", Utf16)?;
//!
//! let patches = b.apply_update(&a.encode_update(&b.version())?, Utf16)?;
//! a.apply_update(&b.encode_update(&a.version())?, Utf16)?;
//! assert_eq!(a.to_string(), "\u{1F600} Hello, world!");
//! assert_eq!(a.to_string(), b.to_string());
//! assert_eq!(b.resolve_sticky(&cursor, Utf16)?, 15);
//! assert_eq!(patches.len(), 1);
//!
//! // Snapshots hold the whole history.
//! let c = weft::Doc::from_snapshot(&a.encode_snapshot()?, 3)?;
//! assert_eq!(c.to_string(), a.to_string());
//! # Ok::<(), weft::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod authors;
mod check;
mod content;
mod deleted;
mod doc;
mod encoding;
mod error;
mod grow;
mod history;
mod id;
mod item_edits;
mod item_ranges;
pub mod journal;
mod lazy;
mod oplog;
mod packed;
mod past;
mod pending;
mod radix;
mod references;
mod remote;
mod sticky;
pub mod sync;
mod undo;
mod unit;
mod update;
mod version;

#[cfg(test)]
mod tests;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub use authors::MAX_AUTHOR_BYTES;
pub use doc::{Doc, Stats};
pub use encoding::crc32c;
pub use error::{DecodeError, Error};
pub use id::{OpId, ReplicaId};
pub use remote::Patch;
pub use sticky::{Bias, StickyIndex};
pub use undo::{Applied, Selection, UndoManager};
pub use unit::IndexUnit;
pub use version::Version;
