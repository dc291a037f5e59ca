//! `RawStore`: a document's journal in IndexedDB. The journal protocol is
//! Rust's: what is stored, what to append, when to compact and what a
//! compaction deletes (`weft::journal::Journal`), and the database work
//! (`idb`). The TypeScript `Store` keeps what is JavaScript's: events,
//! timers, the Web Lock and the tabs.

use crate::doc::RawDoc;
use crate::error::to_js;
use crate::idb::JournalDb;
use crate::values;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use weft::journal::{self, Compaction, CompactionPolicy, Journal, Problem};
use weft::{DecodeError, Version};

struct Inner {
    db: RefCell<Option<JournalDb>>,
    journal: RefCell<Journal>,
    problems: RefCell<Vec<Problem>>,
}

/// A document's journal in IndexedDB. Wrapped by the TypeScript `Store`.
#[wasm_bindgen]
pub struct RawStore(Rc<Inner>);

impl RawStore {
    fn db(&self) -> Result<JournalDb, JsValue> {
        self.0.db.borrow().clone().ok_or_else(|| {
            let err = js_sys::Error::new("the store's database is closed");
            err.set_name("WeftStorageError");
            let _ = js_sys::Reflect::set(&err, &"code".into(), &"STORE_CLOSED".into());
            err.into()
        })
    }
}

/// Stores `planned` (see `JournalDb::compact`) and tells the journal.
/// Returns what it did, as `compactedElsewhere` reads it: the checkpoint's
/// key and bytes, the number of records, their keys, then the checkpoints'
/// keys.
async fn checkpoint(
    inner: &Inner,
    db: &JournalDb,
    planned: &Compaction,
) -> Result<Vec<f64>, JsValue> {
    let (key, bytes) = db.compact(planned).await?;
    inner.journal.borrow_mut().compacted(planned, key, bytes);
    let keys = planned.records.iter().chain(&planned.checkpoints);
    Ok([key, bytes, planned.records.len() as u64]
        .iter()
        .chain(keys)
        .map(|&k| k as f64)
        .collect())
}

/// `future_to_promise` of a boxed future: one copy of its promise and task
/// glue for every method instead of one per future type (kilobytes of
/// wasm).
fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(future)
}

#[wasm_bindgen]
impl RawStore {
    /// Opens (creating if needed) the database of document `name`, with
    /// the compaction floor given (its default when undefined).
    #[wasm_bindgen(unchecked_return_type = "Promise<RawStore>")]
    pub fn open(name: String, floor_bytes: Option<f64>) -> js_sys::Promise {
        let policy = CompactionPolicy {
            floor_bytes: floor_bytes.map_or(journal::DEFAULT_FLOOR_BYTES, |f| f as u64),
        };
        promise(async move {
            let db = JournalDb::open(&name).await?;
            Ok(RawStore(Rc::new(Inner {
                db: RefCell::new(Some(db)),
                journal: RefCell::new(Journal::empty(policy)),
                problems: RefCell::default(),
            }))
            .into())
        })
    }

    /// Loads the document, editing as `replica` (fresh for every session);
    /// what it holds is stored. Damaged entries are skipped (see
    /// `takeProblems`).
    #[wasm_bindgen(unchecked_return_type = "Promise<RawDoc>")]
    pub fn load(&self, replica: u64) -> js_sys::Promise {
        let inner = self.0.clone();
        let db = self.db();
        promise(async move {
            let opened = db?.load(replica).await?;
            let policy = inner.journal.borrow().policy();
            *inner.journal.borrow_mut() = Journal::opened(&opened, policy);
            *inner.problems.borrow_mut() = opened.problems;
            Ok(RawDoc::from_core(opened.doc).into())
        })
    }

    /// The entries the last `load` skipped as damaged.
    #[wasm_bindgen(js_name = takeProblems, unchecked_return_type = "RawProblem[]")]
    pub fn take_problems(&self) -> JsValue {
        let problems: js_sys::Array = self
            .0
            .problems
            .take()
            .into_iter()
            .filter_map(|p| {
                let (kind, key, error) = match p {
                    Problem::Checkpoint { key, error } => ("checkpoint", key, error),
                    Problem::Record { key, error } => ("record", key, error),
                    _ => return None,
                };
                Some(values::problem(kind, key, to_js(error)))
            })
            .collect();
        problems.into()
    }

