//! `RawSession`: one side of one sync connection (`weft::sync::Session`),
//! frames as `Uint8Array`s. The TypeScript provider owns the transport.

use crate::doc::RawDoc;
use crate::error::to_js;
use crate::values;
use js_sys::{Array, Reflect, Uint8Array};
use std::sync::LazyLock;
use wasm_bindgen::prelude::*;
use weft::sync::{Budget, Received, Session, SyncError, PROTOCOL_VERSION};
use weft::IndexUnit::Utf16;
use weft::{DecodeError, Version};

/// The sync state of one connection. The TypeScript provider wraps it.
#[wasm_bindgen]
pub struct RawSession(Session);

/// What the sessions of this wasm instance may buffer between them while
/// messages arrive (128 MiB): they share its memory, whatever document each
/// syncs, so one budget for all keeps unfinished messages on many
/// connections from exhausting it.
pub(crate) static BUDGET: LazyLock<Budget> = LazyLock::new(Budget::default);

pub(crate) fn frames_to_js(frames: Vec<Vec<u8>>) -> Array {
    frames
        .into_iter()
        .map(|f| JsValue::from(Uint8Array::from(&f[..])))
        .collect()
}

pub(crate) fn sync_error(e: SyncError) -> JsValue {
    let (message, code) = match e {
        SyncError::Update(e) | SyncError::History(e) => return to_js(e),
        // Worth its own code: the fix is upgrading one side, not a bug.
        SyncError::Protocol(DecodeError::UnsupportedVersion(v)) => (
            format!("the peer speaks sync protocol version {v}, this version of Weft speaks {PROTOCOL_VERSION}"),
            "SYNC_VERSION",
        ),
        // Not the peer's fault: other connections are receiving meanwhile.
        e @ SyncError::OverBudget { .. } => (e.to_string(), "SYNC_BUSY"),
        e @ SyncError::ReadOnly => (e.to_string(), "PEER_READ_ONLY"),
        other => (other.to_string(), "SYNC_PROTOCOL"),
    };
    let err = js_sys::Error::new(&message);
    err.set_name("WeftError");
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

#[wasm_bindgen]
impl RawSession {
    /// A session for a new connection: messages up to 64 MiB, buffered
    /// against the instance's budget.
    #[wasm_bindgen(constructor)]
    pub fn new() -> RawSession {
        RawSession(Session::new().with_budget(&BUDGET))
    }

    /// From now on this side may only read (its role in the room): it
    /// sends none of its operations.
    #[wasm_bindgen(js_name = readsOnly)]
    pub fn reads_only(&mut self) {
        self.0 = std::mem::take(&mut self.0).reads_only();
    }

    /// From now on the peer may only read: an update from it holding any
    /// operation is refused (`PEER_READ_ONLY`) before anything is merged.
    #[wasm_bindgen(js_name = peerReadsOnly)]
    pub fn peer_reads_only(&mut self) {
        self.0 = std::mem::take(&mut self.0).peer_reads_only();
    }

    /// From now on, snapshots of at least `from_bytes` bytes that `doc`
    /// would adopt whole come back from `receive` unapplied (`toCheck`),
    /// for a Worker to check (`checkSnapshot`) and `adoptChecked` to adopt;
    /// no other frame may be given to `receive` meanwhile.
    #[wasm_bindgen(js_name = checkSnapshotsElsewhere)]
    pub fn check_snapshots_elsewhere(&mut self, from_bytes: f64) {
        self.0 = std::mem::take(&mut self.0).checking_snapshots_elsewhere(from_bytes as usize);
    }

    /// Adopts `snapshot`, which `receive` handed back and `checkSnapshot`
    /// found valid, as that `receive` would have.
    #[wasm_bindgen(js_name = adoptChecked, unchecked_return_type = "RawReceived")]
    pub fn adopt_checked(&mut self, doc: &mut RawDoc, snapshot: &[u8]) -> Result<JsValue, JsValue> {
        let received = self
            .0
            .adopt_checked(&mut doc.0, snapshot, Utf16)
            .map_err(sync_error)?;
        Ok(received_to_js(received))
    }

    /// Frames to send when the connection opens.
    pub fn start(&mut self, doc: &RawDoc) -> Array {
        frames_to_js(self.0.start(&doc.0))
    }

    /// Handles one frame: `{ frames, patches, presence, durable }`, where
    /// `frames` go back to the peer, `patches` were merged into `doc`,
    /// `presence` is the peer's new presence bytes and `durable` the
    /// version (encoded) it reported stored, if any.
    #[wasm_bindgen(unchecked_return_type = "RawReceived")]
    pub fn receive(&mut self, doc: &mut RawDoc, frame: &[u8]) -> Result<JsValue, JsValue> {
        let received = self
            .0
            .receive(&mut doc.0, frame, Utf16)
            .map_err(sync_error)?;
        Ok(received_to_js(received))
    }

    /// Frames with whatever the peer may lack after `doc` changed.
    pub fn outgoing(&mut self, doc: &mut RawDoc) -> Array {
        frames_to_js(self.0.outgoing(&mut doc.0))
    }

    /// Frames carrying this side's presence state (none before this side's
    /// Hello: the state follows it); `undefined` when the state is over the
    /// 64 KiB limit.
    pub fn presence(&mut self, state: &[u8]) -> Option<Array> {
        self.0.presence(state).map(frames_to_js)
    }

    /// Frames reporting that everything in `version` (encoded) is stored
    /// on this side's disk (none before this side's Hello: the report
    /// follows it).
    pub fn durable(&mut self, version: &[u8]) -> Result<Array, JsValue> {
        let version = Version::decode(version).map_err(|e| to_js(e.into()))?;
        Ok(frames_to_js(self.0.durable(&version)))
    }

    /// Whether the handshake is done both ways.
    #[wasm_bindgen(getter)]
    pub fn synced(&self) -> bool {
        self.0.is_synced()
    }
}

fn received_to_js(received: Received) -> JsValue {
    let bytes =
        |b: Option<Vec<u8>>| b.map_or(JsValue::UNDEFINED, |b| Uint8Array::from(&b[..]).into());
    values::received(
        frames_to_js(received.frames),
        values::patches(received.patches),
        bytes(received.presence),
        bytes(received.durable.map(|v| v.encode())),
        bytes(received.to_check),
    )
}

/// Checks a snapshot whole, as a document adopting it would (see
/// `RawSession.checkSnapshotsElsewhere`): run by the package's Worker.
#[wasm_bindgen(js_name = checkSnapshot)]
pub fn check_snapshot(bytes: &[u8]) -> Result<(), JsValue> {
    weft::Doc::check_snapshot(bytes).map_err(to_js)
}

impl Default for RawSession {
    fn default() -> Self {
        RawSession::new()
    }
}
