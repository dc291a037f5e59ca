//! `RawStore`: a document's IndexedDB database, holding the journal's
//! records and checkpoints (see `weft::journal`). One database per document
//! name; every operation is one transaction, and its promise resolves when
//! that transaction has completed (the data is durable).
//!
//! Uses web-sys's IndexedDB bindings with a few lines of JavaScript turning
//! requests and transactions into promises: `indexed_db_futures` did the
//! same job but added about 27 KB (gzipped) to the package.

use crate::doc::RawDoc;
use crate::error::to_js;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};
use weft::journal::{self, Problem};

const RECORDS: &str = "records";
const CHECKPOINTS: &str = "checkpoints";
const META: &str = "meta";
const NEXT_KEY: &str = "nextKey";

#[wasm_bindgen(inline_js = r#"
export function openDatabase(name) {
  return new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) {
      throw new DOMException("IndexedDB is not available here (private mode, or not a browser)", "NotSupportedError");
    }
    const request = globalThis.indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of ["records", "checkpoints", "meta"]) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another page deleting or upgrading the database must not be blocked
      // by this connection: close it; the store reopens on its next write.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => reject(request.error);
  });
}
export function requestDone(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
export function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = openDatabase)]
    fn open_database(name: &str) -> Promise;
    #[wasm_bindgen(js_name = requestDone)]
    fn request_done(request: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = transactionDone)]
    fn transaction_done(tx: &IdbTransaction) -> Promise;
}

