//! The structured values that cross the boundary, as `serde` types
//! converted by `serde-wasm-bindgen`, each beside the TypeScript type it
//! mirrors (declared once, here, in the generated `.d.ts`).

use serde::Serialize;
use wasm_bindgen::prelude::*;
use weft::Patch;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** One change a merge made, in UTF-16 units: insert text, or delete a length. */
export type RawPatch = { index: number; insert: string } | { index: number; delete: number };

/** A patch of a diff, with the author who inserted or deleted its text when known. */
export type RawChange = RawPatch & { author?: string };

/** What `RawUndoManager.undo` and `redo` did: the changes, and the selection to restore. */
export interface RawUndone {
  patches: RawPatch[];
  anchor?: number;
  head?: number;
}

/** A document's internal counts (`RawDoc.stats`). */
export interface RawDocStats {
  /** Characters ever inserted (visible plus tombstones). */
  items: number;
  visibleChars: number;
  /** Runs of items in the tree. */
  spans: number;
  leaves: number;
  /** Runs in the operation log. */
  opRuns: number;
  /** Replicas that have edited the document. */
  replicas: number;
  /** Remote operations waiting for their dependencies. */
  pendingOps: number;
  /** Waiting operations discarded for want of memory. */
  discardedOps: number;
}

/** What `RawSession.receive` returns. */
export interface RawReceived {
  /** Frames to send back to the peer. */
  frames: Uint8Array[];
  /** The changes merged into the document. */
  patches: RawPatch[];
  /** The peer's new presence state, if it sent one. */
  presence?: Uint8Array;
  /** A version (encoded) the peer reported stored on its disk, if it sent one. */
  durable?: Uint8Array;
}

/** What `RawSealedClient.receive` returns for a complete message. */
export type RawSealedEvent =
  | { kind: "sealed"; seq: bigint; body: Uint8Array }
  | { kind: "caughtUp" }
  | { kind: "stored"; version: Uint8Array }
  | { kind: "compacted" };

/** What a store knows is stored (`RawStore.stats`). */
export interface RawStoreStats {
  /** Journal records not yet folded into a checkpoint. */
  records: number;
  journalBytes: number;
  checkpoints: number;
  checkpointBytes: number;
}

/** A stored entry that could not be read: skipped, everything else loaded. */
export interface RawProblem {
  kind: "record" | "checkpoint";
  /** The entry's key in the database. */
  key: number;
  error: Error;
}
"#;

/// Mirrors `RawPatch`.
#[derive(Serialize)]
pub struct JsPatch {
    index: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    insert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<String>,
}

impl JsPatch {
    /// `patch` made by `author` (mirrors `RawChange`).
    pub fn by(patch: Patch, author: Option<&str>) -> JsPatch {
        JsPatch {
            author: author.map(str::to_owned),
            ..patch.into()
        }
    }
}

impl From<Patch> for JsPatch {
    fn from(p: Patch) -> JsPatch {
        let (index, insert, delete) = match p {
            Patch::Insert { index, text } => (index, Some(text), None),
            Patch::Delete { index, len } => (index, None, Some(len as f64)),
            _ => (0, None, None),
        };
        JsPatch {
            index: index as f64,
            insert,
            delete,
            author: None,
        }
    }
}

/// Patches as `RawPatch[]`.
pub fn patches(patches: Vec<Patch>) -> Vec<JsPatch> {
    patches.into_iter().map(JsPatch::from).collect()
}

/// Mirrors `RawDocStats`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocStats {
    items: f64,
    visible_chars: f64,
    spans: f64,
    leaves: f64,
    op_runs: f64,
    replicas: f64,
    pending_ops: f64,
    discarded_ops: f64,
}

impl From<weft::Stats> for DocStats {
    fn from(s: weft::Stats) -> DocStats {
        DocStats {
            items: s.items as f64,
            visible_chars: s.visible_chars as f64,
            spans: s.spans as f64,
            leaves: s.leaves as f64,
            op_runs: s.op_runs as f64,
            replicas: s.replicas as f64,
            pending_ops: s.pending_ops as f64,
            discarded_ops: s.discarded_ops as f64,
        }
    }
}

/// Mirrors `RawReceived`.
#[derive(Serialize)]
pub struct Received {
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub frames: JsValue,
    pub patches: Vec<JsPatch>,
    #[serde(
        with = "serde_wasm_bindgen::preserve",
        skip_serializing_if = "JsValue::is_undefined"
    )]
    pub presence: JsValue,
    #[serde(
        with = "serde_wasm_bindgen::preserve",
        skip_serializing_if = "JsValue::is_undefined"
    )]
    pub durable: JsValue,
}

/// Mirrors `RawStoreStats`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    pub records: f64,
    pub journal_bytes: f64,
    pub checkpoints: f64,
    pub checkpoint_bytes: f64,
}

/// Mirrors `RawProblem`.
#[derive(Serialize)]
pub struct StoredProblem {
    pub kind: &'static str,
    pub key: f64,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub error: JsValue,
}

/// A value as JavaScript sees it.
pub fn to_js(value: &impl Serialize) -> JsValue {
    // These plain structs of numbers, strings and JS values always convert.
    serde_wasm_bindgen::to_value(value).unwrap_or(JsValue::UNDEFINED)
}
