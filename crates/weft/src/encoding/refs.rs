//! References to items in an operations section (see `docs/format.md`,
//! *Operations section*): each relative to a likely *base* id, or to a
//! second guess, the replica's *cursor*: where its previous run in the
//! section left off. After a jump, a replica's runs keep to the place it
//! jumped to (it types after what it deleted, deletes on from where it
//! stopped, and the character after its insertion stays the same while it
//! types and corrects), while the run's own previous id stays behind.

use super::{Reader, Writer};
use crate::content::MAX_SPAN_LEN;
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::DecodeError;

const NONE: u64 = 0;
const BASE: u64 = 1;
const BASE_DELTA: u64 = 2;
/// Then `3 + i` for table entry `i`, then these, counted after the table.
const TABLE: u64 = 3;
const GUESS: u64 = 0;
const GUESS_DELTA: u64 = 1;

/// Where each replica's previous run in the section left off.
#[derive(Default)]
pub struct Cursors {
    /// Per table index, once the replica has a run in the section.
    by_replica: Vec<Option<Cursor>>,
}

#[derive(Clone, Copy)]
struct Cursor {
    /// The item an insert most likely follows: the last typed, or the last
    /// deleted in document order (a replacement types after it).
    left: LocalId,
    /// The item a delete most likely starts at: the last typed
    /// (backspace), or the one after the range deleted in its direction.
    target: LocalId,
    /// The right origin of its last insert, if any: typing goes on before
    /// the same character after a correction.
    right: Option<LocalId>,
}

impl Cursors {
    fn get(&self, agent: u32) -> Option<&Cursor> {
        self.by_replica.get(agent as usize)?.as_ref()
    }

    /// The second guess for the left origin of `agent`'s next insert.
    pub fn left(&self, agent: u32) -> Option<LocalId> {
        self.get(agent).map(|c| c.left)
    }

    /// The second guess for the right origin of `agent`'s next insert.
    pub fn right(&self, agent: u32) -> Option<LocalId> {
        self.get(agent).and_then(|c| c.right)
    }

    /// The second guess for the first target of `agent`'s next delete.
    pub fn target(&self, agent: u32) -> Option<LocalId> {
        self.get(agent).map(|c| c.target)
    }

    /// Moves `run`'s replica on past it.
    pub fn advance(&mut self, run: &OpRun) {
        let i = run.agent as usize;
        if self.by_replica.len() <= i {
            self.by_replica.resize(i + 1, None);
        }
        let before = self.by_replica[i];
        let at = |t: LocalId, delta: i64| LocalId::new(t.agent(), shifted(t.seq(), delta));
        let last = i64::from(run.len) - 1;
        self.by_replica[i] = Some(match run.kind() {
            OpKind::Insert { right, .. } => {
                let typed = LocalId::new(run.agent, shifted(run.seq, last));
                Cursor {
                    left: typed,
                    target: typed,
                    right: Some(right),
                }
            }
            OpKind::Delete { target, reversed } => {
                let right = before.and_then(|c| c.right);
                // One deletion has no direction: a section writes it
                // forward, whichever way a log holds it, and writer and
                // reader must move alike.
                if reversed && run.len > 1 {
                    Cursor {
                        left: target,
                        target: at(target, -last - 1),
                        right,
                    }
                } else {
                    Cursor {
                        left: at(target, last),
                        target: at(target, last + 1),
                        right,
                    }
                }
            }
        });
    }
}

/// `seq + delta` as ids wrap: a guess past either end is never an item.
fn shifted(seq: u32, delta: i64) -> u32 {
    (i64::from(seq) + delta) as u32
}

