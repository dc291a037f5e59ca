//! The implementations measured: Weft, yrs (the reference CRDT) and two plain
//! ropes (the floor), each behind the trace replay interface (diamond-types,
//! replayed its own way, is in `diamond`).

use weft_traces::{Patch, ReplayDoc};
use yrs::types::text::YChange;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, GetString, IdSet, OffsetKind, Options, Out, ReadTxn, Snapshot, StateVector, Text, TextRef,
    Transact, Update,
};

/// Weft, positions in code points as the traces give them.
pub struct WeftDoc(pub weft::Doc);

impl ReplayDoc for WeftDoc {
    type Mark = weft::Version;
    type Update = Vec<u8>;
    fn new_replica(agent: usize) -> Self {
        WeftDoc(weft::Doc::new(0x5eed_0000 + agent as u64))
    }
    fn apply_patch(&mut self, p: &Patch) {
        use weft::IndexUnit::CodePoint;
        if p.del > 0 {
            self.0
                .delete(p.pos, p.del, CodePoint)
                .expect("patch in range");
        }
        if !p.ins.is_empty() {
            self.0
                .insert(p.pos, &p.ins, CodePoint)
                .expect("patch in range");
        }
    }
    fn mark(&self) -> weft::Version {
        self.0.version()
    }
    fn update_since(&mut self, mark: &weft::Version) -> Vec<u8> {
        self.0
            .encode_update(mark)
            .expect("a document built by replay")
    }
    fn apply_update(&mut self, u: &Vec<u8>) {
        self.0
            .apply_update(u, weft::IndexUnit::CodePoint)
            .expect("valid update");
    }
    fn text(&self) -> String {
        self.0.to_string()
    }
}

/// yrs with UTF-16 offsets; trace positions are code points, equal to UTF-16
/// offsets unless the trace has astral characters (then the benchmark
/// converts through a shadow string, and says so). `SKIP_GC` turns yrs's
/// garbage collection off, so deleted text stays (see [`YrsKeepDoc`]).
pub struct Yrs<const SKIP_GC: bool> {
    pub doc: yrs::Doc,
    pub text: TextRef,
}

/// yrs as it comes (and as y-websocket and Hocuspocus run it): deleted
/// text is collected.
pub type YrsDoc = Yrs<false>;

/// yrs with `skip_gc`: its updates keep the text of deleted characters, as
/// Weft's snapshots do, so their sizes compare like with like.
pub type YrsKeepDoc = Yrs<true>;

impl<const SKIP_GC: bool> Yrs<SKIP_GC> {
    /// An empty yrs document with the given client id.
    pub fn new(client: u64) -> Self {
        let doc = yrs::Doc::with_options(Options {
            client_id: yrs::block::ClientID::new(client),
            offset_kind: OffsetKind::Utf16,
            skip_gc: SKIP_GC,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("text");
        Yrs { doc, text }
    }

    /// Applies one trace transaction as one yrs transaction.
    pub fn apply_txn(&mut self, patches: &[Patch]) {
        let mut txn = self.doc.transact_mut();
        for p in patches {
            if p.del > 0 {
                self.text.remove_range(&mut txn, p.pos as u32, p.del as u32);
            }
            if !p.ins.is_empty() {
                self.text.insert(&mut txn, p.pos as u32, &p.ins);
            }
        }
    }

    /// The whole state as a v2 update.
    pub fn encode_v2(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v2(&StateVector::default())
    }

    /// Loads a v2 update into a fresh document (of the same GC setting: a
    /// collecting one would drop the deleted text on load).
    pub fn load_v2(bytes: &[u8]) -> Self {
        let d = Self::new(77);
        d.doc
            .transact_mut()
            .apply_update(Update::decode_v2(bytes).expect("valid"))
            .expect("applies");
        d
    }

    /// Length of the text.
    pub fn text_len(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }

    /// Every character ever inserted, deleted or not, in document order:
    /// the text at a snapshot of the whole state with nothing deleted. Only
    /// a document that kept its deleted text has all of it.
    pub fn text_ever_inserted(&self) -> String {
        let mut txn = self.doc.transact_mut();
        let all = Snapshot::new(txn.state_vector(), IdSet::new());
        let mut text = String::new();
        for d in self
            .text
            .diff_range(&mut txn, Some(&all), None, YChange::identity)
        {
            if let Out::Any(Any::String(s)) = d.insert {
                text.push_str(&s);
            }
        }
        text
    }
}

impl<const SKIP_GC: bool> ReplayDoc for Yrs<SKIP_GC> {
    type Mark = StateVector;
    type Update = Vec<u8>;
    fn new_replica(agent: usize) -> Self {
        Self::new(1 + agent as u64)
    }
    fn apply_patch(&mut self, p: &Patch) {
        self.apply_txn(std::slice::from_ref(p));
    }
    fn mark(&self) -> StateVector {
        self.doc.transact().state_vector()
    }
    fn update_since(&mut self, mark: &StateVector) -> Vec<u8> {
        self.doc.transact().encode_diff_v1(mark)
    }
    fn apply_update(&mut self, u: &Vec<u8>) {
        self.doc
            .transact_mut()
            .apply_update(Update::decode_v1(u).expect("valid"))
            .expect("applies");
    }
    fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}
