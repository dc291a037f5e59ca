//! The structured values that cross the boundary, built as plain
//! JavaScript objects by the functions below the TypeScript types they
//! mirror (declared once, here, in the generated `.d.ts`). By hand rather
//! than through `serde-wasm-bindgen`: the same objects, 3.4 KB gzipped less
//! wasm (its serializers and its cache of key strings).

use js_sys::{Array, Object, Reflect};
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
  /** A snapshot handed back unapplied, to check elsewhere (`checkSnapshotsElsewhere`). */
  toCheck?: Uint8Array;
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

/// A plain object with `fields` set in order, those `undefined` left out
/// (an optional field absent).
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in fields {
        if !value.is_undefined() {
            // Setting a property of a fresh plain object cannot fail.
            let _ = Reflect::set(&o, &JsValue::from_str(key), value);
        }
    }
    o.into()
}

/// A number that may be absent.
fn optional(n: Option<f64>) -> JsValue {
    n.map_or(JsValue::UNDEFINED, JsValue::from)
}

/// A `RawPatch`.
fn patch(p: Patch) -> JsValue {
    change(p, None)
}

/// A `RawChange`: a `RawPatch` with the author who made it, when known.
pub fn change(p: Patch, author: Option<&str>) -> JsValue {
    let author = author.map_or(JsValue::UNDEFINED, JsValue::from_str);
    match p {
        Patch::Insert { index, text } => object(&[
            ("index", (index as f64).into()),
            ("insert", text.into()),
            ("author", author),
        ]),
        Patch::Delete { index, len } => object(&[
            ("index", (index as f64).into()),
            ("delete", (len as f64).into()),
            ("author", author),
        ]),
        _ => object(&[("index", 0.0.into())]),
    }
}

/// Patches as `RawPatch[]`.
pub fn patches(patches: Vec<Patch>) -> JsValue {
    patches.into_iter().map(patch).collect::<Array>().into()
}

/// A `RawDocStats`.
pub fn doc_stats(s: weft::Stats) -> JsValue {
    object(&[
        ("items", (s.items as f64).into()),
        ("visibleChars", (s.visible_chars as f64).into()),
        ("spans", (s.spans as f64).into()),
        ("leaves", (s.leaves as f64).into()),
        ("opRuns", (s.op_runs as f64).into()),
        ("replicas", (s.replicas as f64).into()),
        ("pendingOps", (s.pending_ops as f64).into()),
        ("discardedOps", (s.discarded_ops as f64).into()),
    ])
}

/// A `RawReceived`: `presence`, `durable` and `toCheck` are left out when `undefined`.
pub fn received(
    frames: Array,
    patches: JsValue,
    presence: JsValue,
    durable: JsValue,
    to_check: JsValue,
) -> JsValue {
    object(&[
        ("frames", frames.into()),
        ("patches", patches),
        ("presence", presence),
        ("durable", durable),
        ("toCheck", to_check),
    ])
}

/// A `RawUndone`.
pub fn undone(patches: JsValue, anchor: Option<f64>, head: Option<f64>) -> JsValue {
    object(&[
        ("patches", patches),
        ("anchor", optional(anchor)),
        ("head", optional(head)),
    ])
}

/// A `RawStoreStats`.
pub fn store_stats(s: &weft::journal::JournalStats) -> JsValue {
    object(&[
        ("records", (s.records as f64).into()),
        ("journalBytes", (s.journal_bytes as f64).into()),
        ("checkpoints", (s.checkpoints as f64).into()),
        ("checkpointBytes", (s.checkpoint_bytes as f64).into()),
    ])
}

/// A `RawProblem`.
pub fn problem(kind: &str, key: u64, error: JsValue) -> JsValue {
    object(&[
        ("kind", kind.into()),
        ("key", (key as f64).into()),
        ("error", error),
    ])
}
