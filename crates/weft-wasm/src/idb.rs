//! A document's IndexedDB database on `indexed_db_futures`: one database
//! per document (`weft:<name>`, version 2) with stores `records` and
//! `checkpoints`. Only the I/O lives here; what to write is
//! `weft::journal::Journal`'s decision.
//!
//! Keys: a record is added (never put) under the key after the last one
//! this connection knows, so a keystroke costs one request; a key another
//! tab took fails the add, and the writer reads the keys and takes the one
//! after them all. A writer that missed a compaction may so add a record
//! under a key the compaction freed: a compaction therefore deletes a
//! record only if it still holds the entry its writer loaded or wrote
//! (same length and checksum).

use indexed_db_futures::database::Database;
use indexed_db_futures::error::{DomException, Error as IdbError, JSError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use js_sys::{Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use weft::journal;

const RECORDS: &str = "records";
const CHECKPOINTS: &str = "checkpoints";
/// Version 1 kept a key counter in a third store, `meta`, read and written
/// by every append; version 2 does not use it. A tab still running version
/// 1 code cannot open the database once it is 2 (its counter would no
/// longer guard its writes).
const VERSION: u8 = 2;

/// A storage failure as a JavaScript error with a stable code.
fn storage_error(e: impl Into<Failure>) -> JsValue {
    failure_error(e.into())
}

/// `storage_error`'s body, once for every kind of failure it takes (LLVM
/// inlines it into each otherwise: 1 KB of wasm).
#[inline(never)]
fn failure_error(Failure { name, message }: Failure) -> JsValue {
    let err = js_sys::Error::new(&format!("IndexedDB: {name} {message}"));
    err.set_name("WeftStorageError");
    let code = match name.as_str() {
        "QuotaExceededError" => "QUOTA_EXCEEDED",
        // The connection was closed (another page deleted or upgraded the
        // database; see `open`): reopen.
        "InvalidStateError" => "STORAGE_CLOSED",
        "NotSupportedError" | "SecurityError" | "UnsupportedEnvironment" => "STORAGE_UNAVAILABLE",
        _ => "STORAGE",
    };
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// The name and message of a failure, whatever reported it.
struct Failure {
    name: String,
    message: String,
}

impl From<JsValue> for Failure {
    fn from(e: JsValue) -> Self {
        let text = |key: &str| {
            Reflect::get(&e, &key.into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_default()
        };
        Failure {
            name: text("name"),
            message: text("message"),
        }
    }
}

impl From<IdbError> for Failure {
    fn from(e: IdbError) -> Self {
        match e {
            IdbError::DomException(d) => d.into(),
            IdbError::Unknown(JSError::Error(e)) => JsValue::from(e).into(),
            IdbError::Unknown(JSError::Unknown(e)) => e.into(),
            // Not formatted: `Display` of the crate's errors would bring in
            // Rust's number formatting (kilobytes).
            _ => Failure {
                name: "Error".into(),
                message: "unexpected data".into(),
            },
        }
    }
}

impl From<DomException> for Failure {
    fn from(d: DomException) -> Self {
        JsValue::from(d).into()
    }
}

impl From<OpenDbError> for Failure {
    fn from(e: OpenDbError) -> Self {
        match e {
            OpenDbError::Base(e) => e.into(),
            OpenDbError::UnsupportedEnvironment | OpenDbError::NullFactory => Failure {
                name: "UnsupportedEnvironment".into(),
                message: "IndexedDB is not available here (private mode, or not a browser)".into(),
            },
            _ => Failure {
                name: "Error".into(),
                message: "cannot open the database".into(),
            },
        }
    }
}

type Result<T> = std::result::Result<T, JsValue>;

/// Creates the database of `name` with its stores if it does not exist.
///
/// On web-sys directly: `indexed_db_futures`' upgrade handler would bring
/// in its error formatting (11 KB gzipped, Rust's float printing among it),
/// so the upgrade happens in a connection of its own, closed at once, and
/// the crate opens a database that needs none.
async fn create(name: &str) -> Result<()> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .filter(|f| f.is_object())
        .ok_or_else(|| {
            storage_error(Failure {
                name: "UnsupportedEnvironment".into(),
                message: "IndexedDB is not available here (private mode, or not a browser)".into(),
            })
        })?
        .unchecked_into::<web_sys::IdbFactory>();
    let request = factory
        .open_with_u32(name, VERSION.into())
        .map_err(storage_error)?;
    let opened = js_sys::Promise::new(&mut |resolve, reject| {
        let on = |event, settle| Some(open_handler(&request, event, settle).unchecked_into());
        request.set_onupgradeneeded(on(OpenEvent::UpgradeNeeded, &resolve).as_ref());
        request.set_onsuccess(on(OpenEvent::Success, &resolve).as_ref());
        request.set_onerror(on(OpenEvent::Error, &reject).as_ref());
    });
    JsFuture::from(opened).await.map_err(storage_error)?;
    Ok(())
}

#[derive(Clone, Copy)]
enum OpenEvent {
    UpgradeNeeded,
    Success,
    Error,
}

/// `create`'s handler of `event`, which settles its promise with `settle`.
/// One closure for the three events: each closure type brings its own glue
/// into the module.
fn open_handler(
    request: &web_sys::IdbOpenDbRequest,
    event: OpenEvent,
    settle: &js_sys::Function,
) -> JsValue {
    let (req, settle) = (request.clone(), settle.clone());
    Closure::once_into_js(move || match event {
        OpenEvent::UpgradeNeeded => {
            let db: web_sys::IdbDatabase = req.result().unwrap_or_default().unchecked_into();
            for store in [RECORDS, CHECKPOINTS] {
                if !db.object_store_names().contains(store) {
                    // A failure aborts the upgrade: `onerror` reports it.
                    let _ = db.create_object_store(store);
                }
            }
        }
        OpenEvent::Success => {
            let db: web_sys::IdbDatabase = req.result().unwrap_or_default().unchecked_into();
            db.close();
            let _ = settle.call0(&JsValue::UNDEFINED);
        }
        OpenEvent::Error => {
            let error = req
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = settle.call1(&JsValue::UNDEFINED, &error);
        }
    })
}

/// Opens (creating if needed) the database of document `name`.
async fn open(name: &str) -> Result<Database> {
    let name = format!("weft:{name}");
    create(&name).await?;
    let db = Database::open(&name)
        .with_version(VERSION)
        .await
        .map_err(storage_error)?;
    // Another page deleting or upgrading the database must not be blocked by
    // this connection: close it; the store reopens on its next write.
    let sys: &web_sys::IdbDatabase = db.as_sys().unchecked_ref();
    let closing = sys.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || closing.close());
    sys.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
    // Lives as long as the connection: once per open.
    on_change.forget();
    Ok(db)
}

/// A transaction over `stores`.
fn transaction<'a>(db: &'a Database, stores: &[&str], write: bool) -> Result<Transaction<'a>> {
    let mode = if write {
        TransactionMode::Readwrite
    } else {
        TransactionMode::Readonly
    };
    db.transaction(stores)
        .with_mode(mode)
        .build()
        .map_err(storage_error)
}

