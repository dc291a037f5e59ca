//! The content tree: a B-tree rope whose leaves hold runs of items (spans),
//! deleted ones as tombstones, together with the visible text, and an index
//! from item ids to leaves.

mod check;
mod cold;
mod cold_text;
mod cursor;
mod ids;
mod index;
mod leaf;
mod span;
mod summary;
mod tree;

pub use cold_text::ColdText;
pub use ids::LeafId;
pub use leaf::{ColdSpans, InLeaf, Leaf};
pub use span::{Span, MAX_SPAN_LEN};
pub use summary::{Metric, Summary};
pub use tree::{Loc, Tree};
