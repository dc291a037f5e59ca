//! A long history made on the fly: a sequential trace replayed a number of
//! times, each pass appending after the text of the passes before it. A
//! hundred passes of automerge-paper are 26 million edits; as JSON they
//! would take tens of GB, so only one pass is held, packed flat (the trace
//! as loaded has a heap block per transaction, patch and string: reading
//! it would cost a replay about as much as a rope's edits), and each edit
//! borrows its text from it.

use weft_traces::Trace;

/// One edit: at `pos` (in code points) delete `del` code points, then
/// insert `ins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit<'a> {
    pub pos: usize,
    pub del: usize,
    pub ins: &'a str,
}

/// One pass over a sequential trace: its start text typed at 0 (when it
/// has one), then its patches, each as position, deletion and the span of
/// its text in `text`.
pub struct Pass {
    edits: Vec<PackedEdit>,
    text: String,
    /// Code points of the trace's final text: where the next pass starts.
    end_chars: usize,
}

struct PackedEdit {
    pos: u32,
    del: u32,
    ins_start: u32,
    ins_end: u32,
}

impl Pass {
    /// # Panics
    /// On a concurrent trace (its transactions have no single order to
    /// append in), or one of 4 GiB or more.
    pub fn of(trace: &Trace) -> Pass {
        assert!(!trace.concurrent, "only sequential traces repeat");
        let small = |n: usize| u32::try_from(n).expect("a trace under 4 GiB");
        let start = (!trace.start.is_empty()).then_some((0, 0, trace.start.as_str()));
        let patches = trace.txns.iter().flat_map(|t| &t.patches);
        let mut pass = Pass {
            edits: Vec::new(),
            text: String::new(),
            end_chars: trace.end.chars().count(),
        };
        for (pos, del, ins) in start
            .into_iter()
            .chain(patches.map(|p| (p.pos, p.del, &*p.ins)))
        {
            let ins_start = small(pass.text.len());
            pass.text.push_str(ins);
            pass.edits.push(PackedEdit {
                pos: small(pos),
                del: small(del),
                ins_start,
                ins_end: small(pass.text.len()),
            });
        }
        pass
    }

    /// The edits of `passes` passes, every position shifted by the length
    /// of the text the earlier passes left (the trace's final text each).
    pub fn repeat(&self, passes: usize) -> Repeated<'_> {
        Repeated {
            pass: self,
            next: 0,
            offset: 0,
            remaining: passes * self.edits.len(),
        }
    }
}

/// The edits of a pass repeated (see `Pass::repeat`).
pub struct Repeated<'a> {
    pass: &'a Pass,
    /// The next edit's index in the pass.
    next: usize,
    /// Code points the earlier passes left.
    offset: usize,
    remaining: usize,
}

impl<'a> Iterator for Repeated<'a> {
    type Item = Edit<'a>;

    fn next(&mut self) -> Option<Edit<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let e = &self.pass.edits[self.next];
        let edit = Edit {
            pos: self.offset + e.pos as usize,
            del: e.del as usize,
            ins: &self.pass.text[e.ins_start as usize..e.ins_end as usize],
        };
        self.next += 1;
        if self.next == self.pass.edits.len() {
            self.next = 0;
            self.offset += self.pass.end_chars;
        }
        Some(edit)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Repeated<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_traces::{Patch, Txn};

    fn trace(start: &str, patches: &[&[(usize, usize, &str)]], end: &str) -> Trace {
        let txns = patches
            .iter()
            .enumerate()
            .map(|(i, ps)| Txn {
                parents: i.checked_sub(1).into_iter().collect(),
                agent: 0,
                patches: ps
                    .iter()
                    .map(|&(pos, del, ins)| Patch {
                        pos,
                        del,
                        ins: ins.into(),
                    })
                    .collect(),
            })
            .collect();
        Trace {
            name: "t".into(),
            start: start.into(),
            end: end.into(),
            concurrent: false,
            agents: 1,
            txns,
        }
    }

    fn apply(edits: Repeated<'_>) -> String {
        let mut text: Vec<char> = Vec::new();
        for e in edits {
            text.splice(e.pos..e.pos + e.del, e.ins.chars());
        }
        text.into_iter().collect()
    }

    #[test]
    fn each_pass_appends_after_the_last() {
        // "é" is one code point of two bytes: positions count code points.
        let t = trace(
            "ab",
            &[&[(2, 0, "é")], &[], &[(0, 1, "x"), (3, 0, "!")]],
            "xbé!",
        );
        let pass = Pass::of(&t);
        assert_eq!(pass.repeat(3).len(), 3 * 4);
        assert_eq!(apply(pass.repeat(3)), "xbé!".repeat(3));
        let second = pass.repeat(2).nth(4).unwrap();
        assert_eq!((second.pos, second.del, second.ins), (4, 0, "ab"));
    }

    #[test]
    fn without_start_text_or_passes() {
        let t = trace("", &[&[(0, 0, "hi")]], "hi");
        assert_eq!(apply(Pass::of(&t).repeat(2)), "hihi");
        assert_eq!(Pass::of(&t).repeat(0).count(), 0);
    }
}
