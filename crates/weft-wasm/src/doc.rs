//! `RawDoc`: the core document with UTF-16 indices, bytes as `Uint8Array`
//! and changes returned as plain objects.

use crate::error::{kept_aside, range_error, to_js};
use crate::values;
use wasm_bindgen::prelude::*;
use weft::{Bias, Doc, IndexUnit::Utf16, StickyIndex, Version};

/// A Weft document indexed in UTF-16 code units. The TypeScript `Doc` wraps
/// it; use that.
#[wasm_bindgen]
pub struct RawDoc(pub(crate) Doc);

/// A JavaScript number that must be a non-negative integer index or length.
pub(crate) fn index(value: f64, what: &str) -> Result<usize, JsValue> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= u32::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(range_error(
            // The number is printed by JavaScript: Rust's float formatting
            // would add kilobytes to the module for one message.
            &format!(
                "{what} must be a non-negative integer, got {}",
                String::from(
                    js_sys::Number::from(value)
                        .to_string_with_radix(10)
                        .unwrap_or_else(|_| "NaN".into())
                )
            ),
            "INVALID_ARGUMENT",
        ))
    }
}

fn version_from(bytes: Option<Vec<u8>>) -> Result<Version, JsValue> {
    bytes.map_or(Ok(Version::new()), |b| version_of(&b))
}

fn version_of(bytes: &[u8]) -> Result<Version, JsValue> {
    Version::decode(bytes).map_err(|e| to_js(e.into()))
}

impl RawDoc {
    /// Wraps a core document.
    pub(crate) fn from_core(doc: Doc) -> RawDoc {
        RawDoc(doc)
    }
}

#[wasm_bindgen]
impl RawDoc {
    /// An empty document edited as `replica` (a random 64-bit id).
    #[wasm_bindgen(constructor)]
    pub fn new(replica: u64) -> RawDoc {
        RawDoc(Doc::new(replica))
    }

    /// Loads a snapshot made by `encodeState`.
    pub fn load(bytes: &[u8], replica: u64) -> Result<RawDoc, JsValue> {
        Doc::from_snapshot(bytes, replica)
            .map(RawDoc)
            .map_err(to_js)
    }

    /// The replica id local edits are made as.
    pub fn replica(&self) -> u64 {
        self.0.replica()
    }