/// An IndexedDB failure as a JavaScript error with a stable code.
fn storage_error(e: JsValue) -> JsValue {
    let message = Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    let name = Reflect::get(&e, &"name".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    let err = js_sys::Error::new(&format!("IndexedDB: {name} {message}"));
    err.set_name("WeftStorageError");
    let code = match name.as_str() {
        "QuotaExceededError" => "QUOTA_EXCEEDED",
        // The connection was closed (see `versionchange` above): reopen.
        "InvalidStateError" => "STORAGE_CLOSED",
        "NotSupportedError" | "SecurityError" => "STORAGE_UNAVAILABLE",
        _ => "STORAGE",
    };
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

async fn done(request: Result<IdbRequest, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(request_done(&request.map_err(storage_error)?))
        .await
        .map_err(storage_error)
}

/// A document's IndexedDB database. Wrapped by the TypeScript layer.
#[wasm_bindgen]
pub struct RawStore {
    db: IdbDatabase,
    /// The key this connection expects the counter in `meta` to hold next
    /// (what it last left there), shared by its handles.
    expected_key: Rc<Cell<Option<f64>>>,
}

impl RawStore {
    /// Another handle on the same connection, for a promise to own.
    fn handle(&self) -> RawStore {
        RawStore {
            db: self.db.clone(),
            expected_key: self.expected_key.clone(),
        }
    }

    fn transaction(&self, stores: &[&str], write: bool) -> Result<IdbTransaction, JsValue> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let mode = if write {
            IdbTransactionMode::Readwrite
        } else {
            IdbTransactionMode::Readonly
        };
        self.db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(storage_error)
    }

    fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, JsValue> {
        tx.object_store(name).map_err(storage_error)
    }

    /// All (key, bytes) pairs of a store, in key order.
    async fn entries(tx: &IdbTransaction, name: &str) -> Result<Vec<(u64, Vec<u8>)>, JsValue> {
        let store = Self::store(tx, name)?;
        let keys: Array = done(store.get_all_keys()).await?.unchecked_into();
        let values: Array = done(store.get_all()).await?.unchecked_into();
        Ok(keys
            .iter()
            .zip(values.iter())
            .map(|(k, v)| {
                let key = k.as_f64().unwrap_or(0.0) as u64;
                // Anything but bytes is damage: an empty entry fails to decode
                // and is reported.
                (
                    key,
                    v.dyn_into::<Uint8Array>()
                        .map(|a| a.to_vec())
                        .unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Opens (creating if needed) the database of document `name`.
    pub async fn open_db(name: &str) -> Result<RawStore, JsValue> {
        let db = JsFuture::from(open_database(&format!("weft:{name}")))
            .await
            .map_err(storage_error)?;
        Ok(RawStore {
            db: db.unchecked_into(),
            expected_key: Rc::default(),
        })
    }

    /// Reads every entry in one transaction and opens the document.
    pub async fn load_doc(&self, replica: u64) -> Result<journal::Opened, JsValue> {
        let tx = self.transaction(&[RECORDS, CHECKPOINTS], false)?;
        let checkpoints = Self::entries(&tx, CHECKPOINTS).await?;
        let records = Self::entries(&tx, RECORDS).await?;
        Ok(journal::open(
            replica,
            checkpoints.iter().map(|(k, v)| (*k, &v[..])),
            records.iter().map(|(k, v)| (*k, &v[..])),
        ))
    }

    /// Takes the next entry key from the counter in `meta`, inside `tx` (which
    /// must include `meta` for writing), so writers in several tabs never
    /// collide.
    async fn next_key(tx: &IdbTransaction) -> Result<f64, JsValue> {
        let meta = Self::store(tx, META)?;
        let key = done(meta.get(&NEXT_KEY.into()))
            .await?
            .as_f64()
            .unwrap_or(1.0);
        meta.put_with_key(&(key + 1.0).into(), &NEXT_KEY.into())
            .map_err(storage_error)?;
        Ok(key)
    }

    /// Appends an update as the next record; returns its key once the
    /// transaction completed (the update is durable).
    pub async fn append_update(&self, update: &[u8]) -> Result<f64, JsValue> {
        if let Some(key) = self.expected_key.get() {
            if self.append_as(key, update).await? {
                return Ok(key);
            }
        }
        let tx = self.transaction(&[RECORDS, META], true)?;
        let finished = JsFuture::from(transaction_done(&tx));
        let key = Self::next_key(&tx).await?;
        Self::put_record(&tx, key, update)?;
        finished.await.map_err(storage_error)?;
        self.expected_key.set(Some(key + 1.0));
        Ok(key)
    }

    fn put_record(tx: &IdbTransaction, key: f64, update: &[u8]) -> Result<(), JsValue> {
        let bytes = journal::encode_record(key as u64, update);
        Self::store(tx, RECORDS)?
            .put_with_key(&Uint8Array::from(&bytes[..]), &key.into())
            .map_err(storage_error)?;
        Ok(())
    }

    /// Appends under `key` if the counter still holds it (no other tab
    /// wrote since this connection did). The check and the writes go out
    /// together, saving a round trip per keystroke; if the check fails the
    /// transaction is aborted, nothing is written, and `false` says to read
    /// the counter instead.
    async fn append_as(&self, key: f64, update: &[u8]) -> Result<bool, JsValue> {
        let tx = self.transaction(&[RECORDS, META], true)?;
        let finished = JsFuture::from(transaction_done(&tx));
        let meta = Self::store(&tx, META)?;
        let counter = meta.get(&NEXT_KEY.into()).map_err(storage_error)?;
        let counter = JsFuture::from(request_done(&counter));
        Self::put_record(&tx, key, update)?;
        meta.put_with_key(&(key + 1.0).into(), &NEXT_KEY.into())
            .map_err(storage_error)?;
        // Requests run in order: the writes have not happened yet when the
        // counter's value arrives, so aborting here undoes them.
        if counter.await.map_err(storage_error)?.as_f64() != Some(key) {
            self.expected_key.set(None);
            tx.abort().map_err(storage_error)?;
            let _ = finished.await; // rejects: aborted
            return Ok(false);
        }
        finished.await.map_err(storage_error)?;
        self.expected_key.set(Some(key + 1.0));
        Ok(true)
    }

    /// Writes a checkpoint of `snapshot` under a fresh key and deletes the
    /// records and checkpoints it includes, in one transaction; returns the
    /// checkpoint's key and size. Entries it does not list (written by other
    /// tabs meanwhile) stay, to be merged on the next open.
    pub async fn compact_with(
        &self,
        snapshot: &[u8],
        records: &[f64],
        checkpoints: &[f64],
    ) -> Result<(f64, f64), JsValue> {
        let tx = self.transaction(&[RECORDS, CHECKPOINTS, META], true)?;
        let finished = JsFuture::from(transaction_done(&tx));
        let key = Self::next_key(&tx).await?;
        let entry = journal::encode_checkpoint(key as u64, snapshot);
        let stored = Self::store(&tx, CHECKPOINTS)?;
        stored
            .put_with_key(&Uint8Array::from(&entry[..]), &key.into())
            .map_err(storage_error)?;
        for k in checkpoints {
            stored.delete(&(*k).into()).map_err(storage_error)?;
        }
        let recs = Self::store(&tx, RECORDS)?;
        for k in records {
            recs.delete(&(*k).into()).map_err(storage_error)?;
        }
        finished.await.map_err(storage_error)?;
        self.expected_key.set(Some(key + 1.0));
        Ok((key, entry.len() as f64))
    }

    /// Writes raw bytes as a record (tests inject damage with it).
    pub async fn put_raw(&self, key: f64, bytes: &[u8]) -> Result<(), JsValue> {
        let tx = self.transaction(&[RECORDS], true)?;
        let finished = JsFuture::from(transaction_done(&tx));
        Self::store(&tx, RECORDS)?
            .put_with_key(&Uint8Array::from(bytes), &key.into())
            .map_err(storage_error)?;
        finished.await.map_err(storage_error)?;
        Ok(())
    }
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn opened_to_js(opened: journal::Opened) -> JsValue {
    let out = Object::new();
    let problems: Array = opened
        .problems
        .iter()
        .filter_map(|p| {
            let (kind, key, error) = match p {
                Problem::Checkpoint { key, error } => ("checkpoint", key, error),
                Problem::Record { key, error } => ("record", key, error),
                _ => return None,
            };
            let o = Object::new();
            set(&o, "kind", &kind.into());
            set(&o, "key", &(*key as f64).into());
            set(&o, "error", &to_js(error.clone()));
            Some(JsValue::from(o))
        })
        .collect();
    let merged: Array = opened
        .merged_keys
        .iter()
        .map(|&k| JsValue::from(k as f64))
        .collect();
    set(&out, "problems", &problems);
    set(&out, "mergedKeys", &merged);
    let checkpoints: Array = opened
        .merged_checkpoints
        .iter()
        .map(|&k| JsValue::from(k as f64))
        .collect();
    set(&out, "mergedCheckpoints", &checkpoints);
    set(&out, "journalBytes", &(opened.journal_bytes as f64).into());
    set(
        &out,
        "checkpointBytes",
        &(opened.checkpoint_bytes as f64).into(),
    );
    set(&out, "doc", &RawDoc::from_core(opened.doc).into());
    out.into()
}

#[wasm_bindgen]
impl RawStore {
    /// Whether records of `journal_bytes` after a checkpoint of
    /// `checkpoint_bytes` call for a compaction (`weft::journal`'s policy;
    /// `floor_bytes` undefined means its default).
    #[wasm_bindgen(js_name = shouldCompact)]
    pub fn should_compact(
        journal_bytes: f64,
        checkpoint_bytes: f64,
        floor_bytes: Option<f64>,
    ) -> bool {
        let policy = journal::CompactionPolicy {
            floor_bytes: floor_bytes.map_or(journal::DEFAULT_FLOOR_BYTES, |f| f as u64),
        };
        policy.should_compact(journal_bytes as u64, checkpoint_bytes as u64)
    }

    /// Opens (creating if needed) the database of document `name`.
    pub fn open(name: String) -> Promise {
        future_to_promise(async move { Ok(RawStore::open_db(&name).await?.into()) })
    }

    /// Loads the document, editing as `replica` (fresh for every session).
    /// Resolves to `{ doc, problems, mergedKeys, mergedCheckpoints,
    /// journalBytes, checkpointBytes }`.
    pub fn load(&self, replica: u64) -> Promise {
        let store = self.handle();
        future_to_promise(async move { Ok(opened_to_js(store.load_doc(replica).await?)) })
    }

    /// Appends an update as the next record. Resolves to its key once the
    /// transaction completed: then the update is durable.
    pub fn append(&self, update: Vec<u8>) -> Promise {
        let store = self.handle();
        future_to_promise(async move { Ok(store.append_update(&update).await?.into()) })
    }

    /// Writes a checkpoint of `snapshot` (from a document that includes the
    /// records and checkpoints listed) and deletes what it includes, in one
    /// transaction. Resolves to `{ key, bytes }` of the new checkpoint.
    pub fn compact(&self, snapshot: Vec<u8>, records: Vec<f64>, checkpoints: Vec<f64>) -> Promise {
        let store = self.handle();
        future_to_promise(async move {
            let (key, bytes) = store
                .compact_with(&snapshot, &records, &checkpoints)
                .await?;
            let out = Object::new();
            set(&out, "key", &key.into());
            set(&out, "bytes", &bytes.into());
            Ok(out.into())
        })
    }

    /// Closes the connection.
    pub fn close(self) {
        self.db.close();
    }
}
