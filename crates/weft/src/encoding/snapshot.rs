//! Snapshots: the whole history (the operation log without text) plus the
//! document in order (spans in pages, and the visible text), so loading
//! builds the tree from it instead of replaying every operation, and
//! decodes the history and each page only when first needed (`lazy`).

use super::envelope::{self, Kind};
use super::ops::{self, OpsSection, TableEntry};
use super::page_text::{self, PageOut};
use super::pages::{self, PageEntry};
use super::{Reader, Writer};
use crate::authors;
use crate::content::{ColdSpans, Leaf, Span, Tree, MAX_SPAN_LEN};
use crate::deleted::DeletedText;
use crate::history::History;
use crate::oplog::renumber;
use crate::{DecodeError, Doc, Error, ReplicaId};

/// What a snapshot's elements may cost in bytes of its body: a history run
/// 4, a span 3, and 16 bytes of its text 1 (so a text deflated as far as
/// `INFLATE_RATIO` allows pays for elements with only half its bytes).
/// Decoded and merged, runs and spans cost about 200 bytes each at the
/// peak: with the text's copies, no snapshot of 1 MiB makes a document hold
/// more than 64 MiB (3 bytes a run would allow 70 MiB). Real documents take
/// about 2.6 bytes a run and 2.3 a span, their text besides: those with
/// deleted text need no padding, the densest about a tenth.
const RUN_COST: u64 = 4;
const SPAN_COST: u64 = 3;
const TEXT_PER_COST: u64 = 16;

/// Bytes that `runs` runs, `spans` spans and `text` bytes of text cost.
fn cost(runs: u64, spans: u64, text: u64) -> u64 {
    RUN_COST
        .saturating_mul(runs)
        .saturating_add(SPAN_COST.saturating_mul(spans))
        .saturating_add(text / TEXT_PER_COST)
}

/// Checks the declared runs, spans and text of a snapshot body of `body`
/// bytes against what its bytes may hold (see `RUN_COST`), before anything
/// is allocated for them.
fn check_budget(body: usize, runs: u64, spans: u64, text: u64) -> Result<(), DecodeError> {
    let (declared, max) = (cost(runs, spans, text), body as u64);
    if declared > max {
        return Err(DecodeError::LengthTooLarge { declared, max });
    }
    Ok(())
}

/// Bytes a body of `body` bytes lacks for its elements (0 when none).
fn shortfall(body: usize, runs: u64, spans: u64, text: u64) -> usize {
    let need = cost(runs, spans, text);
    need.saturating_sub(body as u64) as usize
}

impl Doc {
    /// The full state and history as a compact binary snapshot.
    ///
    /// O(n) in the operation runs and spans.
    ///
    /// A snapshot needs every item and the whole history: what loading
    /// deferred is decoded first, in place and once (see
    /// [`Doc::finish_loading`]); hence `&mut self`. Only the pages are, when
    /// nothing was applied since this document was loaded from a snapshot:
    /// its history is written as stored.
    ///
    /// # Errors
    /// [`Error::Decode`] when this document was loaded from a snapshot whose
    /// history turns out invalid; the document is unchanged then.
    pub fn encode_snapshot(&mut self) -> Result<Vec<u8>, Error> {
        if let Some(snapshot) = self.encode_unchanged_snapshot()? {
            return Ok(snapshot);
        }
        self.finish_loading()?;
        let log = self.full_log()?;
        // Only replicas with operations are listed, in local order.
        let mut slot = vec![u32::MAX; self.history.agent_count()];
        let mut table = Vec::new();
        for (a, &count) in self.history.counters().iter().enumerate() {
            if count > 0 {
                slot[a] = table.len() as u32;
                table.push(TableEntry {
                    replica: self.history.replica(a as u32),
                    first_seq: 0,
                    count,
                });
            }
        }
        let mut runs: Vec<_> = log.iter().collect();
        for run in &mut runs {
            renumber(run, &mut |a| slot[a as usize]);
        }
        let section = OpsSection {
            table,
            texts: vec![None; runs.len()],
            runs,
        };
        let mut history = Writer::default();
        let columns = ops::write_at_least(&mut history, &section, 0);
        // Maximal runs, whatever the leaf boundaries: snapshots are canonical.
        let mut spans: Vec<Span> = Vec::new();
        for (s, _) in self.tree.spans() {
            let s = Span::new(slot[s.agent as usize], s.seq, s.len(), s.deleted());
            match spans.last_mut() {
                Some(last) if last.can_append(&s) => last.set_len(last.len() + s.len()),
                _ => spans.push(s),
            }
        }
        let (document, spans_cost, text_cost) = self.encode_document(&spans, section.table.len());
        let history = history.into_bytes();
        // Padded only when the elements would cost more than the bytes
        // (see `RUN_COST`): the history's columns take what is lacking.
        let short = shortfall(
            history.len() + document.len(),
            section.runs.len() as u64,
            spans_cost,
            text_cost,
        );
        let history = if short == 0 {
            history
        } else {
            let mut w = Writer::default();
            ops::write_at_least(&mut w, &section, columns + short);
            w.into_bytes()
        };
        let mut body = history;
        body.extend_from_slice(&document);
        Ok(self.seal_with_authors(body, &section.table))
    }

