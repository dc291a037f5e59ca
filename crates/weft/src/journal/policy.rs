//! When to compact: by bytes, never by record count alone.

/// Compact when the records written since the last checkpoint take more bytes
/// than that checkpoint, and more than a floor (so small documents are not
/// rewritten on every few keystrokes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Journal bytes below which no compaction happens.
    pub floor_bytes: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            floor_bytes: 64 * 1024,
        }
    }
}

impl CompactionPolicy {
    /// Whether to compact, given the bytes of the records after the newest
    /// checkpoint and the size of that checkpoint (0 when there is none).
    pub fn should_compact(&self, journal_bytes: u64, checkpoint_bytes: u64) -> bool {
        journal_bytes > checkpoint_bytes.max(self.floor_bytes)
    }
}
