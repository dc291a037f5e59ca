//! What one writer knows of a document's journal, and what it decides: the
//! version that is stored, the records and checkpoints that hold it (what a
//! compaction may delete), their bytes, and when to compact. A backend does
//! the I/O in between: it takes fresh keys, writes, and
//! reports back.

use super::entry::encode_checkpoint;
use super::{CompactionPolicy, KeySet, Opened};
use crate::{Doc, Error, Version};

/// One writer's view of the journal. See the module documentation.
#[derive(Debug, Clone)]
pub struct Journal {
    /// Everything up to this version is stored.
    saved: Version,
    /// Records the document includes, oldest first, with their bytes.
    records: Vec<(u64, u64)>,
    /// Checkpoints the document includes.
    checkpoints: Vec<u64>,
    /// Bytes of the records since the newest checkpoint.
    journal_bytes: u64,
    /// Bytes of the checkpoints the document includes.
    checkpoint_bytes: u64,
    policy: CompactionPolicy,
}

/// Changes not yet stored: the update to append as a record, and the
/// version stored once it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsaved {
    /// The update (see [`Doc::encode_update`]).
    pub update: Vec<u8>,
    /// The document's version it brings the journal to.
    pub version: Version,
}

/// A compaction to carry out in one transaction: store the checkpoint of
/// `snapshot` under a fresh key (see [`Compaction::entry`]), then delete
/// exactly `records` and `checkpoints`. Entries another writer added
/// meanwhile are left alone and merged on the next open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The document's snapshot.
    pub snapshot: Vec<u8>,
    /// The version the snapshot holds.
    pub version: Version,
    /// Keys of the records the snapshot includes.
    pub records: Vec<u64>,
    /// Keys of the older checkpoints it includes.
    pub checkpoints: Vec<u64>,
}

impl Compaction {
    /// The checkpoint entry's bytes under `key`: a fresh key, after every
    /// stored one, so two writers' checkpoints never overwrite each other.
    pub fn entry(&self, key: u64) -> Vec<u8> {
        encode_checkpoint(key, &self.snapshot)
    }
}

/// A compaction planned by [`Journal::compaction_to_encode`].
#[derive(Debug)]
pub struct ToEncode {
    doc: Doc,
    records: Vec<u64>,
    checkpoints: Vec<u64>,
}

impl ToEncode {
    /// Encodes the copy's snapshot.
    ///
    /// # Errors
    /// As [`Doc::encode_snapshot`]. Nothing is to be deleted then.
    pub fn encode(mut self) -> Result<Compaction, Error> {
        Ok(Compaction {
            snapshot: self.doc.encode_snapshot()?,
            version: self.doc.version(),
            records: self.records,
            checkpoints: self.checkpoints,
        })
    }
}

/// Counts of what a writer knows is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalStats {
    /// Records not yet folded into a checkpoint.
    pub records: usize,
    /// Their bytes.
    pub journal_bytes: u64,
    /// Checkpoints the document includes.
    pub checkpoints: usize,
    /// Their bytes.
    pub checkpoint_bytes: u64,
}

impl Journal {
    /// Nothing stored yet (the backend is not open): everything the
    /// document holds is unsaved.
    pub fn empty(policy: CompactionPolicy) -> Journal {
        Journal {
            saved: Version::new(),
            records: Vec::new(),
            checkpoints: Vec::new(),
            journal_bytes: 0,
            checkpoint_bytes: 0,
            policy,
        }
    }

    /// What opening found: the entries merged into `opened.doc` are stored.
    pub fn opened(opened: &Opened, policy: CompactionPolicy) -> Journal {
        Journal {
            saved: opened.doc.version(),
            records: opened.merged_records.clone(),
            checkpoints: opened.merged_checkpoints.clone(),
            journal_bytes: opened.journal_bytes,
            checkpoint_bytes: opened.checkpoint_bytes,
            policy,
        }
    }

    /// When it compacts.
    pub fn policy(&self) -> CompactionPolicy {
        self.policy
    }

    /// The version stored.
    pub fn saved(&self) -> &Version {
        &self.saved
    }

    /// Counts of what is stored.
    pub fn stats(&self) -> JournalStats {
        JournalStats {
            records: self.records.len(),
            journal_bytes: self.journal_bytes,
            checkpoints: self.checkpoints.len(),
            checkpoint_bytes: self.checkpoint_bytes,
        }
    }