    /// The snapshot of a document loaded from one, while nothing was
    /// applied since and its history is still encoded: that history as
    /// stored (decoding it would cost more memory than the rest of the
    /// document), then the document. `None` otherwise.
    fn encode_unchanged_snapshot(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.history.unchanged_section().is_none() {
            return Ok(None);
        }
        let (document, spans_cost, text_cost) = match self.encode_stored_document()? {
            Some(stored) => stored,
            None => {
                // The pages only (cheap): they are checked against the
                // snapshot's counters, not the history.
                self.thaw_all()?;
                // Agents are numbered as the snapshot's replica table.
                let mut spans: Vec<Span> = Vec::new();
                for (s, _) in self.tree.spans() {
                    match spans.last_mut() {
                        Some(last) if last.can_append(&s) => last.set_len(last.len() + s.len()),
                        _ => spans.push(s),
                    }
                }
                let replicas = self.history.unchanged_section().map_or(0, |(_, r)| r);
                self.encode_document(&spans, replicas)
            }
        };
        let Some((history, _)) = self.history.unchanged_section() else {
            return Ok(None);
        };
        // Its own padding already paid for its runs; should the document
        // need more, the full path pads.
        let (table, history_runs) = {
            let mut r = super::Reader::new(history);
            (ops::read_table(&mut r)?, ops::skip_runs(&mut r)?)
        };
        if shortfall(
            history.len() + document.len(),
            history_runs,
            spans_cost,
            text_cost,
        ) > 0
        {
            return Ok(None);
        }
        let mut body = history.to_vec();
        body.extend_from_slice(&document);
        Ok(Some(self.seal_with_authors(body, &table)))
    }

    /// The document part of a snapshot of a document none of whose pages
    /// was thawed, with its deleted text still encoded, as loaded: its
    /// directory, its pages' columns and texts as stored (each text was
    /// deflated with the first 32 KiB of the same text), and the deleted
    /// text as stored. Only texts loading inflated (within the dictionary,
    /// or of a snapshot with one text column) are deflated again. Encoding a
    /// 10 MB document adopted from a peer then copies it instead of
    /// inflating and deflating every page. `None` otherwise; as
    /// `encode_document` else.
    fn encode_stored_document(&self) -> Result<Option<(Vec<u8>, u64, u64)>, Error> {
        let Some(pages) = self.tree.stored_pages() else {
            return Ok(None);
        };
        if !self.deleted.is_encoded() {
            return Ok(None);
        }
        // Written as stored, yet checked as thawing and reading would
        // (only the deflating is spared) unless they were checked whole
        // when adopted: a snapshot with an invalid page fails to encode, as
        // it fails whatever else needs that page.
        let mut texts = Vec::with_capacity(pages.len());
        for &(leaf, page) in &pages {
            let text = match &page.text {
                Some(cold) if self.checked_whole => PageOut::Stored(cold),
                Some(cold) => {
                    cold.check()?;
                    PageOut::Stored(cold)
                }
                None => PageOut::Text(self.tree.leaf_text(leaf)?),
            };
            if !self.checked_whole {
                let entry = PageEntry {
                    spans: page.spans,
                    items: page.items,
                    chars: page.chars,
                    bytes: text.bytes() as u32,
                };
                pages::decode(&page.column, entry, self.history.snapshot_counters())?;
            }
            texts.push(text);
        }
        let mut w = Writer::default();
        let spans: u64 = pages.iter().map(|(_, p)| u64::from(p.spans)).sum();
        w.uvar(spans);
        w.uvar(pages.len() as u64);
        for ((_, page), text) in pages.iter().zip(&texts) {
            for v in [page.spans, page.items, page.chars, text.bytes() as u32] {
                w.uvar(u64::from(v));
            }
        }
        for (_, page) in &pages {
            w.bytes(&page.column);
        }
        let text_len = texts.iter().map(PageOut::bytes).sum::<usize>() as u64;
        page_text::write(&mut w, texts);
        self.deleted.write(&mut w, std::iter::empty(), "");
        Ok(Some((w.into_bytes(), spans, text_len)))
    }

