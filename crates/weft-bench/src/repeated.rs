//! A long history made on the fly: a sequential trace replayed a number of
//! times, each pass appending after the text of the passes before it. A
//! hundred passes of automerge-paper are 26 million edits; as JSON they
//! would take tens of GB, so nothing is materialised: each edit borrows
//! its text from the trace.

use weft_traces::{Patch, Trace};

/// One edit: at `pos` (in code points) delete `del` code points, then
/// insert `ins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit<'a> {
    pub pos: usize,
    pub del: usize,
    pub ins: &'a str,
}

/// The edits of `passes` passes over `trace`: each pass types the trace's
/// start text, then its patches, every position shifted by the length of
/// the text the earlier passes left (the trace's final text each).
pub struct Repeated<'a> {
    trace: &'a Trace,
    pass: usize,
    /// Where the current pass is: `None` before its start text, then the
    /// transaction and the patch in it.
    at: Option<(usize, usize)>,
    pass_len: usize,
    remaining: usize,
}

impl<'a> Repeated<'a> {
    /// # Panics
    /// On a concurrent trace: its transactions have no single order to
    /// append in.
    pub fn new(trace: &'a Trace, passes: usize) -> Self {
        assert!(!trace.concurrent, "only sequential traces repeat");
        Repeated {
            trace,
            pass: 0,
            at: None,
            pass_len: trace.end.chars().count(),
            remaining: passes * edits_per_pass(trace),
        }
    }

    /// The edit at the current place, if the pass has one there.
    fn current(&self) -> Option<Edit<'a>> {
        let offset = self.pass * self.pass_len;
        let shifted = |p: &'a Patch| Edit {
            pos: offset + p.pos,
            del: p.del,
            ins: &p.ins,
        };
        match self.at {
            None => (!self.trace.start.is_empty()).then(|| Edit {
                pos: offset,
                del: 0,
                ins: &self.trace.start,
            }),
            Some((t, p)) => self.trace.txns.get(t)?.patches.get(p).map(shifted),
        }
    }

    /// Moves to the next place: the next patch, transaction or pass.
    fn advance(&mut self) {
        self.at = match self.at {
            None => Some((0, 0)),
            Some((t, p)) if p + 1 < self.trace.txns[t].patches.len() => Some((t, p + 1)),
            Some((t, _)) if t + 1 < self.trace.txns.len() => Some((t + 1, 0)),
            Some(_) => {
                self.pass += 1;
                None
            }
        };
    }
}

impl<'a> Iterator for Repeated<'a> {
    type Item = Edit<'a>;

    fn next(&mut self) -> Option<Edit<'a>> {
        // Empty transactions and an empty start text are places without an
        // edit: skipped.
        while self.remaining > 0 {
            let edit = self.current();
            self.advance();
            if let Some(edit) = edit {
                self.remaining -= 1;
                return Some(edit);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Repeated<'_> {}

/// Edits in one pass: the start text (if any) and every patch.
fn edits_per_pass(trace: &Trace) -> usize {
    usize::from(!trace.start.is_empty()) + trace.patch_count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_traces::Txn;

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
        let edits = Repeated::new(&t, 3);
        assert_eq!(edits.len(), 3 * 4);
        assert_eq!(apply(edits), "xbé!".repeat(3));
        let second = Repeated::new(&t, 2).nth(4).unwrap();
        assert_eq!((second.pos, second.del, second.ins), (4, 0, "ab"));
    }

    #[test]
    fn without_start_text_or_passes() {
        let t = trace("", &[&[(0, 0, "hi")]], "hi");
        assert_eq!(apply(Repeated::new(&t, 2)), "hihi");
        assert_eq!(Repeated::new(&t, 0).count(), 0);
    }
}
