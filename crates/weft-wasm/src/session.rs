//! `RawSession`: one side of one sync connection (`weft::sync::Session`),
//! frames as `Uint8Array`s. The TypeScript provider owns the transport.

use crate::doc::{patches_to_js, RawDoc};
use crate::error::to_js;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use weft::sync::{Session, SyncError, PROTOCOL_VERSION};
use weft::DecodeError;
use weft::IndexUnit::Utf16;

/// The sync state of one connection. The TypeScript provider wraps it.
#[wasm_bindgen]
pub struct RawSession(Session);

fn frames_to_js(frames: Vec<Vec<u8>>) -> Array {
    frames
        .into_iter()
        .map(|f| JsValue::from(Uint8Array::from(&f[..])))
        .collect()
}

fn sync_error(e: SyncError) -> JsValue {
    let (message, code) = match e {
        SyncError::Update(e) | SyncError::History(e) => return to_js(e),
        // Worth its own code: the fix is upgrading one side, not a bug.
        SyncError::Protocol(DecodeError::UnsupportedVersion(v)) => (
            format!("the peer speaks sync protocol version {v}, this version of Weft speaks {PROTOCOL_VERSION}"),
            "SYNC_VERSION",
        ),
        other => (other.to_string(), "SYNC_PROTOCOL"),
    };
    let err = js_sys::Error::new(&message);
    err.set_name("WeftError");
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

#[wasm_bindgen]
impl RawSession {
    /// A session for a new connection.
    #[wasm_bindgen(constructor)]
    pub fn new() -> RawSession {
        RawSession(Session::new())
    }

    /// Frames to send when the connection opens.
    pub fn start(&mut self, doc: &RawDoc) -> Array {
        frames_to_js(self.0.start(&doc.0))
    }

    /// Handles one frame: `{ frames, patches, presence }`, where `frames`
    /// go back to the peer, `patches` were merged into `doc`, and
    /// `presence` is the peer's new presence bytes, if any.
    pub fn receive(&mut self, doc: &mut RawDoc, frame: &[u8]) -> Result<Object, JsValue> {
        let received = self
            .0
            .receive(&mut doc.0, frame, Utf16)
            .map_err(sync_error)?;
        let out = Object::new();
        let _ = Reflect::set(&out, &"frames".into(), &frames_to_js(received.frames));
        let _ = Reflect::set(&out, &"patches".into(), &patches_to_js(received.patches));
        if let Some(p) = received.presence {
            let _ = Reflect::set(&out, &"presence".into(), &Uint8Array::from(&p[..]));
        }
        Ok(out)
    }

    /// Frames with whatever the peer may lack after `doc` changed.
    pub fn outgoing(&mut self, doc: &RawDoc) -> Array {
        frames_to_js(self.0.outgoing(&doc.0))
    }

    /// Frames carrying this side's presence state; `undefined` when the state
    /// is over the 64 KiB limit.
    pub fn presence(&self, state: &[u8]) -> Option<Array> {
        self.0.presence(state).map(frames_to_js)
    }

    /// Whether the handshake is done both ways.
    #[wasm_bindgen(getter)]
    pub fn synced(&self) -> bool {
        self.0.is_synced()
    }
}

impl Default for RawSession {
    fn default() -> Self {
        RawSession::new()
    }
}
