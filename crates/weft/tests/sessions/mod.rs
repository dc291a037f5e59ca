//! Editing sessions that a test replays exactly as the code that wrote a
//! fixture once did: the same edits give the same document, whichever
//! encoding carries it.

use weft::{Doc, IndexUnit::CodePoint, Version};

/// The first `patches` patches of the trace at `path`, typed by one replica.
pub fn trace_prefix(path: &str, patches: usize) -> Doc {
    let trace = weft_traces::load(path).expect("the trace");
    let mut doc = Doc::new(0x5eed);
    doc.insert(0, &trace.start, CodePoint).unwrap();
    for p in trace.txns.iter().flat_map(|t| &t.patches).take(patches) {
        if p.del > 0 {
            doc.delete(p.pos, p.del, CodePoint).unwrap();
        }
        if !p.ins.is_empty() {
            doc.insert(p.pos, &p.ins, CodePoint).unwrap();
        }
    }
    doc
}

/// Three replicas typing, jumping, replacing and deleting at places a
/// fixed generator picks, merging with one another now and then.
pub fn three_replicas() -> Doc {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut docs: Vec<Doc> = (0..3).map(|i| Doc::new(0xa0 + i)).collect();
    let mut cursors = [0usize; 3];
    for step in 0..600 {
        let i = next(3);
        let doc = &mut docs[i];
        let len = doc.len(CodePoint);
        if next(8) == 0 || cursors[i] > len {
            cursors[i] = next(len + 1); // a jump
        }
        match next(10) {
            0..=5 => {
                let word = ["a", "bc", "déf", "ghij ", "\u{1F600}", "klmnop qr"][next(6)];
                doc.insert(cursors[i], word, CodePoint).unwrap();
                cursors[i] += word.chars().count();
            }
            6 | 7 if cursors[i] > 0 => {
                let n = (1 + next(4)).min(cursors[i]);
                doc.delete(cursors[i] - n, n, CodePoint).unwrap(); // backspace
                cursors[i] -= n;
            }
            _ if cursors[i] < len => {
                let n = (1 + next(6)).min(len - cursors[i]);
                doc.delete(cursors[i], n, CodePoint).unwrap();
                if next(2) == 0 {
                    doc.insert(cursors[i], "x", CodePoint).unwrap(); // a replacement
                    cursors[i] += 1;
                }
            }
            _ => {}
        }
        if step % 25 == 24 {
            let (from, to) = (next(3), next(3));
            if from != to {
                let since: Version = docs[to].version();
                let update = docs[from].encode_update(&since).unwrap();
                docs[to].apply_update_unwatched(&update).unwrap();
            }
        }
    }
    let [mut a, b, c] = <[Doc; 3]>::try_from(docs).ok().unwrap();
    for mut other in [b, c] {
        let update = other.encode_update(&a.version()).unwrap();
        a.apply_update_unwatched(&update).unwrap();
    }
    a
}
