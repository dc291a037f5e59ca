//! `RawSealedClient`: a client's side of an encrypted room kept on the
//! server (`weft::sync::SealedClient`). The TypeScript side seals and opens
//! the bodies with the room key and owns the socket.

use crate::doc::RawDoc;
use crate::error::to_js;
use crate::session::{frames_to_js, sync_error, BUDGET};
use crate::values;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use weft::sync::{SealedClient, SealedEvent};
use weft::IndexUnit::Utf16;

/// One encrypted room on one server, kept across reconnections.
#[wasm_bindgen]
pub struct RawSealedClient(SealedClient);

fn event(kind: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"kind".into(), &kind.into());
    for (name, value) in fields {
        let _ = Reflect::set(&o, &(*name).into(), value);
    }
    o.into()
}

#[wasm_bindgen]
impl RawSealedClient {
    /// A client that has nothing of the room yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> RawSealedClient {
        RawSealedClient(SealedClient::new(&BUDGET))
    }

    /// Frames opening the room on a new connection.
    pub fn open(&mut self) -> Array {
        frames_to_js(self.0.open())
    }

    /// Handles a frame: `undefined`, or `{ kind: "sealed", seq, body }`
    /// (open `body`, then `merge` it), `{ kind: "caughtUp" }`,
    /// `{ kind: "stored", version }` or `{ kind: "compacted" }`.
    #[wasm_bindgen(unchecked_return_type = "RawSealedEvent | undefined")]
    pub fn receive(&mut self, frame: &[u8]) -> Result<JsValue, JsValue> {
        let Some(e) = self.0.receive(frame).map_err(sync_error)? else {
            return Ok(JsValue::UNDEFINED);
        };
        Ok(match e {
            SealedEvent::Sealed { seq, body } => event(
                "sealed",
                &[
                    ("seq", JsValue::from(seq)),
                    ("body", Uint8Array::from(&body[..]).into()),
                ],
            ),
            SealedEvent::CaughtUp => event("caughtUp", &[]),
            SealedEvent::Stored(v) => event(
                "stored",
                &[("version", Uint8Array::from(&v.encode()[..]).into())],
            ),
            SealedEvent::Compacted => event("compacted", &[]),
        })
    }

    /// Merges the opened body of event `seq` into `doc`; returns the changes.
    #[wasm_bindgen(unchecked_return_type = "RawPatch[]")]
    pub fn merge(&mut self, doc: &mut RawDoc, seq: u64, update: &[u8]) -> Result<JsValue, JsValue> {
        self.0
            .merge(&mut doc.0, seq, update, Utf16)
            .map(values::patches)
            .map_err(to_js)
    }

    /// The update the server lacks (to seal, then `append`), or `undefined`.
    pub fn outgoing(&mut self, doc: &mut RawDoc) -> Result<Option<Vec<u8>>, JsValue> {
        self.0.outgoing(&mut doc.0).map_err(to_js)
    }

    /// Frames uploading a sealed update.
    pub fn append(&mut self, sealed: Vec<u8>) -> Array {
        frames_to_js(self.0.append(sealed))
    }

    /// Whether to upload a checkpoint now.
    #[wasm_bindgen(getter, js_name = wantsCheckpoint)]
    pub fn wants_checkpoint(&self) -> bool {
        self.0.wants_checkpoint()
    }

    /// Frames uploading a sealed snapshot taken now.
    pub fn compact(&mut self, sealed: Vec<u8>) -> Array {
        frames_to_js(self.0.compact(sealed))
    }

    /// What the server has stored (an encoded version).
    #[wasm_bindgen(getter)]
    pub fn stored(&self) -> Vec<u8> {
        self.0.stored().encode()
    }

    /// Whether everything stored arrived on this connection.
    #[wasm_bindgen(getter, js_name = caughtUp)]
    pub fn caught_up(&self) -> bool {
        self.0.is_caught_up()
    }
}

impl Default for RawSealedClient {
    fn default() -> Self {
        RawSealedClient::new()
    }
}