    /// Appends what of `doc` is not stored yet as one record (the first
    /// write of a large document is a checkpoint instead: see
    /// `Journal::starts_with_checkpoint`). Resolves to the version now
    /// stored once the transaction completed (then it is durable), or to
    /// undefined when nothing was unsaved.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array | undefined>")]
    pub fn flush(&self, doc: &mut RawDoc) -> js_sys::Promise {
        let inner = self.0.clone();
        let db = self.db();
        if inner.journal.borrow().starts_with_checkpoint(&doc.0) {
            let planned = inner.journal.borrow().compaction(&mut doc.0).map_err(to_js);
            return promise(async move {
                let planned = planned?;
                checkpoint(&inner, &db?, &planned).await?;
                Ok(js_sys::Uint8Array::from(&planned.version.encode()[..]).into())
            });
        }
        let unsaved = inner.journal.borrow().unsaved(&mut doc.0).map_err(to_js);
        promise(async move {
            let Some(unsaved) = unsaved? else {
                return Ok(JsValue::UNDEFINED);
            };
            let (key, bytes) = db?.append(&unsaved.update).await?;
            let version = unsaved.version.encode();
            inner.journal.borrow_mut().appended(key, bytes, unsaved);
            Ok(js_sys::Uint8Array::from(&version[..]).into())
        })
    }

    /// Whether the records call for a compaction (by bytes: see
    /// `weft::journal::CompactionPolicy`).
    #[wasm_bindgen(js_name = shouldCompact)]
    pub fn should_compact(&self) -> bool {
        self.0.journal.borrow().should_compact()
    }

    /// Whether records exist that a compaction would fold.
    #[wasm_bindgen(js_name = hasRecords)]
    pub fn has_records(&self) -> bool {
        self.0.journal.borrow().has_records()
    }

    /// Writes a checkpoint of `doc` under a fresh key and deletes the
    /// records and checkpoints it includes (the records in a transaction of
    /// their own, see `JournalDb::compact`). Entries other tabs wrote
    /// meanwhile stay, to be merged on the next open.
    /// Resolves to what it did, for `compactedElsewhere` (a Worker
    /// compacts for its page this way).
    #[wasm_bindgen(unchecked_return_type = "Promise<Float64Array>")]
    pub fn compact(&self, doc: &mut RawDoc) -> js_sys::Promise {
        let inner = self.0.clone();
        let db = self.db();
        let planned = inner.journal.borrow().compaction(&mut doc.0).map_err(to_js);
        promise(async move {
            let done = checkpoint(&inner, &db?, &planned?).await?;
            Ok(js_sys::Float64Array::from(&done[..]).into())
        })
    }

    /// Another connection to this database (a Worker's) compacted it and
    /// resolved to `done` (see `compact`): what it deleted is gone, and
    /// its checkpoint is not this store's to delete.
    #[wasm_bindgen(js_name = compactedElsewhere)]
    pub fn compacted_elsewhere(&self, done: &[f64]) -> Result<(), JsValue> {
        let keys: Vec<u64> = done.iter().map(|&k| k as u64).collect();
        let invalid = || to_js(DecodeError::InvalidValue("compacted").into());
        let [key, bytes, n, ref rest @ ..] = keys[..] else {
            return Err(invalid());
        };
        let (records, checkpoints) = rest.split_at_checked(n as usize).ok_or_else(invalid)?;
        self.db()?.compacted_elsewhere(records, key);
        self.0
            .journal
            .borrow_mut()
            .compacted_elsewhere(records, checkpoints, bytes);
        Ok(())
    }

    /// Another tab stored everything up to `version` (encoded).
    #[wasm_bindgen(js_name = storedElsewhere)]
    pub fn stored_elsewhere(&self, version: &[u8]) -> Result<(), JsValue> {
        let version = Version::decode(version).map_err(|e| to_js(e.into()))?;
        self.0.journal.borrow_mut().stored_elsewhere(&version);
        Ok(())
    }

    /// The version stored, encoded.
    pub fn saved(&self) -> Vec<u8> {
        self.0.journal.borrow().saved().encode()
    }

    /// What this store knows is stored.
    #[wasm_bindgen(unchecked_return_type = "RawStoreStats")]
    pub fn stats(&self) -> JsValue {
        values::store_stats(&self.0.journal.borrow().stats())
    }

    /// After the connection was closed under this store (another page
    /// deleted or upgraded the database): opens it again, and forgets what
    /// was stored, which may be gone; the next compaction writes it all.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reconnect(&self, name: String) -> js_sys::Promise {
        let inner = self.0.clone();
        promise(async move {
            let db = JournalDb::open(&name).await?;
            inner.journal.borrow_mut().forget();
            if let Some(old) = inner.db.replace(Some(db)) {
                old.close();
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Closes the connection (once its transactions are done).
    pub fn close(&self) {
        if let Some(db) = self.0.db.take() {
            db.close();
        }
    }
}
