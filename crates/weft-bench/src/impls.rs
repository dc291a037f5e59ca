//! The implementations measured: Weft, yrs (the reference CRDT) and two plain
//! ropes (the floor), each behind the trace replay interface.

use weft_traces::{Patch, ReplayDoc};
use yrs::updates::decoder::Decode;
use yrs::{GetString, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef, Transact, Update};

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
/// converts through a shadow string, and says so).
pub struct YrsDoc {
    pub doc: yrs::Doc,
    pub text: TextRef,
}

impl YrsDoc {
    /// An empty yrs document with the given client id.
    pub fn new(client: u64) -> Self {
        let doc = yrs::Doc::with_options(Options {
            client_id: yrs::block::ClientID::new(client),
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("text");
        YrsDoc { doc, text }
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

    /// Loads a v2 update into a fresh document.
    pub fn load_v2(bytes: &[u8]) -> Self {
        let d = YrsDoc::new(77);
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
}

impl ReplayDoc for YrsDoc {
    type Mark = StateVector;
    type Update = Vec<u8>;
    fn new_replica(agent: usize) -> Self {
        YrsDoc::new(1 + agent as u64)
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
