//! The op log's older runs, kept encoded: a few bytes a run where a decoded
//! run takes 28. They are read rarely (an update for a replica far behind,
//! a concurrent insert next to an old item, a view of the past), so they
//! are worth keeping small. Runs go in chunks of [`CHUNK`], each encoded
//! from a fresh start, so reaching one run decodes at most one chunk.
//!
//! A run is a header byte, then what the header does not imply:
//! - bit 0: a delete (else an insert);
//! - bit 1: by the previous run's agent (else the agent follows);
//! - bit 2: its sequence number continues the previous run (else it follows);
//! - an insert's bits 3-4 say where its left origin is ([`OWN_PREVIOUS`]:
//!   the agent's item before the run, [`NONE`], [`EXPLICIT`]: it follows,
//!   or [`EXPLICIT_OWN`]: it follows without its agent, the run's), bits
//!   5-6 likewise its right origin, where 0 is [`AFTER_LEFT`]: the item
//!   after the left origin in its agent's sequence, which it was when
//!   someone typed between two letters of a run;
//! - a delete's bit 3: reversed; bit 4: its target is the run's agent's;
//!   its target follows;
//! - then the length.
//!
//! An explicit id is its agent (unless the header says it is the run's)
//! and its sequence number's distance from the run's, zigzagged: origins
//! and targets are usually close to the run, and by its own agent in a
//! document edited alone. Numbers are LEB128 (`packed`).

use super::run::{OpKind, OpRun};
use crate::id::LocalId;
use crate::packed;

/// Runs per chunk: few in unit tests, so that their small documents
/// freeze runs too.
pub(super) const CHUNK: usize = if cfg!(test) { 4 } else { 64 };

const DELETE: u8 = 1;
const SAME_AGENT: u8 = 2;
const CONTINUES: u8 = 4;
const OWN_PREVIOUS: u8 = 0;
const AFTER_LEFT: u8 = 0;
const NONE: u8 = 1;
const EXPLICIT: u8 = 2;
const EXPLICIT_OWN: u8 = 3;
const LEFT_SHIFT: u8 = 3;
const RIGHT_SHIFT: u8 = 5;
const REVERSED: u8 = 8;
const TARGET_OWN: u8 = 16;

/// The most a run takes: the header, three numbers of at most 5 bytes and
/// two ids of at most 15.
const MAX_RUN_BYTES: usize = 46;

/// Whole chunks of encoded runs.
#[derive(Debug, Clone, Default)]
pub(super) struct Frozen {
    /// Each chunk's bytes, in a block of its own size: one growing buffer
    /// of them all would keep up to a quarter more (see `grow`) for good.
    chunks: Vec<Box<[u8]>>,
    /// The sequence number of chunk `k`'s first run: a log by one agent is
    /// searched by it.
    first_seqs: Vec<u32>,
}

impl Frozen {
    /// Runs held: whole chunks.
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    #[cfg(test)]
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Appends a chunk of exactly [`CHUNK`] runs.
    pub fn push_chunk(&mut self, runs: &[OpRun]) {
        debug_assert_eq!(runs.len(), CHUNK);
        let mut bytes = Vec::with_capacity(CHUNK * MAX_RUN_BYTES);
        let mut prev = Previous::START;
        for run in runs {
            write_run(&mut bytes, &mut prev, run);
        }
        crate::grow::vec(&mut self.chunks, 1);
        self.chunks.push(bytes.into_boxed_slice());
        crate::grow::vec(&mut self.first_seqs, 1);
        self.first_seqs.push(runs[0].seq);
    }

    /// Chunk `k`'s runs, into `out` (cleared first).
    pub fn decode_chunk(&self, k: usize, out: &mut Vec<OpRun>) {
        out.clear();
        let (bytes, mut at) = (&self.chunks[k], 0);
        let mut prev = Previous::START;
        for _ in 0..CHUNK {
            out.push(read_run(bytes, &mut at, &mut prev));
        }
    }

    /// Run `i` (below [`len`](Self::len)).
    pub fn get(&self, i: usize) -> OpRun {
        self.scan(i / CHUNK, |n, _| n == i % CHUNK)
    }

