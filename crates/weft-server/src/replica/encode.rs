//! A room's checkpoint, encoded off the runtime's threads: the room is
//! copied under its lock (quick), and its snapshot deflated on a blocking
//! thread, which takes about a second for a 10 MB document and would
//! otherwise stall every connection that thread serves.

use weft::journal::{Compaction, ToEncode};

/// Encodes `planned`; `None` if its snapshot could not be made (the
/// records stay) or the blocking thread was lost.
pub(super) async fn off_runtime(planned: ToEncode) -> Option<Compaction> {
    tokio::task::spawn_blocking(move || planned.encode().ok())
        .await
        .ok()
        .flatten()
}
