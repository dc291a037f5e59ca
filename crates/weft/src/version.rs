//! Version vectors: for each replica, how many of its operations are known.

use crate::encoding::{Reader, Writer};
use crate::radix::sort_by_u64_key;
use crate::{DecodeError, ReplicaId};

/// A version vector: for each replica, the number of its operations (its next
/// sequence number) included. Versions of replicas of one document are
/// causally closed, so this names a whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    /// In increasing replica order, no count 0: one form per version, so
    /// the derived equality is the versions'. A sorted vector, not a
    /// `BTreeMap`: the module carries one map type fewer (about 3 KB of
    /// gzipped wasm), and versions are built whole (merged, decoded,
    /// collected) far more often than changed one replica at a time.
    entries: Vec<(ReplicaId, u32)>,
}

impl Version {
    /// The empty version: nothing known.
    pub fn new() -> Self {
        Version::default()
    }

    /// True when no operation is included.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, replica: ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&replica, |&(r, _)| r)
    }

    /// How many operations of `replica` this version includes.
    pub fn get(&self, replica: ReplicaId) -> u32 {
        self.find(replica).map_or(0, |i| self.entries[i].1)
    }

    /// Sets the count for `replica` (a count of 0 removes it). Linear in
    /// the replicas: to build a version, collect it.
    pub fn set(&mut self, replica: ReplicaId, count: u32) {
        match (self.find(replica), count) {
            (Ok(i), 0) => {
                self.entries.remove(i);
            }
            (Ok(i), n) => self.entries[i].1 = n,
            (Err(_), 0) => {}
            (Err(i), n) => self.entries.insert(i, (replica, n)),
        }
    }

    /// Adds everything in `other` (the maximum per replica), in one pass
    /// over both.
    pub fn merge(&mut self, other: &Version) {
        if other.entries.iter().all(|&(r, n)| self.get(r) >= n) {
            return; // nothing new (the common case: a version seen before)
        }
        let (a, b) = (&self.entries, &other.entries);
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let ((ra, na), (rb, nb)) = (a[i], b[j]);
            if ra <= rb {
                i += 1;
            }
            if rb <= ra {
                j += 1;
            }
            merged.push(match ra.cmp(&rb) {
                std::cmp::Ordering::Less => (ra, na),
                std::cmp::Ordering::Greater => (rb, nb),
                std::cmp::Ordering::Equal => (ra, na.max(nb)),
            });
        }
        merged.extend_from_slice(&a[i..]);
        merged.extend_from_slice(&b[j..]);
        self.entries = merged;
    }

    /// True when every operation in `other` is also in `self`.
    pub fn includes(&self, other: &Version) -> bool {
        other.entries.iter().all(|&(r, n)| self.get(r) >= n)
    }

    /// The replicas and their counts, in replica id order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u32)> + '_ {
        self.entries.iter().copied()
    }

    /// Encodes the version as bytes (see `docs/format.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.uvar(self.entries.len() as u64);
        for (r, n) in self.iter() {
            w.u64_le(r);
            w.uvar(u64::from(n));
        }
        w.into_bytes()
    }

    /// Decodes bytes made by [`Version::encode`].
    ///
    /// # Errors
    /// A [`DecodeError`] when the bytes are not an encoded version.
    pub fn decode(bytes: &[u8]) -> Result<Version, DecodeError> {
        let mut r = Reader::new(bytes);
        let count = r.len_prefix(9)?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            entries.push((r.u64_le()?, r.u32var()?));
        }
        r.finish()?;
        sort_by_u64_key(&mut entries, |&(r, _)| r);
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(DecodeError::InvalidValue("version replica repeated"));
        }
        entries.retain(|&(_, n)| n > 0);
        Ok(Version { entries })
    }
}

/// Later counts of a replica replace earlier ones, and a count of 0
/// removes it, as [`Version::set`] one by one would (but in one sort).
impl FromIterator<(ReplicaId, u32)> for Version {
    fn from_iter<T: IntoIterator<Item = (ReplicaId, u32)>>(iter: T) -> Self {
        let mut entries: Vec<(ReplicaId, u32)> = iter.into_iter().collect();
        sort_by_u64_key(&mut entries, |&(r, _)| r);
        // Of equal replicas, stably sorted, the last is the latest.
        let mut kept: Vec<(ReplicaId, u32)> = Vec::with_capacity(entries.len());
        for e in entries {
            match kept.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => kept.push(e),
            }
        }
        kept.retain(|&(_, n)| n > 0);
        Version { entries: kept }
    }
}