    /// In chunk `k`, the first run for which `found(position, run)` holds
    /// (the chunk's last if none).
    pub fn scan(&self, k: usize, mut found: impl FnMut(usize, &OpRun) -> bool) -> OpRun {
        let (bytes, mut at) = (&self.chunks[k], 0);
        let mut prev = Previous::START;
        let mut run = read_run(bytes, &mut at, &mut prev);
        for n in 1..CHUNK {
            if found(n - 1, &run) {
                break;
            }
            run = read_run(bytes, &mut at, &mut prev);
        }
        run
    }

    /// The last chunk whose first run's sequence number is at most `seq`
    /// (for a log by one agent, whose runs are in sequence order).
    pub fn chunk_of_seq(&self, seq: u32) -> Option<usize> {
        self.first_seqs
            .partition_point(|&s| s <= seq)
            .checked_sub(1)
    }

    pub fn shrink_to_fit(&mut self) {
        self.chunks.shrink_to_fit();
        self.first_seqs.shrink_to_fit();
    }

    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.first_seqs.capacity() * 4
    }
}

/// What a run is encoded against: the run before it in its chunk.
#[derive(Clone, Copy)]
struct Previous {
    agent: u32,
    end: u32,
}

impl Previous {
    const START: Previous = Previous { agent: 0, end: 0 };
}

fn write_run(out: &mut Vec<u8>, prev: &mut Previous, run: &OpRun) {
    let mut header = 0;
    if run.agent == prev.agent {
        header |= SAME_AGENT;
        if run.seq == prev.end {
            header |= CONTINUES;
        }
    }
    let mut ids: [Option<LocalId>; 2] = [None, None];
    match run.kind() {
        OpKind::Insert { left, right } => {
            let own_previous = run.seq > 0 && left == LocalId::new(run.agent, run.seq - 1);
            let form = |id: LocalId| match id {
                _ if id.is_none() => NONE,
                _ if id.agent() == run.agent => EXPLICIT_OWN,
                _ => EXPLICIT,
            };
            let left_form = if own_previous {
                OWN_PREVIOUS
            } else {
                form(left)
            };
            let after_left = !left.is_none()
                && (left.seq().checked_add(1))
                    .is_some_and(|s| right == LocalId::new(left.agent(), s));
            let right_form = if after_left { AFTER_LEFT } else { form(right) };
            header |= left_form << LEFT_SHIFT | right_form << RIGHT_SHIFT;
            ids = [
                (left_form >= EXPLICIT).then_some(left),
                (right_form >= EXPLICIT).then_some(right),
            ];
        }
        OpKind::Delete { target, reversed } => {
            header |= DELETE;
            if reversed {
                header |= REVERSED;
            }
            if target.agent() == run.agent {
                header |= TARGET_OWN;
            }
            ids[0] = Some(target);
        }
    }
    // Pushed straight into the chunk's buffer, which has room for every
    // run at its longest: a record copied in cost more than the pushes.
    out.push(header);
    if header & SAME_AGENT == 0 {
        packed::push_number(out, u64::from(run.agent));
    }
    if header & CONTINUES == 0 {
        packed::push_number(out, u64::from(run.seq));
    }
    packed::push_number(out, u64::from(run.len));
    // Not a loop over the two: a hot path, where it cost more than the ids.
    if let Some(id) = ids[0] {
        if id.agent() != run.agent {
            packed::push_number(out, u64::from(id.agent()));
        }
        packed::push_signed(out, i64::from(id.seq()) - i64::from(run.seq));
    }
    if let Some(id) = ids[1] {
        if id.agent() != run.agent {
            packed::push_number(out, u64::from(id.agent()));
        }
        packed::push_signed(out, i64::from(id.seq()) - i64::from(run.seq));
    }
    *prev = Previous {
        agent: run.agent,
        end: run.end(),
    };
}