    /// Length in UTF-16 code units.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.0.len(Utf16) as f64
    }

    /// Inserts `text` at `index`; false when it failed (then `takeError`
    /// gives the error). Only the TypeScript `Doc` calls it, once it
    /// checked `text` is a string (anything else would make wasm-bindgen's
    /// string copy trap) without lone surrogates (they would be stored as
    /// U+FFFD, and the change events would not match).
    ///
    /// A keystroke allocates nothing in JavaScript: `text` is taken as
    /// `&str` (a `JsValue` read back as a string costs a call out to
    /// JavaScript), and the answer is one number (a `Result` comes back as
    /// an array).
    pub fn insert(&mut self, index_: f64, text: &str) -> bool {
        let done =
            index(index_, "index").and_then(|i| self.0.insert(i, text, Utf16).map_err(to_js));
        kept_aside(done).is_some()
    }

    /// Inserts the one character of UTF-16 code unit `unit` (not a
    /// surrogate) at `index`, as `insert` does: a keystroke without copying
    /// a string into wasm memory (an allocation and a call more).
    #[wasm_bindgen(js_name = insertUnit)]
    pub fn insert_unit(&mut self, index_: f64, unit: u32) -> bool {
        let done = index(index_, "index").and_then(|i| {
            let c = char::from_u32(unit)
                .filter(|_| unit <= 0xFFFF)
                .ok_or_else(|| {
                    range_error("a code unit that is not a surrogate", "INVALID_ARGUMENT")
                })?;
            self.0
                .insert(i, c.encode_utf8(&mut [0; 4]), Utf16)
                .map_err(to_js)
        });
        kept_aside(done).is_some()
    }

    /// Deletes `len` code units at `index` (fewer past the end); returns
    /// how many it deleted, or -1 when it failed (then `takeError` gives the
    /// error). One number, as for `insert`.
    pub fn delete(&mut self, index_: f64, len: f64) -> f64 {
        let before = self.0.len(Utf16);
        let done = index(index_, "index")
            .and_then(|i| Ok((i, index(len, "length")?)))
            .and_then(|(i, n)| self.0.delete(i, n, Utf16).map_err(to_js));
        kept_aside(done).map_or(-1.0, |()| (before - self.0.len(Utf16)) as f64)
    }

    /// The whole text.
    #[wasm_bindgen(js_name = toString)]
    pub fn to_text(&self) -> String {
        self.0.to_string()
    }

    /// The text from `start` to `end`.
    pub fn slice(&self, start: f64, end: f64) -> Result<String, JsValue> {
        let (s, e) = (index(start, "start")?, index(end, "end")?);
        self.0.slice(s, e, Utf16).map_err(to_js)
    }

    /// The version vector, encoded.
    pub fn version(&self) -> Vec<u8> {
        self.0.version().encode()
    }

    /// Whether `version` (encoded) includes everything this document holds
    /// (say, what a server reported stored).
    #[wasm_bindgen(js_name = coveredBy)]
    pub fn covered_by(&self, version: &[u8]) -> Result<bool, JsValue> {
        let version = Version::decode(version).map_err(|e| to_js(e.into()))?;
        Ok(version.includes(&self.0.version()))
    }

    /// The full state and history (a snapshot).
    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&mut self) -> Result<Vec<u8>, JsValue> {
        self.0.encode_snapshot().map_err(to_js)
    }

    /// What a replica at version `since` (everything when absent) lacks.
    #[wasm_bindgen(js_name = encodeUpdate)]
    pub fn encode_update(&mut self, since: Option<Vec<u8>>) -> Result<Vec<u8>, JsValue> {
        self.0.encode_update(&version_from(since)?).map_err(to_js)
    }

    /// Merges an update or snapshot; returns the changes it made.
    #[wasm_bindgen(js_name = applyUpdate)]
    #[wasm_bindgen(unchecked_return_type = "RawPatch[]")]
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        self.0
            .apply_update(bytes, Utf16)
            .map(values::patches)
            .map_err(to_js)
    }

    /// The text at an encoded version this document has.
    #[wasm_bindgen(js_name = textAt)]
    pub fn text_at(&mut self, version: &[u8]) -> Result<String, JsValue> {
        let v = version_of(version)?;
        self.0.text_at(&v).map_err(to_js)
    }

    /// The changes from version `from` to version `to` (encoded), each
    /// with the author who made it when known.
    #[wasm_bindgen(unchecked_return_type = "RawChange[]")]
    pub fn diff(&mut self, from: &[u8], to: &[u8]) -> Result<JsValue, JsValue> {
        let (from, to) = (version_of(from)?, version_of(to)?);
        let changes = js_sys::Array::new();
        for (p, replica) in self.0.diff_by_replica(&from, &to, Utf16).map_err(to_js)? {
            changes.push(&values::change(p, self.0.author(replica)));
        }
        Ok(changes.into())
    }

    /// How many operations the document holds.
    #[wasm_bindgen(getter, js_name = operationCount)]
    pub fn operation_count(&self) -> f64 {
        self.0.operation_count() as f64
    }

    /// The encoded version after the first `n` operations of the history.
    #[wasm_bindgen(js_name = versionAtOperation)]
    pub fn version_at_operation(&mut self, n: f64) -> Result<Vec<u8>, JsValue> {
        let n = if n.is_finite() {
            n.max(0.0) as u64
        } else {
            u64::MAX
        };
        let v = self.0.version_at_operation(n).map_err(to_js)?;
        Ok(v.encode())
    }

    /// Sets the author id of this replica's edits (before the first edit).
    #[wasm_bindgen(js_name = setAuthor)]
    pub fn set_author(&mut self, author: &str) -> Result<(), JsValue> {
        self.0.set_author(author).map_err(to_js)
    }

    /// The author id `replica` edits for, if known.
    pub fn author(&self, replica: u64) -> Option<String> {
        self.0.author(replica).map(str::to_owned)
    }

    /// The authors of the visible text from `start` to `end`, each once
    /// (`null` for text without an author id).
    #[wasm_bindgen(unchecked_return_type = "(string | null)[]")]
    pub fn authors(&mut self, start: f64, end: f64) -> Result<js_sys::Array, JsValue> {
        let (start, end) = (index(start, "start")?, index(end, "end")?);
        let out = js_sys::Array::new();
        for a in self.0.authors(start, end, Utf16).map_err(to_js)? {
            out.push(&a.map_or(JsValue::NULL, JsValue::from_str));
        }
        Ok(out)
    }

    /// Makes the text equal to the text at an encoded version; returns the
    /// changes it made.
    #[wasm_bindgen(unchecked_return_type = "RawPatch[]")]
    pub fn restore(&mut self, version: &[u8]) -> Result<JsValue, JsValue> {
        let v = version_of(version)?;
        self.0
            .restore(&v, Utf16)
            .map(values::patches)
            .map_err(to_js)
    }

    /// A sticky position at `index`, encoded; `right` sticks to the character
    /// after the index, otherwise to the one before.
    #[wasm_bindgen(js_name = stickyIndex)]
    pub fn sticky_index(&mut self, index_: f64, right: bool) -> Result<Vec<u8>, JsValue> {
        let bias = if right { Bias::Right } else { Bias::Left };
        let s = self
            .0
            .sticky_index(index(index_, "index")?, bias, Utf16)
            .map_err(to_js)?;
        Ok(s.encode())
    }

    /// Where an encoded sticky position is now.
    #[wasm_bindgen(js_name = resolveSticky)]
    pub fn resolve_sticky(&mut self, bytes: &[u8]) -> Result<f64, JsValue> {
        let s = StickyIndex::decode(bytes).map_err(|e| to_js(e.into()))?;
        self.0
            .resolve_sticky(&s, Utf16)
            .map(|i| i as f64)
            .map_err(to_js)
    }

    /// Number of lines (newlines plus one).
    #[wasm_bindgen(js_name = lineCount)]
    pub fn line_count(&self) -> f64 {
        self.0.line_count() as f64
    }

    /// Index where a line (0-based) starts.
    #[wasm_bindgen(js_name = lineStart)]
    pub fn line_start(&self, line: f64) -> Result<f64, JsValue> {
        let l = index(line, "line")?;
        self.0.line_start(l, Utf16).map(|i| i as f64).map_err(to_js)
    }

    /// Internal counts: items (with tombstones), visible characters, spans,
    /// leaves, op-log runs, replicas, waiting and discarded operations.
    #[wasm_bindgen(unchecked_return_type = "RawDocStats")]
    pub fn stats(&self) -> JsValue {
        values::doc_stats(self.0.stats())
    }
}