    /// What of `doc` is not stored yet, if anything.
    ///
    /// # Errors
    /// As [`Doc::encode_update`].
    pub fn unsaved(&self, doc: &mut Doc) -> Result<Option<Unsaved>, Error> {
        let version = doc.version();
        if self.saved.includes(&version) {
            return Ok(None);
        }
        Ok(Some(Unsaved {
            update: doc.encode_update(&self.saved)?,
            version,
        }))
    }

    /// `unsaved` is stored as the record under `key`, whose entry took
    /// `bytes`.
    pub fn appended(&mut self, key: u64, bytes: u64, unsaved: Unsaved) {
        self.records.push((key, bytes));
        self.journal_bytes += bytes;
        self.saved.merge(&unsaved.version);
    }

    /// Another writer (tab) stored everything up to `version`.
    pub fn stored_elsewhere(&mut self, version: &Version) {
        self.saved.merge(version);
    }

    /// Whether the records outweigh the checkpoint enough to compact (see
    /// [`CompactionPolicy`]).
    pub fn should_compact(&self) -> bool {
        self.policy
            .should_compact(self.journal_bytes, self.checkpoint_bytes)
    }

    /// Whether the next write should be a checkpoint rather than a record:
    /// nothing is stored yet and `doc` holds more text than the floor (a
    /// document merged whole, say from a peer). Its record would be the
    /// whole history as an update, soon folded into a checkpoint anyway,
    /// and encoding it decodes a loaded snapshot's history.
    pub fn starts_with_checkpoint(&self, doc: &Doc) -> bool {
        self.saved.is_empty()
            && self.records.is_empty()
            && doc.len(crate::IndexUnit::Utf8) as u64 > self.policy.floor_bytes
    }

    /// Whether there are records to fold into a checkpoint.
    pub fn has_records(&self) -> bool {
        !self.records.is_empty()
    }

    /// Plans a compaction of `doc`, which includes every record and
    /// checkpoint this journal lists.
    ///
    /// # Errors
    /// As [`Doc::encode_snapshot`]. Nothing is to be deleted then.
    pub fn compaction(&self, doc: &mut Doc) -> Result<Compaction, Error> {
        Ok(Compaction {
            snapshot: doc.encode_snapshot()?,
            version: doc.version(),
            records: self.records.iter().map(|&(k, _)| k).collect(),
            checkpoints: self.checkpoints.clone(),
        })
    }

    /// A compaction of `doc` as it is now, to encode later and elsewhere:
    /// a copy of the document with the records and checkpoints it
    /// includes. Copying is quick; encoding a large document's snapshot
    /// takes long (a second for 10 MB), which a server does off the thread
    /// that serves its rooms.
    pub fn compaction_to_encode(&self, doc: &Doc) -> ToEncode {
        ToEncode {
            doc: doc.clone(),
            records: self.records.iter().map(|&(k, _)| k).collect(),
            checkpoints: self.checkpoints.clone(),
        }
    }

    /// `done` is stored under `key` in an entry of `bytes`.
    pub fn compacted(&mut self, done: &Compaction, key: u64, bytes: u64) {
        // Records appended while it was written stay.
        let gone = KeySet::new(&done.records);
        self.records.retain(|&(k, _)| !gone.contains(k));
        self.journal_bytes = self.records.iter().map(|&(_, b)| b).sum();
        self.checkpoints.retain(|k| !done.checkpoints.contains(k));
        self.checkpoints.push(key);
        self.checkpoint_bytes = bytes;
        self.saved.merge(&done.version);
    }

    /// Another writer of this journal (a Worker compacting for this page)
    /// stored a checkpoint of `bytes` and deleted `records` and
    /// `checkpoints`, some of which this journal may list. Its checkpoint
    /// is not this journal's to delete: it may hold what this document
    /// lacks (other writers' records), so it is only weighed against the
    /// records, as the policy says.
    pub fn compacted_elsewhere(&mut self, records: &[u64], checkpoints: &[u64], bytes: u64) {
        let gone = KeySet::new(records);
        self.records.retain(|&(k, _)| !gone.contains(k));
        self.journal_bytes = self.records.iter().map(|&(_, b)| b).sum();
        self.checkpoints.retain(|k| !checkpoints.contains(k));
        self.checkpoint_bytes = bytes;
    }

    /// What was stored may be gone (the database was deleted under this
    /// writer): nothing is known to be stored, so the next compaction
    /// writes everything and deletes nothing.
    pub fn forget(&mut self) {
        *self = Journal::empty(self.policy);
    }
}
