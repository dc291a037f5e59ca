//! Snapshots: the whole history (the operation log without text) plus the
//! document in order (spans in pages, and the visible text), so loading
//! builds the tree from it instead of replaying every operation, and
//! decodes the history and each page only when first needed (`lazy`).

use super::envelope::{self, Kind};
use super::ops::{self, OpsSection, TableEntry};
use super::pages;
use super::{Reader, Writer};
use crate::content::{ColdSpans, Leaf, Span, Tree, MAX_SPAN_LEN, NIL};
use crate::id::AgentTable;
use crate::lazy::EncodedHistory;
use crate::oplog::{renumber, OpLog};
use crate::unit::TextMetrics;
use crate::{DecodeError, Doc, Error, ReplicaId};

impl Doc {
    /// The full state and history as a compact binary snapshot.
    ///
    /// O(n) in the operation runs and spans.
    ///
    /// # Errors
    /// [`Error::Decode`] when this document was loaded from a snapshot whose
    /// history turns out invalid (see [`Doc::finish_loading`]).
    pub fn encode_snapshot(&self) -> Result<Vec<u8>, Error> {
        if let Some(hot) = self.thawed()? {
            return hot.encode_snapshot();
        }
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
        let mut text = String::with_capacity(self.len(crate::IndexUnit::Utf8));
        for l in &self.tree.leaves_in_order() {
            text.push_str(&self.tree.leaves[*l as usize].text);
        }
        pages::write(&mut w, &spans, &text, section.table.len());
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
        // needed (see `lazy`). Its replica table gives the counters.
        let history = r.rest();
        let table = ops::read_table(&mut r)?;
        ops::skip_runs(&mut r)?;
        let history = &history[..history.len() - r.remaining()];
        if table.iter().any(|e| e.first_seq != 0) {
            return Err(DecodeError::InvalidValue("snapshot history starts after 0").into());
        }
        // The spans stay encoded, page by page, until an edit needs them;
        // the text is read now, so reading never waits on a page.
        let directory = pages::read_directory(&mut r)?;
        let columns = directory
            .iter()
            .map(|&e| {
                let column = r.raw_column()?;
                pages::check_size(e, column)?;
                Ok(column)
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let text_c = r.column()?;
        r.finish()?;
        let mut text = std::str::from_utf8(text_c.bytes()).map_err(|_| DecodeError::InvalidUtf8)?;
        let items: u64 = directory.iter().map(|e| u64::from(e.items)).sum();
        if items > u64::from(MAX_SPAN_LEN) {
            return Err(Error::DocumentTooLarge);
        }
        let next_seq: Vec<u32> = table.iter().map(|e| e.count).collect();
        let mut leaves = Vec::with_capacity(directory.len());
        for (e, column) in directory.iter().zip(columns) {
            let page_text = text
                .get(..e.bytes as usize)
                .filter(|t| TextMetrics::of(t).chars == e.chars)
                .ok_or(DecodeError::InvalidValue("snapshot page text"))?;
            text = &text[page_text.len()..];
            let mut leaf = Leaf::new(NIL);
            leaf.text = page_text.to_owned();
            leaf.ascii = page_text.is_ascii();
            leaf.cold = Some(Box::new(ColdSpans {
                column: column.into(),
                spans: e.spans,
                items: e.items,
                chars: e.chars,
            }));
            leaves.push(leaf);
        }
        if !text.is_empty() {
            return Err(DecodeError::InvalidValue("snapshot text length").into());
        }
        let tree = Tree::from_leaves(leaves);
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
