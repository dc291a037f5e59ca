//! When to compact: by bytes, never by record count alone.

/// Compact when the records written since the last checkpoint take more than
/// a quarter of that checkpoint's bytes, and more than a floor (so small
/// documents are not rewritten every few keystrokes).
///
/// Why a quarter: opening replays records through the merge path, which
/// costs about five times as much per byte as loading a checkpoint, so
/// letting the journal grow to the checkpoint's size would make opening up
/// to five times slower than it needs to be. A quarter keeps the worst case
/// near twice a checkpoint load, for one checkpoint write per quarter of
/// the document's size typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Journal bytes below which no compaction happens.
    pub floor_bytes: u64,
}

/// Default floor: 16 KiB of records (a few hundred keystrokes).
pub const DEFAULT_FLOOR_BYTES: u64 = 16 * 1024;

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            floor_bytes: DEFAULT_FLOOR_BYTES,
        }
    }
}

impl CompactionPolicy {
    /// Whether to compact, given the bytes of the records after the newest
    /// checkpoint and the size of that checkpoint (0 when there is none).
    pub fn should_compact(&self, journal_bytes: u64, checkpoint_bytes: u64) -> bool {
        journal_bytes > (checkpoint_bytes / 4).max(self.floor_bytes)
    }
}
