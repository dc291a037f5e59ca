//! The operations section shared by updates and snapshots: a replica table
//! and run-length columns of operation runs (see `docs/format.md`).

use super::refs::{self, Cursors};
use super::{columns_of_at_least, Reader, Writer};
use crate::content::MAX_SPAN_LEN;
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::remote::target_range;
use crate::{DecodeError, ReplicaId};

const INSERT_TEXT: u64 = 0;
const INSERT_NO_TEXT: u64 = 1;
const DELETE_FORWARD: u64 = 2;
const DELETE_REVERSED: u64 = 3;

/// In an update, the run count is at most the bytes the six columns take
/// (tags included) divided by this, whatever they inflate to: per-run
/// structures (decoded, validated and merged, about 200 bytes a run at the
/// peak) cannot outgrow the input. Writers pad a column of a section that
/// would take fewer. (A snapshot's history is bounded with its pages and
/// text instead: see `snapshot::check_budget`.)
pub const RUN_BYTES: usize = 4;

/// One replica of the table: its id, the sequence number of its first
/// operation in the section, and how many of its operations follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableEntry {
    pub replica: ReplicaId,
    pub first_seq: u32,
    pub count: u32,
}

/// Operation runs whose agent numbers index `table`, with the text of each
/// insert run that carries text.
#[derive(Debug, Clone, Default)]
pub struct OpsSection {
    pub table: Vec<TableEntry>,
    pub runs: Vec<OpRun>,
    /// Per run: the inserted text, or `None` (deletes, inserts without text).
    pub texts: Vec<Option<String>>,
}

/// Writes an update's section: its columns padded to `RUN_BYTES` a run.
pub fn write(w: &mut Writer, s: &OpsSection) {
    write_at_least(w, s, RUN_BYTES * s.runs.len());
}

/// Writes a section whose six columns take at least `min` bytes between
/// them (padded when they would take fewer); returns the bytes they take.
pub fn write_at_least(w: &mut Writer, s: &OpsSection, min: usize) -> usize {
    w.uvar(s.table.len() as u64);
    for e in &s.table {
        w.u64_le(e.replica);
        w.uvar(u64::from(e.first_seq));
        w.uvar(u64::from(e.count));
    }
    w.uvar(s.runs.len() as u64);
    let mut agents = Writer::default();
    let mut i = 0;
    while i < s.runs.len() {
        let a = s.runs[i].agent;
        let n = s.runs[i..].iter().take_while(|r| r.agent == a).count();
        agents.uvar(u64::from(a));
        agents.uvar(n as u64);
        i += n;
    }
    let mut lens = Writer::default();
    let mut lefts = Writer::default();
    let mut rights = Writer::default();
    let mut targets = Writer::default();
    let mut text = String::new();
    let mut cursors = Cursors::default();
    let replicas = s.table.len();
    for (run, t) in s.runs.iter().zip(&s.texts) {
        let previous = LocalId::new(run.agent, run.seq.wrapping_sub(1));
        let kind = match run.kind() {
            OpKind::Insert { left, right } => {
                let guess = cursors.left(run.agent);
                refs::write(&mut lefts, left, previous, guess, replicas);
                let guess = cursors.right(run.agent);
                refs::write(&mut rights, right, right_base(left, run), guess, replicas);
                if let Some(t) = t {
                    text.push_str(t);
                    INSERT_TEXT
                } else {
                    INSERT_NO_TEXT
                }
            }
            OpKind::Delete { target, reversed } => {
                let guess = cursors.target(run.agent);
                refs::write(&mut targets, target, previous, guess, replicas);
                if reversed && run.len > 1 {
                    DELETE_REVERSED
                } else {
                    DELETE_FORWARD
                }
            }
        };
        lens.uvar((u64::from(run.len) << 2) | kind);
        cursors.advance(run);
    }
    let columns = [agents, lens, lefts, rights, targets].map(Writer::into_bytes);
    let raw = [
        &columns[0][..],
        &columns[1],
        &columns[2],
        &columns[3],
        &columns[4],
        text.as_bytes(),
    ];
    let mut taken = 0;
    for column in columns_of_at_least(&raw, min) {
        w.bytes(&column);
        taken += column.len();
    }
    taken
}

/// The id a right origin is most often: the item after the left origin
/// (both were typed together), or the run's own first id at the start.
fn right_base(left: LocalId, run: &OpRun) -> LocalId {
    match left.some() {
        Some(l) => LocalId::new(l.agent(), l.seq().wrapping_add(1)),
        None => LocalId::new(run.agent, run.seq),
    }
}

/// An update's section: its run count checked against its columns as
/// stored (`RUN_BYTES`) before anything is inflated.
pub fn read(r: &mut Reader) -> Result<OpsSection, DecodeError> {
    let table = read_table(r)?;
    read_runs(r, table, true)
}

/// A snapshot's history, whose run count was checked when the snapshot was
/// loaded (with its spans and text, `snapshot::check_budget`), not against
/// its own columns.
pub fn read_history(r: &mut Reader) -> Result<OpsSection, DecodeError> {
    let table = read_table(r)?;
    read_runs(r, table, false)
}

/// Passes over the runs after the table (the rest of a section) without
/// inflating or checking their columns, and returns their declared count:
/// a snapshot's history is decoded when first needed.
pub fn skip_runs(r: &mut Reader) -> Result<u64, DecodeError> {
    let runs = r.uvar()?;
    for _ in 0..6 {
        r.skip_column()?;
    }
    Ok(runs)
}

