//! A stable LSD radix sort by an integer key: a few flat loops, no comparison
//! callbacks. Loading sorts thousands of spans by sequence number, and in
//! WebAssembly built for size (where the standard sorts' helpers are not
//! inlined) and still running its first, unoptimized compile, that is
//! several times faster than `sort_unstable`.

/// `(agent, seq, value)` triples as `(seq, value)` pairs grouped by agent
/// (the outer index), each group in sequence order (stable; input already
/// in order is left as it is).
pub(crate) fn per_agent_in_seq_order<V: Copy>(
    it: impl Iterator<Item = (u32, u32, V)>,
) -> Vec<Vec<(u32, V)>> {
    let mut per_agent: Vec<Vec<(u32, V)>> = Vec::new();
    for (agent, seq, value) in it {
        let a = agent as usize;
        if per_agent.len() <= a {
            per_agent.resize_with(a + 1, Vec::new);
        }
        per_agent[a].push((seq, value));
    }
    for group in &mut per_agent {
        if !group.is_sorted_by_key(|g| g.0) {
            sort_by_u64_key(group, |g| u64::from(g.0));
        }
    }
    per_agent
}

/// Sorts `v` by `key`, keeping the order of equal keys. Each byte in which
/// keys differ takes one counting pass; the others none. One sort for
/// every key width keeps the WebAssembly module small.
pub(crate) fn sort_by_u64_key<T: Copy>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let Some(first) = v.first().map(&key) else {
        return;
    };
    let differing = v.iter().fold(0, |bits, x| bits | (key(x) ^ first));
    let mut scratch: Vec<T> = Vec::with_capacity(v.len());
    for shift in (0..64).step_by(8) {
        if differing >> shift & 0xff == 0 {
            continue; // all keys share this byte
        }
        let mut counts = [0usize; 256];
        for x in v.iter() {
            counts[(key(x) >> shift & 0xff) as usize] += 1;
        }
        let mut start = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = start;
            start += n;
        }
        scratch.clear();
        // Every slot is written once: `counts` are the buckets' offsets.
        scratch.resize(v.len(), v[0]);
        for x in v.iter() {
            let b = (key(x) >> shift & 0xff) as usize;
            scratch[counts[b]] = *x;
            counts[b] += 1;
        }
        std::mem::swap(v, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    #[test]
    fn sorts_stably_like_the_standard_sort() {
        let mut rng = Rng::new(7);
        for len in [0, 1, 2, 3, 100, 5000] {
            for spread in [1u64, 300, 70_000, u64::from(u32::MAX), u64::MAX] {
                let v: Vec<(u64, usize)> = (0..len).map(|i| (rng.next() % spread, i)).collect();
                let mut ours = v.clone();
                sort_by_u64_key(&mut ours, |x| x.0);
                let mut expected = v;
                expected.sort_by_key(|x| x.0); // stable
                assert_eq!(ours, expected, "len {len} spread {spread}");
            }
        }
    }
}
