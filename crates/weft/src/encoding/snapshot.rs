//! Snapshots: the whole history (the operation log without text) plus the
//! document in order (spans and visible text), so loading builds the tree
//! directly instead of replaying every operation.

use super::envelope::{self, Kind};
use super::ops::{self, OpsSection, TableEntry};
use super::{Reader, Writer};
use crate::content::{Span, Tree, MAX_SPAN_LEN};
use crate::history::EncodedHistory;
use crate::id::AgentTable;
use crate::oplog::{renumber, OpLog};
use crate::{DecodeError, Doc, Error, ReplicaId};

impl Doc {
    /// The full state and history as a compact binary snapshot.
    ///
    /// O(n) in the operation runs and spans.
    ///
    /// # Errors
    /// [`Error::Decode`] when this document was loaded from a snapshot whose
    /// history turns out invalid (see [`Doc::load_history`]).
    pub fn encode_snapshot(&self) -> Result<Vec<u8>, Error> {
        let log = self.full_log()?;
        // Only replicas with operations are listed, in local order.
        let mut slot = vec![u32::MAX; self.agents.len()];
        let mut table = Vec::new();
        for (a, &count) in self.next_seq.iter().enumerate() {
            if count > 0 {
                slot[a] = table.len() as u32;
                table.push(TableEntry {
                    replica: self.agents.replica(a as u32),
                    first_seq: 0,
                    count,
                });
            }
        }
        let mut runs = log.runs.clone();
        for run in &mut runs {
            renumber(run, &mut |a| slot[a as usize]);
        }
        let section = OpsSection {
            table,
            texts: vec![None; runs.len()],
            runs,
        };
        let mut w = Writer::default();
        ops::write(&mut w, &section);
        // Maximal runs, whatever the leaf boundaries: snapshots are canonical.
        let mut spans: Vec<Span> = Vec::new();
        for (s, _) in self.tree.spans() {
            let s = Span::new(slot[s.agent as usize], s.seq, s.len(), s.deleted());
            match spans.last_mut() {
                Some(last) if last.can_append(&s) => last.set_len(last.len() + s.len()),
                _ => spans.push(s),
            }
        }
        w.uvar(spans.len() as u64);
        let mut agents = Writer::default();
        let mut i = 0;
        while i < spans.len() {
            let a = spans[i].agent;
            let n = spans[i..].iter().take_while(|s| s.agent == a).count();
            agents.uvar(u64::from(a));
            agents.uvar(n as u64);
            i += n;
        }
        let mut seqs = Writer::default();
        let mut lens = Writer::default();
        let mut last_end = vec![0u32; self.agents.len()];
        for s in &spans {
            seqs.svar(i64::from(s.seq) - i64::from(last_end[s.agent as usize]));
            last_end[s.agent as usize] = s.end_seq();
            lens.uvar((u64::from(s.len()) << 1) | u64::from(s.deleted()));
        }
        w.column(&agents.into_bytes());
        w.column(&seqs.into_bytes());
        w.column(&lens.into_bytes());
        let mut text = String::with_capacity(self.len(crate::IndexUnit::Utf8));
        for l in &self.tree.leaves_in_order() {
            text.push_str(&self.tree.leaves[*l as usize].text);
        }
        w.column(text.as_bytes());
        Ok(envelope::seal(Kind::Snapshot, &w.into_bytes()))
    }

    /// Loads a snapshot made by [`Doc::encode_snapshot`]; local edits are made
    /// as `replica` (continuing its counter if the snapshot has its edits).
    ///
    /// O(n).
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not a valid snapshot.
    pub fn from_snapshot(bytes: &[u8], replica: ReplicaId) -> Result<Doc, Error> {
        let (kind, r) = envelope::open(bytes)?;
        if kind != Kind::Snapshot {
            return Err(DecodeError::WrongKind(kind as u8).into());
        }
        Doc::decode_snapshot_body(r, replica)
    }

    pub(crate) fn decode_snapshot_body(
        mut r: Reader<'_>,
        replica: ReplicaId,
    ) -> Result<Doc, Error> {
        // The history is passed over: it is decoded and checked when first
        // needed (see `history`). Its replica table gives the counters.
        let history = r.rest();
        let table = ops::read_table(&mut r)?;
        ops::skip_runs(&mut r)?;
        let history = &history[..history.len() - r.remaining()];
        if table.iter().any(|e| e.first_seq != 0) {
            return Err(DecodeError::InvalidValue("snapshot history starts after 0").into());
        }
        let declared = r.uvar()?;
        let columns = [r.column()?, r.column()?, r.column()?];
        let [mut agents_col, mut seqs, mut lens] = columns.each_ref().map(|c| c.reader());
        // Checked against the inflated columns (a span takes at least a byte
        // in each), not the packed bytes: those may be far fewer.
        let max = seqs.remaining().min(lens.remaining()) as u64;
        if declared > max {
            return Err(DecodeError::LengthTooLarge { declared, max }.into());
        }
        let count = declared as usize;
        let text_c = r.column()?;
        r.finish()?;
        let text = std::str::from_utf8(text_c.bytes()).map_err(|_| DecodeError::InvalidUtf8)?;
        let n_agents = table.len();
        let next_seq: Vec<u32> = table.iter().map(|e| e.count).collect();
        let mut spans = Vec::with_capacity(count);
        let mut last_end = vec![0u32; n_agents];
        let mut visible = 0u64;
        let mut items = 0u64;
        while spans.len() < count {
            let a = agents_col.u32var()?;
            let repeat = agents_col.uvar()?;
            if a as usize >= n_agents || repeat == 0 || repeat > (count - spans.len()) as u64 {
                return Err(DecodeError::InvalidValue("span replica").into());
            }
            for _ in 0..repeat {
                let seq = i64::from(last_end[a as usize]) + seqs.svar()?;
                let ld = lens.uvar()?;
                let len = ld >> 1;
                if seq < 0
                    || len == 0
                    || len > u64::from(MAX_SPAN_LEN)
                    || seq as u64 + len > u64::from(next_seq[a as usize])
                {
                    return Err(DecodeError::InvalidValue("span").into());
                }
                let span = Span::new(a, seq as u32, len as u32, ld & 1 == 1);
                last_end[a as usize] = span.end_seq();
                visible += u64::from(span.visible());
                items += len;
                spans.push(span);
            }
        }
        agents_col.finish()?;
        seqs.finish()?;
        lens.finish()?;
        if items > u64::from(MAX_SPAN_LEN) {
            return Err(Error::DocumentTooLarge);
        }
        if crate::unit::TextMetrics::of(text).chars as u64 != visible {
            return Err(DecodeError::InvalidValue("snapshot text length").into());
        }
        let tree = Tree::build(&spans, text);
        let mut agents = AgentTable::default();
        for e in &table {
            agents.get_or_add(e.replica);
        }
        let encoded_history = Some(Box::new(EncodedHistory::new(history, next_seq.clone())));
        let mut doc = Doc {
            replica,
            me: 0,
            agents,
            next_seq,
            tree,
            oplog: OpLog::default(),
            encoded_history,
            pending: Vec::new(),
            discarded_ops: 0,
        };
        doc.me = doc.agent(replica);
        Ok(doc)
    }
}