/// Reads what [`write_run`] wrote (these bytes never come from outside).
fn read_run(bytes: &[u8], at: &mut usize, prev: &mut Previous) -> OpRun {
    let header = bytes[*at];
    *at += 1;
    let agent = if header & SAME_AGENT != 0 {
        prev.agent
    } else {
        packed::number(bytes, at) as u32
    };
    let seq = if header & CONTINUES != 0 {
        prev.end
    } else {
        packed::number(bytes, at) as u32
    };
    let len = packed::number(bytes, at) as u32;
    // An id, by the run's agent unless `explicit` (its agent follows).
    let mut id = |explicit: bool| {
        let agent = if explicit {
            packed::number(bytes, at) as u32
        } else {
            agent
        };
        let distance = packed::signed(bytes, at);
        LocalId::new(agent, (i64::from(seq) + distance) as u32)
    };
    let kind = if header & DELETE != 0 {
        OpKind::Delete {
            target: id(header & TARGET_OWN == 0),
            reversed: header & REVERSED != 0,
        }
    } else {
        let left = match header >> LEFT_SHIFT & 3 {
            OWN_PREVIOUS => LocalId::new(agent, seq.wrapping_sub(1)),
            NONE => LocalId::NONE,
            form => id(form == EXPLICIT),
        };
        let right = match header >> RIGHT_SHIFT & 3 {
            AFTER_LEFT => LocalId::new(left.agent(), left.seq().wrapping_add(1)),
            NONE => LocalId::NONE,
            form => id(form == EXPLICIT),
        };
        OpKind::Insert { left, right }
    };
    *prev = Previous {
        agent,
        end: seq + len,
    };
    OpRun::new(agent, seq, len, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    fn id(rng: &mut Rng) -> LocalId {
        match rng.next() % 4 {
            0 => LocalId::NONE,
            1 => LocalId::new(0, 0),
            2 => LocalId::new(u32::MAX - 2, u32::MAX - 1),
            _ => LocalId::new((rng.next() % 5) as u32, (rng.next() % 1000) as u32),
        }
    }

    /// Runs of every shape, extremes included, come back as they went in.
    #[test]
    fn chunks_decode_to_what_was_encoded() {
        let mut rng = Rng::new(11);
        let mut frozen = Frozen::default();
        let mut all = Vec::new();
        let mut next = [0u32; 3];
        for _ in 0..CHUNK * 5 {
            let agent = (rng.next() % 3) as u32;
            let seq = if rng.next() % 8 == 0 {
                u32::MAX - 100 + (rng.next() % 50) as u32
            } else {
                next[agent as usize]
            };
            let len = 1 + (rng.next() % 40) as u32;
            next[agent as usize] = next[agent as usize].max(seq.saturating_add(len)) % 1_000_000;
            let kind = match rng.next() % 4 {
                0 => OpKind::Delete {
                    target: LocalId::new((rng.next() % 3) as u32, (rng.next() % 5000) as u32),
                    reversed: rng.next() % 2 == 0,
                },
                1 if seq > 0 => OpKind::Insert {
                    left: LocalId::new(agent, seq - 1),
                    right: id(&mut rng),
                },
                2 => {
                    let left = LocalId::new((rng.next() % 3) as u32, (rng.next() % 5000) as u32);
                    OpKind::Insert {
                        left,
                        right: LocalId::new(left.agent(), left.seq() + 1),
                    }
                }
                _ => OpKind::Insert {
                    left: id(&mut rng),
                    right: id(&mut rng),
                },
            };
            all.push(OpRun::new(agent, seq, len.min(u32::MAX - seq), kind));
        }
        for chunk in all.chunks(CHUNK) {
            frozen.push_chunk(chunk);
        }
        assert_eq!(frozen.len(), all.len());
        let mut out = Vec::new();
        for k in 0..frozen.chunk_count() {
            frozen.decode_chunk(k, &mut out);
            assert_eq!(out, all[k * CHUNK..(k + 1) * CHUNK]);
        }
        for (i, run) in all.iter().enumerate() {
            assert_eq!(frozen.get(i), *run, "run {i}");
        }
    }

    /// Typing and deleting near the cursor cost a few bytes a run (and a
    /// chunk's first run names its sequence number).
    #[test]
    fn runs_of_typing_take_a_few_bytes() {
        let mut runs = Vec::new();
        let mut seq: u32 = 1000;
        for i in 0..CHUNK as u32 * 8 {
            let kind = if i % 2 == 0 {
                OpKind::Insert {
                    left: LocalId::new(0, seq - 1),
                    right: LocalId::NONE,
                }
            } else {
                OpKind::Delete {
                    target: LocalId::new(0, seq - 2),
                    reversed: true,
                }
            };
            runs.push(OpRun::new(0, seq, 3, kind));
            seq += 3;
        }
        let mut frozen = Frozen::default();
        for chunk in runs.chunks(CHUNK) {
            frozen.push_chunk(chunk);
        }
        let bound = runs.len() * 3 + frozen.chunk_count() * 2;
        let bytes: usize = frozen.chunks.iter().map(|c| c.len()).sum();
        assert!(bytes <= bound, "{bytes} bytes");
    }
}