/// All (key, bytes) pairs of a store, in key order.
async fn entries(tx: &Transaction<'_>, name: &str) -> Result<Vec<(u64, Vec<u8>)>> {
    let store = tx.object_store(name).map_err(storage_error)?;
    let keys = keys_of(&store)?;
    let values = store
        .get_all::<JsValue>()
        .primitive()
        .map_err(storage_error)?;
    let keys = keys.await?;
    let values = values.await.map_err(storage_error)?;
    Ok(keys
        .into_iter()
        .zip(values)
        .map(|(key, v)| {
            // Anything but bytes is damage: an empty entry fails to decode
            // and is reported.
            let bytes = v
                .ok()
                .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                .map(|a| a.to_vec())
                .unwrap_or_default();
            (key, bytes)
        })
        .collect())
}

/// Asks for every key of `store`; the request goes out now.
fn keys_of(store: &ObjectStore<'_>) -> Result<impl std::future::Future<Output = Result<Vec<u64>>>> {
    let request = store
        .get_all_keys::<JsValue>()
        .primitive()
        .map_err(storage_error)?;
    Ok(async move {
        let keys = request.await.map_err(storage_error)?;
        Ok(keys
            .map(|k| k.ok().and_then(|k| k.as_f64()).unwrap_or(0.0) as u64)
            .collect())
    })
}

/// The key after every record's and checkpoint's key (in `tx`, which must
/// include both stores): 1 in an empty database.
async fn key_after_all(tx: &Transaction<'_>) -> Result<u64> {
    let records = keys_of(&tx.object_store(RECORDS).map_err(storage_error)?)?;
    let checkpoints = keys_of(&tx.object_store(CHECKPOINTS).map_err(storage_error)?)?;
    let last = records.await?.into_iter().chain(checkpoints.await?).max();
    Ok(last.map_or(1, |k| k + 1))
}

/// What identifies an entry's bytes: its length and its checksum (the last
/// four bytes of every entry, see `docs/format.md`).
fn fingerprint(entry: &[u8]) -> u64 {
    let tail = entry.len().saturating_sub(4);
    let mut crc = [0; 4];
    crc[..entry.len() - tail].copy_from_slice(&entry[tail..]);
    (entry.len() as u64) << 32 | u64::from(u32::from_le_bytes(crc))
}

