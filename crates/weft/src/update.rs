//! Updates: the operations one version lacks, as bytes, and merging them.

use crate::authors;
use crate::encoding::envelope::{self, Kind};
use crate::encoding::ops::{self, OpsSection, TableEntry};
use crate::encoding::{tombstones, Reader, Writer};
use crate::id::LocalId;
use crate::oplog::{renumber, OpKind, OpRun};
use crate::remote::{Inserted, Patch, RemoteKind, RemoteOp};
use crate::{DecodeError, Doc, Error, IndexUnit, OpId, Version};

impl Doc {
    /// Every operation this document has that `since` lacks, as a compact
    /// binary update (see `docs/format.md`). With the empty version it is the
    /// whole history.
    ///
    /// O(operations in the update · log n). An update that reaches back
    /// into the history of the snapshot this document was loaded from
    /// decodes what loading deferred first, in place and once (see
    /// [`Doc::finish_loading`]); hence `&mut self`.
    ///
    /// # Errors
    /// [`Error::Decode`] when that history turns out invalid; the document
    /// is unchanged then.
    pub fn encode_update(&mut self, since: &Version) -> Result<Vec<u8>, Error> {
        let known = self.known_of(since);
        if !self.history_covered_by(&known) {
            self.finish_loading()?;
            // The snapshot's tombstones may be among those sent.
            self.decode_deleted()?;
        }
        let (section, deleted) = self.section_since(&known, true)?;
        let mut w = Writer::default();
        ops::write(&mut w, &section);
        tombstones::write(&mut w, deleted.iter().map(Option::as_deref));
        // Authors travel with their replica's first operation.
        self.authors.write(&mut w, &section.table);
        Ok(envelope::seal(Kind::Update, &w.into_bytes()))
    }

    /// Merges an update or a snapshot from any replica: operations already
    /// known are ignored, operations whose dependencies are missing wait until
    /// they arrive. Returns the visible changes, indexed in `unit`.
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not a valid update or snapshot,
    /// or refer to characters that do not exist; nothing is applied then.
    pub fn apply_update(&mut self, bytes: &[u8], unit: IndexUnit) -> Result<Vec<Patch>, Error> {
        self.apply_update_in(bytes, Some(unit))
            .map(|(patches, _)| patches)
    }

    /// [`Doc::apply_update`] for a replica whose text nobody watches (a
    /// server's): no patches are worked out.
    ///
    /// # Errors
    /// As [`Doc::apply_update`].
    pub fn apply_update_unwatched(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.apply_update_in(bytes, None).map(drop)
    }

    /// `apply_update`, and for each replica with operations in the update
    /// (or snapshot) the end of its range: the replica that sent it has
    /// every operation before. Decodes the bytes once.
    pub(crate) fn apply_update_in(
        &mut self,
        bytes: &[u8],
        unit: Option<IndexUnit>,
    ) -> Result<(Vec<Patch>, Version), Error> {
        let (kind, r) = envelope::open(bytes)?;
        self.apply_body(kind, r, unit, false)
    }

    /// `apply_update_in` for a snapshot that [`Doc::check_snapshot`]
    /// found valid elsewhere (a Worker, on the same bytes): a document with
    /// no history adopts it without checking it again; one that already
    /// holds all of it (another peer's copy was adopted meanwhile) leaves
    /// it. Anything else is merged as `apply_update_in` does.
    pub(crate) fn apply_checked_snapshot(
        &mut self,
        bytes: &[u8],
        unit: Option<IndexUnit>,
    ) -> Result<(Vec<Patch>, Version), Error> {
        let (kind, r) = envelope::open(bytes)?;
        self.apply_body(kind, r, unit, true)
    }

    /// Checks a snapshot whole, as a document with no history checks one
    /// before adopting it (everything loading would defer): where a large
    /// one is checked off the thread that adopts it. The document that
    /// adopts these bytes then skips the check (see `Session`).
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not a valid snapshot.
    pub fn check_snapshot(bytes: &[u8]) -> Result<(), Error> {
        Doc::from_snapshot(bytes, 0)?.check_whole()
    }

    /// Whether `bytes` are a snapshot this document would adopt whole (it
    /// has no history), going by the envelope's kind alone.
    pub(crate) fn would_adopt(&self, bytes: &[u8]) -> bool {
        self.has_no_history() && envelope::is_snapshot(bytes)
    }

