//! Who wrote what: the author id each replica edits for.
//!
//! A replica id is new at every page load, so it cannot name a person. An
//! author id can: an application's stable user id, given to the document
//! before its first edit ([`Doc::set_author`]). Each replica has at most
//! one, fixed for its life, so a claim travels once, with the replica's
//! first operation: in an update whose table entry for the replica starts
//! at sequence number 0, and in every snapshot. The first claim a document
//! hears for a replica stands; honest replicas never send two different
//! ones.

use crate::content::Metric;
use crate::encoding::ops::TableEntry;
use crate::encoding::{Reader, Writer};
use crate::radix::sort_by_u64_key;
use crate::{DecodeError, Doc, Error, IndexUnit, ReplicaId};

/// The longest author id, in UTF-8 bytes.
pub const MAX_AUTHOR_BYTES: usize = 128;

/// The author of each replica that has one. No hashing: std's hash maps
/// would add kilobytes to the WebAssembly module.
#[derive(Debug, Clone, Default)]
pub(crate) struct Authors {
    /// Sorted by replica: its author's index in `names`.
    claims: Vec<(ReplicaId, u32)>,
    /// Each author id once.
    names: Vec<Box<str>>,
    /// Indices of `names`, sorted by name.
    by_name: Vec<u32>,
}

impl Authors {
    pub fn get(&self, replica: ReplicaId) -> Option<&str> {
        self.name_of(replica).map(|i| &*self.names[i as usize])
    }

    fn name_of(&self, replica: ReplicaId) -> Option<u32> {
        let i = self.claims.binary_search_by_key(&replica, |c| c.0).ok()?;
        Some(self.claims[i].1)
    }

    /// The index of `name` in `names`, added if new.
    fn intern(&mut self, name: &str) -> u32 {
        let names = &self.names;
        match self
            .by_name
            .binary_search_by(|&i| (*names[i as usize]).cmp(name))
        {
            Ok(at) => self.by_name[at],
            Err(at) => {
                let i = self.names.len() as u32;
                self.names.push(name.into());
                self.by_name.insert(at, i);
                i
            }
        }
    }

    /// Records `name` as `replica`'s author unless it has one already.
    pub fn claim(&mut self, replica: ReplicaId, name: &str) {
        self.claim_all(vec![(replica, name)]);
    }

    /// Records every claim of `other` for a replica that has none here.
    pub fn merge(&mut self, other: &Authors) {
        let mut claims = Vec::with_capacity(other.claims.len());
        for &(replica, i) in &other.claims {
            claims.push((replica, &*other.names[i as usize]));
        }
        self.claim_all(claims);
    }

    /// Records each claim for a replica that has no author yet, all at
    /// once: one sort (a hostile update may hold thousands).
    pub fn claim_all(&mut self, claims: Vec<(ReplicaId, &str)>) {
        let before = self.claims.len();
        for (replica, name) in claims {
            if self.name_of(replica).is_none() {
                let i = self.intern(name);
                self.claims.push((replica, i));
            }
        }
        if self.claims.len() > before {
            // Stable: of two claims for one replica, the first stands.
            sort_by_u64_key(&mut self.claims, |c| c.0);
            self.claims.dedup_by_key(|c| c.0);
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.claims.capacity() * std::mem::size_of::<(ReplicaId, u32)>()
            + self.names.capacity() * std::mem::size_of::<Box<str>>()
            + self.names.iter().map(|n| n.len()).sum::<usize>()
    }

    /// Writes the claims of the replicas of `table` (an encoded section's
    /// replica table) that have their first operation there; nothing when
    /// none of them has an author, so documents without authors keep
    /// their bytes.
    pub fn write(&self, w: &mut Writer, table: &[TableEntry]) {
        let mut claims: Vec<(usize, u32)> = Vec::new();
        for (i, e) in table.iter().enumerate() {
            if e.first_seq == 0 && e.count > 0 {
                if let Some(name) = self.name_of(e.replica) {
                    claims.push((i, name));
                }
            }
        }
        if claims.is_empty() {
            return;
        }
        w.uvar(claims.len() as u64);
        // Per name, its number among those written (1-based), 0 before.
        let mut written = vec![0u64; self.names.len()];
        let mut count = 0;
        for (i, name) in claims {
            w.uvar(i as u64);
            let k = &mut written[name as usize];
            w.uvar(*k);
            if *k == 0 {
                let name = &self.names[name as usize];
                w.uvar(name.len() as u64);
                w.bytes(name.as_bytes());
                count += 1;
                *k = count;
            }
        }
    }

    /// Checks that every claim holds (one place for the invariant).
    pub fn check(&self) {
        assert!(
            self.claims.windows(2).all(|w| w[0].0 < w[1].0),
            "author claims sorted by replica, once each"
        );
        assert!(
            self.claims
                .iter()
                .all(|&(_, i)| (i as usize) < self.names.len()),
            "author claims name a known author"
        );
        assert!(
            self.names.iter().all(|n| valid_name(n)),
            "author ids are 1 to {MAX_AUTHOR_BYTES} bytes"
        );
        let sorted: Vec<&str> = self
            .by_name
            .iter()
            .map(|&i| &*self.names[i as usize])
            .collect();
        assert_eq!(self.by_name.len(), self.names.len(), "every name indexed");
        assert!(
            sorted.windows(2).all(|w| w[0] < w[1]),
            "names sorted, once each"
        );
    }
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_AUTHOR_BYTES).contains(&name.len())
}