/// Stores `bytes` under `key` in store `name`.
fn put(tx: &Transaction<'_>, name: &str, key: u64, bytes: &[u8]) -> Result<()> {
    write(tx, name, key, bytes, true)
}

/// Adds `bytes` under `key` in store `name`; a key already taken fails the
/// request, which aborts the transaction.
fn add(tx: &Transaction<'_>, name: &str, key: u64, bytes: &[u8]) -> Result<()> {
    write(tx, name, key, bytes, false)
}

fn write(tx: &Transaction<'_>, name: &str, key: u64, bytes: &[u8], overwrite: bool) -> Result<()> {
    let store = tx.object_store(name).map_err(storage_error)?;
    let value = JsValue::from(Uint8Array::from(bytes));
    // The request goes out now; the transaction's completion reports it.
    if overwrite {
        drop(
            store
                .put(value)
                .with_key(key as f64)
                .primitive()
                .map_err(storage_error)?,
        );
    } else {
        drop(
            store
                .add(value)
                .with_key(key as f64)
                .primitive()
                .map_err(storage_error)?,
        );
    }
    Ok(())
}

/// Deletes the entries from `first` to `last` (keys, inclusive) in
/// `store`: one request for a run of them.
fn delete(store: &ObjectStore<'_>, first: u64, last: u64) -> Result<()> {
    // On web-sys: the crate's key ranges take half a kilobyte of the module.
    let range = web_sys::IdbKeyRange::bound(&(first as f64).into(), &(last as f64).into());
    // The request goes out now; the transaction's completion reports it.
    range
        .and_then(|range| store.as_sys().delete(&range))
        .map_err(storage_error)?;
    Ok(())
}

/// Commits `tx`; resolves once it completed (what it wrote is durable).
async fn commit(tx: Transaction<'_>) -> Result<()> {
    tx.commit().await.map_err(storage_error)
}

/// A document's journal database. Every operation is one transaction (a
/// compaction two, see `compact`); its promise resolves when that
/// transaction has completed (the data is durable).
#[derive(Clone)]
pub struct JournalDb {
    db: Database,
    /// The key this connection adds its next record under (the one after
    /// the last key it saw), shared by its clones.
    next_key: Rc<Cell<Option<u64>>>,
    /// The key and fingerprint of every record this connection loaded or
    /// wrote and no compaction of it deleted yet: what its compactions may
    /// delete.
    held: Rc<RefCell<Vec<(u64, u64)>>>,
}

impl JournalDb {
    /// Opens (creating if needed) the database of document `name`.
    pub async fn open(name: &str) -> Result<JournalDb> {
        Ok(JournalDb {
            db: open(name).await?,
            next_key: Rc::default(),
            held: Rc::default(),
        })
    }

    /// Reads every entry in one transaction and opens the document,
    /// editing as `replica`.
    pub async fn load(&self, replica: u64) -> Result<journal::Opened> {
        let tx = transaction(&self.db, &[RECORDS, CHECKPOINTS], false)?;
        let checkpoints = entries(&tx, CHECKPOINTS).await?;
        let records = entries(&tx, RECORDS).await?;
        let last = records.iter().chain(&checkpoints).map(|e| e.0).max();
        self.next_key.set(Some(last.map_or(1, |k| k + 1)));
        *self.held.borrow_mut() = records.iter().map(|(k, v)| (*k, fingerprint(v))).collect();
        Ok(journal::open(
            replica,
            checkpoints.iter().map(|(k, v)| (*k, &v[..])),
            records.iter().map(|(k, v)| (*k, &v[..])),
        ))
    }

    /// Appends an update as the next record; returns its key and entry size
    /// once the transaction completed (the update is durable).
    pub async fn append(&self, update: &[u8]) -> Result<(u64, u64)> {
        // One request: the add fails if another tab took the key.
        if let Some(key) = self.next_key.get() {
            let tx = transaction(&self.db, &[RECORDS], true)?;
            if let Ok(added) = self.add_record(tx, key, update).await {
                return Ok(added);
            }
        }
        // The key was taken, or is not known yet: read every key, then add
        // in the same transaction (no other writer comes in between). A
        // failure that was not about the key fails here again, and is
        // reported.
        let tx = transaction(&self.db, &[RECORDS, CHECKPOINTS], true)?;
        let key = key_after_all(&tx).await?;
        self.add_record(tx, key, update).await
    }