/// The replica table that starts a section.
pub fn read_table(r: &mut Reader) -> Result<Vec<TableEntry>, DecodeError> {
    let n = r.len_prefix(10)?;
    let mut table = Vec::with_capacity(n);
    for _ in 0..n {
        let replica = r.u64_le()?;
        let first_seq = r.u32var()?;
        let count = r.u32var()?;
        if u64::from(first_seq) + u64::from(count) > u64::from(MAX_SPAN_LEN) {
            return Err(DecodeError::InvalidValue("replica operation count"));
        }
        table.push(TableEntry {
            replica,
            first_seq,
            count,
        });
    }
    // Sorted, not compared pairwise: a table of many replicas costs
    // O(n log n).
    let mut ids: Vec<ReplicaId> = table.iter().map(|e| e.replica).collect();
    crate::radix::sort_by_u64_key(&mut ids, |&r| r);
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(DecodeError::InvalidValue("replica listed twice"));
    }
    Ok(table)
}

/// The runs that follow `table` in a section; with `bounded`, their count
/// is checked against the columns as stored (`RUN_BYTES`) first.
fn read_runs(
    r: &mut Reader,
    table: Vec<TableEntry>,
    bounded: bool,
) -> Result<OpsSection, DecodeError> {
    let declared_runs = r.uvar()?;
    if bounded {
        // Checked before inflating anything.
        let mut ahead = r.clone();
        for _ in 0..6 {
            ahead.skip_column()?;
        }
        let max_runs = ((r.remaining() - ahead.remaining()) / RUN_BYTES) as u64;
        if declared_runs > max_runs {
            return Err(DecodeError::LengthTooLarge {
                declared: declared_runs,
                max: max_runs,
            });
        }
    }
    let columns = [
        r.column()?,
        r.column()?,
        r.column()?,
        r.column()?,
        r.column()?,
    ];
    let [mut agents, mut lens, mut lefts, mut rights, mut targets] =
        columns.each_ref().map(|c| c.reader());
    let text = r.column()?;
    let text = std::str::from_utf8(text.bytes()).map_err(|_| DecodeError::InvalidUtf8)?;
    if declared_runs > lens.remaining() as u64 {
        return Err(DecodeError::LengthTooLarge {
            declared: declared_runs,
            max: lens.remaining() as u64,
        });
    }
    let run_count = declared_runs as usize;
    let mut next: Vec<u32> = table.iter().map(|e| e.first_seq).collect();
    let mut cursors = Cursors::default();
    // Grown as runs decode: the count is bounded by the bytes stored, not
    // yet by what they hold.
    let mut runs = Vec::with_capacity(run_count.min(1024));
    let mut texts = Vec::with_capacity(run_count.min(1024));
    let mut rest = text;
    while runs.len() < run_count {
        let a = agents.u32var()?;
        let repeat = agents.uvar()?;
        if a as usize >= table.len() {
            return Err(DecodeError::InvalidValue("run replica"));
        }
        if repeat == 0 || repeat > (run_count - runs.len()) as u64 {
            return Err(DecodeError::InvalidValue("run replica repeat"));
        }
        for _ in 0..repeat {
            let lk = lens.uvar()?;
            let len =
                u32::try_from(lk >> 2).map_err(|_| DecodeError::InvalidValue("run length"))?;
            if len == 0 || len > MAX_SPAN_LEN {
                return Err(DecodeError::InvalidValue("run length"));
            }
            let seq = next[a as usize];
            let end = seq
                .checked_add(len)
                .filter(|&e| e <= table[a as usize].first_seq + table[a as usize].count);
            next[a as usize] =
                end.ok_or(DecodeError::InvalidValue("run exceeds its replica's count"))?;
            let previous = LocalId::new(a, seq.wrapping_sub(1));
            let mut t = None;
            let kind = match lk & 3 {
                INSERT_TEXT | INSERT_NO_TEXT => {
                    let guess = cursors.left(a);
                    let left = refs::read(&mut lefts, previous, guess, table.len())?;
                    let probe = OpRun::new(
                        a,
                        seq,
                        len,
                        OpKind::Insert {
                            left,
                            right: LocalId::NONE,
                        },
                    );
                    let base = right_base(left, &probe);
                    let right = refs::read(&mut rights, base, cursors.right(a), table.len())?;
                    if lk & 3 == INSERT_TEXT {
                        let bytes = crate::unit::char_to_byte(rest, len as usize);
                        let (head, tail) = rest.split_at(bytes);
                        if crate::unit::TextMetrics::of(head).chars != len {
                            return Err(DecodeError::InvalidValue(
                                "insert text shorter than its run",
                            ));
                        }
                        t = Some(head.to_owned());
                        rest = tail;
                    }
                    OpKind::Insert { left, right }
                }
                kind => {
                    let guess = cursors.target(a);
                    let target = refs::read(&mut targets, previous, guess, table.len())?;
                    if target.is_none() {
                        return Err(DecodeError::InvalidValue("delete target"));
                    }
                    let reversed = kind == DELETE_REVERSED;
                    if target_range(target.seq(), reversed, len)
                        .is_none_or(|(_, hi)| hi > MAX_SPAN_LEN)
                    {
                        return Err(DecodeError::InvalidValue("delete target range"));
                    }
                    OpKind::Delete { target, reversed }
                }
            };
            let run = OpRun::new(a, seq, len, kind);
            cursors.advance(&run);
            runs.push(run);
            texts.push(t);
        }
    }
    if next
        .iter()
        .zip(&table)
        .any(|(&n, e)| n != e.first_seq + e.count)
    {
        return Err(DecodeError::InvalidValue("replica operation count"));
    }
    if !rest.is_empty() {
        return Err(DecodeError::InvalidValue("unused text"));
    }
    for column in [agents, lens, lefts, rights, targets] {
        column.finish()?;
    }
    Ok(OpsSection { table, runs, texts })
}