/// Reads the authors section that may end an update's or a snapshot's body
/// (absent when no replica of `table` has an author, and in bytes written
/// before authors existed): the claims, as `(replica, author)`. Each claim
/// names a table entry with its first operation (see the module comment),
/// in increasing order, so there are at most as many claims as entries.
pub(crate) fn read_section<'a>(
    r: &mut Reader<'a>,
    table: &[TableEntry],
) -> Result<Vec<(ReplicaId, &'a str)>, DecodeError> {
    if r.remaining() == 0 {
        return Ok(Vec::new());
    }
    let count = r.len_prefix(2)?;
    if count == 0 || count > table.len() {
        return Err(DecodeError::InvalidValue("author count"));
    }
    let mut names: Vec<&str> = Vec::new();
    let mut claims = Vec::with_capacity(count);
    let mut next = 0;
    for _ in 0..count {
        let i = r.uvar()?;
        let entry = usize::try_from(i)
            .ok()
            .filter(|&i| i >= next)
            .and_then(|i| table.get(i))
            .filter(|e| e.first_seq == 0 && e.count > 0)
            .ok_or(DecodeError::InvalidValue("author's replica"))?;
        next = i as usize + 1;
        let name = match r.uvar()? {
            0 => {
                let len = r.uvar()?;
                if len == 0 || len > MAX_AUTHOR_BYTES as u64 {
                    return Err(DecodeError::InvalidValue("author id length"));
                }
                let bytes = r.take(len as usize)?;
                let name = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
                names.push(name);
                name
            }
            k => *usize::try_from(k - 1)
                .ok()
                .and_then(|k| names.get(k))
                .ok_or(DecodeError::InvalidValue("author reference"))?,
        };
        claims.push((entry.replica, name));
    }
    Ok(claims)
}

impl Doc {
    /// Sets the author id this document's local edits are made for: an
    /// application's stable id of the person (kept with the replica, so it
    /// survives reloads although the replica id changes). Set it before
    /// the first local edit: it travels with the replica's first operation.
    ///
    /// # Errors
    /// [`Error::InvalidAuthor`] for an empty id or one longer than
    /// [`MAX_AUTHOR_BYTES`]; [`Error::AuthorAfterEdits`] once this replica
    /// has made an edit or has an author.
    pub fn set_author(&mut self, author: &str) -> Result<(), Error> {
        if !valid_name(author) {
            return Err(Error::InvalidAuthor);
        }
        if self.history.next_seq(self.me) > 0 || self.authors.get(self.replica).is_some() {
            return Err(Error::AuthorAfterEdits);
        }
        self.authors.claim(self.replica, author);
        Ok(())
    }

    /// The author id `replica` edits for, when known.
    pub fn author(&self, replica: ReplicaId) -> Option<&str> {
        self.authors.get(replica)
    }

    /// The authors of the visible text from `start` to `end` (in `unit`):
    /// each once, in order of first appearance, `None` for text of replicas
    /// without an author id.
    ///
    /// O(log n) plus the spans in the range (a loaded snapshot's pages are
    /// decoded first; hence `&mut self`).
    ///
    /// # Errors
    /// As [`Doc::slice`].
    pub fn authors(
        &mut self,
        start: usize,
        end: usize,
        unit: IndexUnit,
    ) -> Result<Vec<Option<&str>>, Error> {
        let from = self.unit_to_chars(start, unit)?;
        let to = self.unit_to_chars(end, unit)?;
        if from > to {
            return Err(Error::InvalidRange { start, end });
        }
        self.thaw_all()?;
        let mut agents = Vec::new();
        if from < to {
            let mut seen = vec![false; self.history.agent_count()];
            let (leaf, before) = self.tree.descend(Metric::Text(IndexUnit::CodePoint), from);
            let mut at = before.text.chars;
            for (span, _) in self.tree.spans_from(leaf) {
                if at >= to {
                    break;
                }
                let n = span.visible();
                if n > 0 && at + n > from && !seen[span.agent as usize] {
                    seen[span.agent as usize] = true;
                    agents.push(span.agent);
                }
                at += n;
            }
        }
        // Per name index, then for no author (last), whether listed.
        let mut listed = vec![false; self.authors.names.len() + 1];
        let mut out = Vec::new();
        for a in agents {
            let name = self.authors.name_of(self.history.replica(a));
            let slot = name.map_or(listed.len() - 1, |i| i as usize);
            if !std::mem::replace(&mut listed[slot], true) {
                out.push(name.map(|i| &*self.authors.names[i as usize]));
            }
        }
        Ok(out)
    }
}
