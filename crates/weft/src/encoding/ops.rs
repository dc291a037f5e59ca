//! The operations section shared by updates and snapshots: a replica table
//! and run-length columns of operation runs (see `docs/format.md`).

use super::{Reader, Writer};
use crate::content::MAX_SPAN_LEN;
use crate::id::LocalId;
use crate::oplog::{OpKind, OpRun};
use crate::remote::target_range;
use crate::{DecodeError, ReplicaId};

const INSERT_TEXT: u64 = 0;
const INSERT_NO_TEXT: u64 = 1;
const DELETE_FORWARD: u64 = 2;
const DELETE_REVERSED: u64 = 3;

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

pub fn write(w: &mut Writer, s: &OpsSection) {
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
    let mut refs = Writer::default();
    let mut text = String::new();
    for (run, t) in s.runs.iter().zip(&s.texts) {
        let kind = match run.kind() {
            OpKind::Insert { left, right } => {
                write_ref(&mut refs, run, left);
                write_ref(&mut refs, run, right);
                if let Some(t) = t {
                    text.push_str(t);
                    INSERT_TEXT
                } else {
                    INSERT_NO_TEXT
                }
            }
            OpKind::Delete { target, reversed } => {
                write_ref(&mut refs, run, target);
                if reversed && run.len > 1 {
                    DELETE_REVERSED
                } else {
                    DELETE_FORWARD
                }
            }
        };
        lens.uvar((u64::from(run.len) << 2) | kind);
    }
    w.block(&agents.into_bytes());
    w.block(&lens.into_bytes());
    w.block(&refs.into_bytes());
    w.block(text.as_bytes());
}

/// A reference to an item: 0 for none; 1 and a backwards distance for an item
/// of the run's own replica; 2 + table index and a sequence number otherwise.
fn write_ref(w: &mut Writer, run: &OpRun, id: LocalId) {
    if id.is_none() {
        w.uvar(0);
    } else if id.agent() == run.agent && id.seq() < run.seq {
        w.uvar(1);
        w.uvar(u64::from(run.seq - id.seq()));
    } else {
        w.uvar(2 + u64::from(id.agent()));
        w.uvar(u64::from(id.seq()));
    }
}

fn read_ref(
    r: &mut Reader,
    agent: u32,
    seq: u32,
    table_len: usize,
) -> Result<LocalId, DecodeError> {
    match r.uvar()? {
        0 => Ok(LocalId::NONE),
        1 => {
            let back = r.u32var()?;
            if back == 0 || back > seq {
                return Err(DecodeError::InvalidValue("reference distance"));
            }
            Ok(LocalId::new(agent, seq - back))
        }
        tag => {
            let a = tag - 2;
            if a >= table_len as u64 {
                return Err(DecodeError::InvalidValue("reference replica"));
            }
            let s = r.u32var()?;
            if s >= MAX_SPAN_LEN {
                return Err(DecodeError::InvalidValue("reference sequence number"));
            }
            Ok(LocalId::new(a as u32, s))
        }
    }
}

pub fn read(r: &mut Reader) -> Result<OpsSection, DecodeError> {
    let n = r.len_prefix(10)?;
    let mut table = Vec::with_capacity(n);
    for _ in 0..n {
        let replica = r.u64_le()?;
        let first_seq = r.u32var()?;
        let count = r.u32var()?;
        if u64::from(first_seq) + u64::from(count) > u64::from(MAX_SPAN_LEN) {
            return Err(DecodeError::InvalidValue("replica operation count"));
        }
        if table.iter().any(|e: &TableEntry| e.replica == replica) {
            return Err(DecodeError::InvalidValue("replica listed twice"));
        }
        table.push(TableEntry {
            replica,
            first_seq,
            count,
        });
    }
    let declared_runs = r.uvar()?;
    let mut agents = r.block()?;
    let mut lens = r.block()?;
    let mut refs = r.block()?;
    let mut text = r.block()?;
    let text =
        std::str::from_utf8(text.take(text.remaining())?).map_err(|_| DecodeError::InvalidUtf8)?;
    if declared_runs > lens.remaining() as u64 {
        return Err(DecodeError::LengthTooLarge {
            declared: declared_runs,
            max: lens.remaining() as u64,
        });
    }
    let run_count = declared_runs as usize;
    let mut next: Vec<u32> = table.iter().map(|e| e.first_seq).collect();
    let mut runs = Vec::with_capacity(run_count);
    let mut texts = Vec::with_capacity(run_count);
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
            let mut run = OpRun::new(
                a,
                seq,
                len,
                OpKind::Delete {
                    target: LocalId::NONE,
                    reversed: false,
                },
            );
            let mut t = None;
            match lk & 3 {
                INSERT_TEXT | INSERT_NO_TEXT => {
                    let left = read_ref(&mut refs, a, seq, table.len())?;
                    let right = read_ref(&mut refs, a, seq, table.len())?;
                    run.set_kind(OpKind::Insert { left, right });
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
                }
                kind => {
                    let target = read_ref(&mut refs, a, seq, table.len())?;
                    if target.is_none() {
                        return Err(DecodeError::InvalidValue("delete target"));
                    }
                    let reversed = kind == DELETE_REVERSED;
                    if target_range(target.seq(), reversed, len)
                        .is_none_or(|(_, hi)| hi > MAX_SPAN_LEN)
                    {
                        return Err(DecodeError::InvalidValue("delete target range"));
                    }
                    run.set_kind(OpKind::Delete { target, reversed });
                }
            }
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
    agents.finish()?;
    lens.finish()?;
    refs.finish()?;
    Ok(OpsSection { table, runs, texts })
}