    /// Adds the record of `update` under `key` in `tx` and commits it.
    async fn add_record(&self, tx: Transaction<'_>, key: u64, update: &[u8]) -> Result<(u64, u64)> {
        let entry = journal::encode_record(key, update);
        add(&tx, RECORDS, key, &entry)?;
        commit(tx).await?;
        self.next_key.set(Some(key + 1));
        let mut held = self.held.borrow_mut();
        // In key order (see `delete_records`).
        debug_assert!(
            held.last().is_none_or(|h| h.0 < key),
            "{key} after {held:?}"
        );
        held.push((key, fingerprint(&entry)));
        Ok((key, entry.len() as u64))
    }

    /// Carries out `c`: its checkpoint under a fresh key, then the
    /// deletions. Returns the checkpoint's key and entry size.
    ///
    /// Two transactions, so that records appended meanwhile (keystrokes)
    /// never wait for a checkpoint being written: the first holds only the
    /// checkpoints (the new one, the old ones it includes), the second only
    /// the records it includes. A crash between them leaves records the
    /// checkpoint already includes: merged again (idempotently) on the next
    /// open, folded by the next compaction. A record is deleted only if it
    /// still holds what this connection loaded or wrote under its key (see
    /// the module documentation).
    pub async fn compact(&self, c: &journal::Compaction) -> Result<(u64, u64)> {
        let tx = transaction(&self.db, &[CHECKPOINTS], true)?;
        let store = tx.object_store(CHECKPOINTS).map_err(storage_error)?;
        let last = keys_of(&store)?.await?.into_iter().max();
        // After every checkpoint and every key this connection knows (a
        // record another tab added meanwhile is in the other store).
        let known = self.next_key.get().unwrap_or(1);
        let key = last.map_or(1, |k| k + 1).max(known);
        let entry = c.entry(key);
        add(&tx, CHECKPOINTS, key, &entry)?;
        for &old in &c.checkpoints {
            delete(&store, old, old)?;
        }
        commit(tx).await?;
        if self.next_key.get().is_some_and(|next| next <= key) {
            self.next_key.set(Some(key + 1));
        }

        // The checkpoint is stored: the compaction is done whatever happens
        // to the deletions. Should they fail, the records stay as after a
        // crash between the two (the connection's next operation reports a
        // failure that lasts).
        let included = journal::KeySet::new(&c.records);
        let _ = self.delete_records(&included).await;
        // What it did not delete belongs to another writer now: not this
        // connection's to delete later either.
        self.held
            .borrow_mut()
            .retain(|&(k, _)| !included.contains(k));
        Ok((key, entry.len() as u64))
    }

    /// Deletes those of `records` that still hold what this connection
    /// loaded or wrote under their keys: one request per run of them that
    /// is consecutive among the stored records (a request per record made
    /// the transaction take tens of milliseconds, and a keystroke's append
    /// waited for it).
    async fn delete_records(&self, records: &journal::KeySet) -> Result<()> {
        let tx = transaction(&self.db, &[RECORDS], true)?;
        let stored = entries(&tx, RECORDS).await?;
        let store = tx.object_store(RECORDS).map_err(storage_error)?;
        {
            let held = self.held.borrow();
            // `held` is in key order: loaded in it, and each record added
            // after every key its connection knows.
            let gone = |(k, bytes): &(u64, Vec<u8>)| {
                records.contains(*k)
                    && held
                        .binary_search_by_key(k, |h| h.0)
                        .is_ok_and(|i| held[i].1 == fingerprint(bytes))
            };
            for run in stored.chunk_by(|a, b| gone(a) == gone(b)) {
                if gone(&run[0]) {
                    delete(&store, run[0].0, run[run.len() - 1].0)?;
                }
            }
        }
        commit(tx).await
    }

    /// Another connection (a Worker compacting for this page) stored its
    /// checkpoint under `key` and deleted `records`: neither is this
    /// connection's to delete, and its next record goes after the key.
    pub fn compacted_elsewhere(&self, records: &[u64], key: u64) {
        if self.next_key.get().is_some_and(|next| next <= key) {
            self.next_key.set(Some(key + 1));
        }
        let gone = journal::KeySet::new(records);
        self.held.borrow_mut().retain(|&(k, _)| !gone.contains(k));
    }

    /// How many records this connection's compactions may delete.
    pub fn held_records(&self) -> usize {
        self.held.borrow().len()
    }

    /// Writes raw bytes as a record (tests inject damage with it).
    pub async fn put_raw(&self, key: u64, bytes: &[u8]) -> Result<()> {
        let tx = transaction(&self.db, &[RECORDS], true)?;
        put(&tx, RECORDS, key, bytes)?;
        commit(tx).await
    }

    /// Closes the connection (once its transactions are done).
    pub fn close(self) {
        self.db.close();
    }
}
