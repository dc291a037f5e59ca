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

/// Sorts `v` by `key`, keeping the order of equal keys. The sort itself
/// works on the keys alone (`stable_order`), so each element type adds only
/// two short loops to the WebAssembly module.
pub(crate) fn sort_by_u64_key<T: Copy>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let keys: Vec<u64> = v.iter().map(key).collect();
    let order = stable_order(&keys);
    *v = order.iter().map(|&i| v[i as usize]).collect();
}

/// Up to this many keys sort by insertion: fewer steps than one counting
/// pass's 256 buckets.
const SMALL: usize = 32;

/// The indices of `keys` in increasing key order, equal keys in index
/// order. Each byte in which keys differ takes one counting pass; the
/// others none.
fn stable_order(keys: &[u64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    let Some(&first) = keys.first() else {
        return order;
    };
    if keys.len() <= SMALL {
        // A pass costs 256 counters whatever the length: a server sorting
        // each edit's few replicas spent more on them than on the keys.
        for i in 1..order.len() {
            let mut j = i;
            while j > 0 && keys[order[j - 1] as usize] > keys[order[j] as usize] {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        return order;
    }
    let differing = keys.iter().fold(0, |bits, &k| bits | (k ^ first));
    let mut scratch = vec![0u32; keys.len()];
    for shift in (0..64).step_by(8) {
        if differing >> shift & 0xff == 0 {
            continue; // all keys share this byte
        }
        let byte = |i: u32| (keys[i as usize] >> shift & 0xff) as usize;
        let mut counts = [0usize; 256];
        for &i in &order {
            counts[byte(i)] += 1;
        }
        let mut start = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = start;
            start += n;
        }
        // Every slot is written once: `counts` are the buckets' offsets.
        for &i in &order {
            let b = byte(i);
            scratch[counts[b]] = i;
            counts[b] += 1;
        }
        std::mem::swap(&mut order, &mut scratch);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    #[test]
    fn sorts_stably_like_the_standard_sort() {
        let mut rng = Rng::new(7);
        for len in [0, 1, 2, 3, 31, 32, 33, 100, 5000] {
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