    /// `apply_update_in` for the body of an update (`Kind::Update`) or a
    /// snapshot (`Kind::Snapshot`) whose envelope was opened already.
    // Not inlined into its callers: one copy of it in the wasm module.
    #[inline(never)]
    pub(crate) fn apply_body(
        &mut self,
        kind: Kind,
        mut r: Reader<'_>,
        unit: Option<IndexUnit>,
        checked: bool,
    ) -> Result<(Vec<Patch>, Version), Error> {
        match kind {
            Kind::Record | Kind::Checkpoint => Err(DecodeError::WrongKind(kind as u8).into()),
            Kind::Update => {
                let section = ops::read(&mut r)?;
                let deleted = tombstones::read(&mut r, tombstone_lens(&section).into_iter())?;
                let authors = authors::read_section(&mut r, &section.table)?;
                r.finish()?;
                if section.runs.is_empty() {
                    // An empty answer (a peer that has nothing): a loaded
                    // snapshot's history stays encoded.
                    return Ok((Vec::new(), Version::new()));
                }
                self.finish_structure()?;
                let ends = section
                    .table
                    .iter()
                    .filter(|e| e.count > 0)
                    .map(|e| (e.replica, e.first_seq + e.count))
                    .collect();
                let patches = self.apply_ops(to_remote(section, deleted), unit)?;
                self.authors.claim_all(authors);
                Ok((patches, ends))
            }
            Kind::Snapshot => {
                // Bytes from elsewhere are checked whole before anything is
                // applied.
                let mut other = Doc::decode_snapshot_body(r, self.replica)?;
                let ends = other.version();
                if self.has_no_history() {
                    // Nothing to merge with: adopt the snapshot, O(n), where
                    // merging would integrate every operation. Checked whole
                    // on a copy, it stays as loaded: its history and pages
                    // encoded until needed, as after `from_snapshot`.
                    if !checked {
                        other.check_whole()?;
                    }
                    let discarded = self.history.pending().discarded();
                    other.authors.merge(&self.authors);
                    *self = other;
                    self.checked_whole = true;
                    self.history.pending_mut().count_discarded(discarded);
                    let patches = match unit {
                        Some(_) if !self.is_empty() => vec![Patch::Insert {
                            index: 0,
                            text: self.to_string(),
                        }],
                        _ => Vec::new(),
                    };
                    return Ok((patches, ends));
                }
                if checked && self.version().includes(&ends) {
                    // The room's snapshot from a second peer, checked while
                    // the first was adopted: nothing it holds is new, so it
                    // is not decoded to merge nothing.
                    return Ok((Vec::new(), ends));
                }
                other.finish_loading()?;
                Ok((self.merge_in(&mut other, unit)?, ends))
            }
        }
    }

    /// True before any operation, local or remote (even a waiting one).
    fn has_no_history(&self) -> bool {
        self.history.is_empty()
    }

    /// Merges everything `other` has that this document lacks. Decodes
    /// what loading deferred in both, in place and once.
    ///
    /// # Errors
    /// [`Error::Decode`] when either was loaded from a snapshot whose
    /// history turns out invalid.
    pub fn merge(&mut self, other: &mut Doc, unit: IndexUnit) -> Result<Vec<Patch>, Error> {
        other.finish_loading()?;
        self.merge_in(other, Some(unit))
    }

    /// Merges `other`, whose history and pages are decoded; decodes its
    /// deleted text first (an error then changes nothing).
    fn merge_in(&mut self, other: &mut Doc, unit: Option<IndexUnit>) -> Result<Vec<Patch>, Error> {
        other.decode_deleted()?;
        self.finish_structure()?;
        let (section, _) = other.section_since(&other.known_of(&self.version()), false)?;
        let patches = self.apply_ops(to_remote(section, Vec::new()), unit)?;
        // Deleted text straight from `other`'s store: what an update would
        // carry with its tombstones, without a string per run.
        let agents: Vec<Option<u32>> = (0..other.history.agent_count() as u32)
            .map(|a| self.history.agent_of(other.history.replica(a)))
            .collect();
        self.learn_deleted(
            other
                .deleted
                .pieces()
                .filter_map(|(a, seq, n, text)| Some((agents[a as usize]?, seq, n, text))),
        );
        self.authors.merge(&other.authors);
        Ok(patches)
    }

    /// Per agent, how many of its operations `since` includes.
    fn known_of(&self, since: &Version) -> Vec<u32> {
        (0..self.history.agent_count())
            .map(|a| {
                since
                    .get(self.history.replica(a as u32))
                    .min(self.history.next_seq(a as u32))
            })
            .collect()
    }

