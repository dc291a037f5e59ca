//! `RawUndoManager`: the core undo manager over a `RawDoc`, with UTF-16
//! selections. The TypeScript `UndoManager` wraps it; use that.

use crate::doc::{index, RawDoc};
use crate::error::to_js;
use crate::values;
use wasm_bindgen::prelude::*;
use weft::{Bias, Doc, IndexUnit::Utf16, Selection, UndoManager};

/// One user's undo and redo stacks for one document.
#[wasm_bindgen]
pub struct RawUndoManager {
    inner: UndoManager,
    /// The selection before the change under way, for its step.
    before: Option<Selection>,
}

/// The selection `anchor..head` (UTF-16) of `doc` as sticky positions: the
/// anchor sticks to the text after it, the head to the text before, as a
/// caret after typed text does.
fn sticky(doc: &mut Doc, anchor: f64, head: f64) -> Result<Selection, JsValue> {
    Ok(Selection {
        anchor: doc
            .sticky_index(index(anchor, "anchor")?, Bias::Right, Utf16)
            .map_err(to_js)?,
        head: doc
            .sticky_index(index(head, "head")?, Bias::Left, Utf16)
            .map_err(to_js)?,
    })
}

#[wasm_bindgen]
impl RawUndoManager {
    /// A manager of `doc`'s edits from now on.
    #[wasm_bindgen(constructor)]
    pub fn new(doc: &RawDoc, capture_ms: f64, max_steps: f64) -> RawUndoManager {
        RawUndoManager {
            inner: UndoManager::new(&doc.0, capture_ms, max_steps as usize),
            before: None,
        }
    }

    /// Notes the selection before a change of this user's begins.
    #[wasm_bindgen(js_name = selectionBefore)]
    pub fn selection_before(
        &mut self,
        doc: &mut RawDoc,
        anchor: f64,
        head: f64,
    ) -> Result<(), JsValue> {
        self.before = Some(sticky(&mut doc.0, anchor, head)?);
        Ok(())
    }

    /// Records the local edits since the last call as this user's change at
    /// `now` (milliseconds). Returns whether a new step started.
    pub fn record(&mut self, doc: &RawDoc, now: f64) -> bool {
        self.inner.record(&doc.0, now, self.before.take())
    }

    /// Passes over the local edits since the last call.
    pub fn skip(&mut self, doc: &RawDoc) {
        self.before = None;
        self.inner.skip(&doc.0);
    }

    /// Undoes a step; `undefined` when there was none. `anchor` and `head`
    /// are the selection now (kept for redo), if the caller has one.
    #[wasm_bindgen(unchecked_return_type = "RawUndone | undefined")]
    pub fn undo(
        &mut self,
        doc: &mut RawDoc,
        anchor: Option<f64>,
        head: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        self.apply(doc, anchor, head, true)
    }

    /// Redoes a step, as `undo`.
    #[wasm_bindgen(unchecked_return_type = "RawUndone | undefined")]
    pub fn redo(
        &mut self,
        doc: &mut RawDoc,
        anchor: Option<f64>,
        head: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        self.apply(doc, anchor, head, false)
    }

    /// Whether there is a step to undo.
    #[wasm_bindgen(js_name = canUndo)]
    pub fn can_undo(&self) -> bool {
        self.inner.can_undo()
    }

    /// Whether there is a step to redo.
    #[wasm_bindgen(js_name = canRedo)]
    pub fn can_redo(&self) -> bool {
        self.inner.can_redo()
    }

    /// Makes the next change a step of its own.
    #[wasm_bindgen(js_name = stopCapturing)]
    pub fn stop_capturing(&mut self) {
        self.inner.stop_capturing();
    }

    /// Forgets every step.
    pub fn clear(&mut self) {
        self.inner.clear();
    }
}

impl RawUndoManager {
    fn apply(
        &mut self,
        doc: &mut RawDoc,
        anchor: Option<f64>,
        head: Option<f64>,
        undo: bool,
    ) -> Result<JsValue, JsValue> {
        let doc = &mut doc.0;
        // A selection out of range (an application's stale one) is left
        // out rather than failing the undo.
        let now = match (anchor, head) {
            (Some(a), Some(h)) => sticky(doc, a, h).ok(),
            _ => None,
        };
        let applied = if undo {
            self.inner.undo(doc, now, Utf16)
        } else {
            self.inner.redo(doc, now, Utf16)
        }
        .map_err(to_js)?;
        let Some(applied) = applied else {
            return Ok(JsValue::UNDEFINED);
        };
        // A selection whose text has not arrived cannot be: none then.
        let (anchor, head) = applied
            .selection
            .and_then(|s| {
                let a = doc.resolve_sticky(&s.anchor, Utf16).ok()?;
                let h = doc.resolve_sticky(&s.head, Utf16).ok()?;
                Some((a as f64, h as f64))
            })
            .unzip();
        Ok(values::undone(
            values::patches(applied.patches),
            anchor,
            head,
        ))
    }
}
