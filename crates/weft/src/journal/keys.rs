//! A set of entry keys for many lookups.

/// Entry keys sorted once, for many lookups: a compaction lists every record
/// written since the last one (tens of thousands in a long session on a
/// large document), and looking each up in a list of them all compared
/// every pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet(Vec<u64>);

impl KeySet {
    /// The set of `keys`.
    pub fn new(keys: &[u64]) -> KeySet {
        let mut sorted = keys.to_vec();
        crate::radix::sort_by_u64_key(&mut sorted, |&k| k);
        KeySet(sorted)
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: u64) -> bool {
        self.0.binary_search(&key).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::KeySet;

    #[test]
    fn holds_exactly_its_keys_in_any_order() {
        let set = KeySet::new(&[9, 3, u64::MAX, 3, 1 << 40]);
        for k in [9, 3, u64::MAX, 1 << 40] {
            assert!(set.contains(k), "{k}");
        }
        for k in [0, 2, 4, 8, 10, u64::MAX - 1, (1 << 40) + 1] {
            assert!(!set.contains(k), "{k}");
        }
        assert!(!KeySet::new(&[]).contains(0));
    }
}
