//! Version vectors: for each replica, how many of its operations are known.

use crate::encoding::{Reader, Writer};
use crate::{DecodeError, ReplicaId};
use std::collections::BTreeMap;

/// A version vector: for each replica, the number of its operations (its next
/// sequence number) included. Versions of replicas of one document are
/// causally closed, so this names a whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    entries: BTreeMap<ReplicaId, u32>,
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

    /// How many operations of `replica` this version includes.
    pub fn get(&self, replica: ReplicaId) -> u32 {
        self.entries.get(&replica).copied().unwrap_or(0)
    }

    /// Sets the count for `replica` (a count of 0 removes it).
    pub fn set(&mut self, replica: ReplicaId, count: u32) {
        if count == 0 {
            self.entries.remove(&replica);
        } else {
            self.entries.insert(replica, count);
        }
    }

    /// Adds everything in `other` (the maximum per replica).
    pub fn merge(&mut self, other: &Version) {
        for (r, n) in other.iter() {
            if n > self.get(r) {
                self.set(r, n);
            }
        }
    }

    /// True when every operation in `other` is also in `self`.
    pub fn includes(&self, other: &Version) -> bool {
        other.entries.iter().all(|(&r, &n)| self.get(r) >= n)
    }

    /// The replicas and their counts, in replica id order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u32)> + '_ {
        self.entries.iter().map(|(&r, &n)| (r, n))
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
        let mut v = Version::new();
        for _ in 0..count {
            let replica = r.u64_le()?;
            let n = r.u32var()?;
            if v.entries.contains_key(&replica) {
                return Err(DecodeError::InvalidValue("version replica repeated"));
            }
            v.set(replica, n);
        }
        r.finish()?;
        Ok(v)
    }
}

impl FromIterator<(ReplicaId, u32)> for Version {
    fn from_iter<T: IntoIterator<Item = (ReplicaId, u32)>>(iter: T) -> Self {
        let mut v = Version::new();
        for (r, n) in iter {
            v.set(r, n);
        }
        v
    }
}