    /// The snapshot of `body` (history and document), the authors of the
    /// replicas of its `table` last: apart from the budget, which they do
    /// not count towards (see `decode_snapshot_body`).
    fn seal_with_authors(&self, mut body: Vec<u8>, table: &[TableEntry]) -> Vec<u8> {
        let mut authors = Writer::default();
        self.authors.write(&mut authors, table);
        body.extend_from_slice(&authors.into_bytes());
        envelope::seal(Kind::Snapshot, &body)
    }

    /// The document part of a snapshot: `spans` (maximal, agents numbered
    /// as its replica table of `replicas` entries) in pages, the text, then
    /// the deleted text. Returns what its elements cost (see `cost`): spans
    /// and text.
    fn encode_document(&self, spans: &[Span], replicas: usize) -> (Vec<u8>, u64, u64) {
        let mut text = String::with_capacity(self.len(crate::IndexUnit::Utf8));
        // Every page was thawed, its text read and checked.
        self.tree
            .chunks()
            .for_each(|chunk| text.push_str(chunk.unwrap_or_default()));
        let mut document = Writer::default();
        let page_bytes = pages::write(&mut document, spans, &text, replicas);
        let mut at = 0;
        page_text::write(
            &mut document,
            page_bytes.iter().map(|&n| {
                at += n;
                PageOut::Text(&text[at - n..at])
            }),
        );
        self.deleted.write(&mut document, self.tree.spans(), &text);
        (document.into_bytes(), spans.len() as u64, text.len() as u64)
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
        let body = r.remaining();
        let history = r.rest();
        let table = ops::read_table(&mut r)?;
        let runs = ops::skip_runs(&mut r)?;
        let history = &history[..history.len() - r.remaining()];
        if table.iter().any(|e| e.first_seq != 0) {
            return Err(DecodeError::InvalidValue("snapshot history starts after 0").into());
        }
        // The spans stay encoded, page by page, until an edit needs them;
        // the text is read now, so reading never waits on a page.
        let directory = pages::read_directory(&mut r)?;
        // The elements against the bytes, before any is decoded (the text
        // is checked to be as long as the directory says below).
        let spans = directory.iter().map(|e| u64::from(e.spans)).sum();
        let text_len = directory.iter().map(|e| u64::from(e.bytes)).sum();
        let columns = directory
            .iter()
            .map(|_| r.raw_column())
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let text = page_text::read_stored(&mut r, &directory)?;
        // Absent from snapshots written before they existed.
        let deleted = DeletedText::read_section(&mut r)?;
        let before_authors = r.remaining();
        let authors = authors::read_section(&mut r, &table)?;
        r.finish()?;
        // The authors' bytes pay for themselves (a claim per table entry at
        // most), not for runs or spans.
        check_budget(body - before_authors, runs, spans, text_len)?;
        let items: u64 = directory.iter().map(|e| u64::from(e.items)).sum();
        if items > u64::from(MAX_SPAN_LEN) {
            return Err(Error::DocumentTooLarge);
        }
        let (texts, dict) = text.open(&directory)?;
        let deleted = deleted.map(|d| DeletedText::from_snapshot(d, dict));
        let mut leaves = Vec::with_capacity(directory.len());
        for ((e, column), (text, deflated)) in directory.iter().zip(columns).zip(texts) {
            let spans = ColdSpans {
                column: column.into(),
                spans: e.spans,
                items: e.items,
                chars: e.chars,
                text: deflated,
            };
            leaves.push(Leaf::cold_page(text, spans));
        }
        let replicas: Vec<_> = table.iter().map(|e| (e.replica, e.count)).collect();
        let mut doc = Doc::from_parts(
            replica,
            History::from_snapshot(&replicas, history),
            Tree::from_leaves(leaves),
        );
        if let Some(mut deleted) = deleted {
            deleted.set_ends(doc.history.snapshot_counters());
            doc.deleted = deleted;
        }
        doc.authors.claim_all(authors);
        Ok(doc)
    }
}