/// Writes `id` relative to `base` or, where shorter, `guess`: none, exactly
/// one of them, a delta from one of the same replica, or the table entry and
/// sequence number (see `docs/format.md`).
pub fn write(w: &mut Writer, id: LocalId, base: LocalId, guess: Option<LocalId>, table_len: usize) {
    if id.is_none() {
        return w.uvar(NONE);
    }
    if id == base {
        return w.uvar(BASE);
    }
    let after_table = TABLE + table_len as u64;
    if guess == Some(id) {
        return w.uvar(after_table + GUESS);
    }
    // The table form, unless a delta from a guess of the same replica is
    // shorter (ties go to the base, then the table).
    let mut best: (u64, Option<i64>) = (TABLE + u64::from(id.agent()), None);
    let mut best_len = uvar_len(best.0) + uvar_len(u64::from(id.seq()));
    for (tag, from) in [(BASE_DELTA, Some(base)), (after_table + GUESS_DELTA, guess)] {
        let Some(from) = from.filter(|f| f.agent() == id.agent()) else {
            continue;
        };
        let delta = i64::from(id.seq()) - i64::from(from.seq());
        let len = uvar_len(tag) + uvar_len(zigzag(delta));
        if len < best_len {
            (best, best_len) = ((tag, Some(delta)), len);
        }
    }
    w.uvar(best.0);
    match best.1 {
        Some(delta) => w.svar(delta),
        None => w.uvar(u64::from(id.seq())),
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Bytes `v` takes as a uvar.
fn uvar_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads what [`write`] wrote with the same `base` and `guess`.
pub fn read(
    r: &mut Reader,
    base: LocalId,
    guess: Option<LocalId>,
    table_len: usize,
) -> Result<LocalId, DecodeError> {
    let delta = |r: &mut Reader, from: LocalId| -> Result<LocalId, DecodeError> {
        let seq = i64::from(from.seq()) + r.svar()?;
        let seq = u32::try_from(seq)
            .map_err(|_| DecodeError::InvalidValue("reference sequence number"))?;
        Ok(LocalId::new(from.agent(), seq))
    };
    let after_table = TABLE + table_len as u64;
    let no_guess = || DecodeError::InvalidValue("reference to a guess the section gives none for");
    let id = match r.uvar()? {
        NONE => return Ok(LocalId::NONE),
        BASE => base,
        BASE_DELTA => delta(r, base)?,
        tag if tag < after_table => LocalId::new((tag - TABLE) as u32, r.u32var()?),
        tag if tag == after_table + GUESS => guess.ok_or_else(no_guess)?,
        tag if tag == after_table + GUESS_DELTA => delta(r, guess.ok_or_else(no_guess)?)?,
        _ => return Err(DecodeError::InvalidValue("reference replica")),
    };
    if id.agent() as usize >= table_len || id.seq() >= MAX_SPAN_LEN {
        return Err(DecodeError::InvalidValue("reference"));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    #[test]
    fn uvar_len_is_what_a_uvar_takes() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut w = Writer::default();
            w.uvar(v);
            assert_eq!(uvar_len(v), w.buf.len(), "{v}");
        }
    }

    /// Any id, base and guess: what is written reads back, and never takes
    /// more than the table form.
    #[test]
    fn references_read_back_and_take_at_most_the_table_form() {
        let mut rng = Rng::new(7);
        let table_len = 130; // guesses' tags past one byte
        let id_of = |rng: &mut Rng| match rng.below(10) {
            0 => LocalId::NONE,
            _ => LocalId::new(
                rng.below(3) as u32 * 64,
                rng.below(MAX_SPAN_LEN as usize) as u32,
            ),
        };
        for _ in 0..20_000 {
            let id = id_of(&mut rng);
            let near = |rng: &mut Rng| match id.some() {
                Some(id) if rng.below(2) == 0 => {
                    LocalId::new(id.agent(), shifted(id.seq(), rng.below(300) as i64 - 150))
                }
                _ => LocalId::new(rng.below(3) as u32 * 64, rng.below(1000) as u32),
            };
            let base = near(&mut rng);
            let guess = (rng.below(3) > 0).then(|| near(&mut rng));
            let mut w = Writer::default();
            write(&mut w, id, base, guess, table_len);
            let mut table_form = Writer::default();
            table_form.uvar(TABLE + u64::from(id.agent()));
            table_form.uvar(u64::from(id.seq()));
            assert!(id.is_none() || w.buf.len() <= table_form.buf.len());
            let mut r = Reader::new(&w.buf);
            assert_eq!(read(&mut r, base, guess, table_len).unwrap(), id);
            r.finish().unwrap();
        }
    }

    #[test]
    fn a_guess_the_section_gives_none_for_is_refused() {
        for tag in [TABLE + 4 + GUESS, TABLE + 4 + GUESS_DELTA] {
            let mut w = Writer::default();
            w.uvar(tag);
            w.svar(1);
            let base = LocalId::new(0, 5);
            let err = read(&mut Reader::new(&w.buf), base, None, 4).unwrap_err();
            assert!(matches!(err, DecodeError::InvalidValue(_)), "{err:?}");
        }
        let mut w = Writer::default();
        w.uvar(TABLE + 4 + 2);
        let err = read(&mut Reader::new(&w.buf), LocalId::new(0, 5), None, 4).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidValue(_)), "{err:?}");
    }
}