    /// The operations `known` (per agent, see `known_of`) lacks, with the
    /// text of inserted characters that are still visible, and per
    /// tombstone run (an insert without text, in order) the deleted text
    /// where known, if `deleted_text`. Any part of a loaded snapshot's
    /// history it needs is decoded already (see `encode_update`).
    fn section_since(
        &self,
        known: &[u32],
        deleted_text: bool,
    ) -> Result<(OpsSection, Vec<Option<String>>), Error> {
        let log = self.log_since(known)?;
        let mut runs = Vec::new();
        let mut texts = Vec::new();
        let mut deleted = Vec::new();
        for run in log.runs_since(known) {
            let run = if run.seq < known[run.agent as usize] {
                run.suffix(known[run.agent as usize])
            } else {
                run
            };
            match run.kind() {
                OpKind::Delete { .. } => {
                    runs.push(run);
                    texts.push(None);
                }
                OpKind::Insert { .. } => {
                    // Split by what is still visible: deleted text is gone.
                    let mut s = run.seq;
                    while s < run.end() {
                        let loc = self
                            .tree
                            .locate(run.agent, s)
                            .expect("inserted items are in the tree");
                        let span = self.tree.span_at(loc);
                        let n = (run.end() - s).min(span.len() - loc.at.offset);
                        if span.deleted() && deleted_text {
                            // Split again by whether the text is known.
                            self.deleted.walk(run.agent, s, n, &mut |seq, m, t| {
                                runs.push(run.suffix(seq).prefix(m));
                                texts.push(None);
                                deleted.push(t.map(str::to_owned));
                            });
                        } else {
                            runs.push(run.suffix(s).prefix(n));
                            texts.push(
                                (!span.deleted()).then(|| self.tree.text_at(loc, n).to_owned()),
                            );
                        }
                        s += n;
                    }
                }
            }
        }
        // Number the replicas in order of first mention.
        let mut slot = vec![u32::MAX; self.history.agent_count()];
        let mut table = Vec::new();
        for run in &mut runs {
            let len = run.len;
            renumber(run, &mut |a| {
                if slot[a as usize] == u32::MAX {
                    slot[a as usize] = table.len() as u32;
                    table.push(TableEntry {
                        replica: self.history.replica(a),
                        first_seq: known[a as usize],
                        count: 0,
                    });
                }
                slot[a as usize]
            });
            table[run.agent as usize].count += len;
        }
        // Replicas only referred to carry no operations here.
        for e in &mut table {
            if e.count == 0 {
                e.first_seq = 0;
            }
        }
        Ok((OpsSection { table, runs, texts }, deleted))
    }
}

/// The lengths of `section`'s tombstone runs (inserts without text), in
/// order: what its deleted-text section describes.
fn tombstone_lens(section: &OpsSection) -> Vec<u32> {
    section
        .runs
        .iter()
        .zip(&section.texts)
        .filter(|(run, text)| text.is_none() && matches!(run.kind(), OpKind::Insert { .. }))
        .map(|(run, _)| run.len)
        .collect()
}

/// Converts a decoded section to operations with global ids; `deleted`
/// holds the text of its tombstone runs in order, where known (empty when
/// none is).
fn to_remote(section: OpsSection, deleted: Vec<Option<String>>) -> Vec<RemoteOp> {
    let mut deleted = deleted.into_iter();
    let table = &section.table;
    let global = |id: LocalId| {
        id.some().map(|id| OpId {
            replica: table[id.agent() as usize].replica,
            seq: id.seq(),
        })
    };
    section
        .runs
        .iter()
        .zip(section.texts)
        .map(|(run, text): (&OpRun, Option<String>)| RemoteOp {
            replica: table[run.agent as usize].replica,
            seq: run.seq,
            len: run.len,
            kind: match run.kind() {
                OpKind::Insert { left, right } => RemoteKind::Insert {
                    left: global(left),
                    right: global(right),
                    text: match text {
                        Some(t) => Inserted::Text(t),
                        None => Inserted::Tombstones(
                            deleted.next().flatten().map(String::into_boxed_str),
                        ),
                    },
                },
                OpKind::Delete { target, reversed } => RemoteKind::Delete {
                    target: global(target).expect("decoder rejects deletes without a target"),
                    reversed,
                },
            },
        })
        .collect()
}

/// An update holding no operation: what a side that may only read answers
/// (it tells the peer it is in sync, and gives it nothing).
pub(crate) fn empty_update() -> Vec<u8> {
    let section = OpsSection {
        table: Vec::new(),
        runs: Vec::new(),
        texts: Vec::new(),
    };
    let mut w = Writer::default();
    ops::write(&mut w, &section);
    envelope::seal(Kind::Update, &w.into_bytes())
}

/// Whether `bytes`, an update or a snapshot, holds any operation (a
/// snapshot always counts as holding some), checked without merging.
///
/// # Errors
/// [`Error::Decode`] when the bytes are neither.
pub(crate) fn holds_operations(bytes: &[u8]) -> Result<bool, Error> {
    let (kind, mut r) = envelope::open(bytes)?;
    match kind {
        Kind::Update => {
            let section = ops::read(&mut r)?;
            tombstones::read(&mut r, tombstone_lens(&section).into_iter())?;
            authors::read_section(&mut r, &section.table)?;
            r.finish()?;
            Ok(!section.runs.is_empty())
        }
        Kind::Snapshot => Ok(true),
        Kind::Record | Kind::Checkpoint => Err(DecodeError::WrongKind(kind as u8).into()),
    }
}
