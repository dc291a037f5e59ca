//! Growth for buffers that live as long as the document (the op log, the
//! deleted text, the tree's leaves and nodes): by a quarter rather than doubling, since doubling leaves
//! up to half of a long-lived buffer unused. Over a buffer's life that
//! copies about four times its size, against twice.

/// Makes room for `additional` more elements in `v`.
pub(crate) fn vec<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact(additional.max(v.len() / 4).max(64));
    }
}

/// Makes room for `additional` more bytes in `s`.
pub(crate) fn string(s: &mut String, additional: usize) {
    if s.capacity() - s.len() < additional {
        s.reserve_exact(additional.max(s.len() / 4).max(256));
    }
}
