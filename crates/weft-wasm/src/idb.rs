//! A document's IndexedDB database on `indexed_db_futures`: one database
//! per document (`weft:<name>`) with stores `records`, `checkpoints` and
//! `meta` (the key counter). Only the I/O lives here; what to write is
//! `weft::journal::Journal`'s decision.

use indexed_db_futures::database::Database;
use indexed_db_futures::error::{DomException, Error as IdbError, JSError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use js_sys::{Reflect, Uint8Array};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use weft::journal;

const RECORDS: &str = "records";
const CHECKPOINTS: &str = "checkpoints";
const META: &str = "meta";
const NEXT_KEY: &str = "nextKey";

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
    let request = factory.open_with_u32(name, 1).map_err(storage_error)?;
    let opened = js_sys::Promise::new(&mut |resolve, reject| {
        let req = request.clone();
        request.set_onupgradeneeded(Some(
            &Closure::once_into_js(move || {
                let db: web_sys::IdbDatabase = req.result().unwrap_or_default().unchecked_into();
                for store in [RECORDS, CHECKPOINTS, META] {
                    if !db.object_store_names().contains(store) {
                        // A failure aborts the upgrade: `onerror` reports it.
                        let _ = db.create_object_store(store);
                    }
                }
            })
            .unchecked_into(),
        ));
        let req = request.clone();
        request.set_onsuccess(Some(
            &Closure::once_into_js(move || {
                let db: web_sys::IdbDatabase = req.result().unwrap_or_default().unchecked_into();
                db.close();
                let _ = resolve.call0(&JsValue::UNDEFINED);
            })
            .unchecked_into(),
        ));
        let req = request.clone();
        request.set_onerror(Some(
            &Closure::once_into_js(move || {
                let error = req
                    .error()
                    .ok()
                    .flatten()
                    .map_or(JsValue::UNDEFINED, JsValue::from);
                let _ = reject.call1(&JsValue::UNDEFINED, &error);
            })
            .unchecked_into(),
        ));
    });
    JsFuture::from(opened).await.map_err(storage_error)?;
    Ok(())
}

/// Opens (creating if needed) the database of document `name`.
async fn open(name: &str) -> Result<Database> {
    let name = format!("weft:{name}");
    create(&name).await?;
    let db = Database::open(&name)
        .with_version(1u8)
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
    let keys = store
        .get_all_keys::<JsValue>()
        .primitive()
        .map_err(storage_error)?;
    let values = store
        .get_all::<JsValue>()
        .primitive()
        .map_err(storage_error)?;
    let keys = keys.await.map_err(storage_error)?;
    let values = values.await.map_err(storage_error)?;
    Ok(keys
        .zip(values)
        .map(|(k, v)| {
            let key = k.ok().and_then(|k| k.as_f64()).unwrap_or(0.0) as u64;
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

/// Stores `bytes` under `key` in store `name`.
fn put(tx: &Transaction<'_>, name: &str, key: u64, bytes: &[u8]) -> Result<()> {
    let store = tx.object_store(name).map_err(storage_error)?;
    // The request goes out now; the transaction's completion reports it.
    drop(
        store
            .put(JsValue::from(Uint8Array::from(bytes)))
            .with_key(key as f64)
            .primitive()
            .map_err(storage_error)?,
    );
    Ok(())
}

/// Deletes the entries under `keys` in store `name`.
fn delete(tx: &Transaction<'_>, name: &str, keys: &[u64]) -> Result<()> {
    let store = tx.object_store(name).map_err(storage_error)?;
    for &k in keys {
        drop(store.delete(k as f64).primitive().map_err(storage_error)?);
    }
    Ok(())
}

/// Asks for the counter's value (in `tx`, which must include `meta`): the
/// request goes out now, so writes issued after it still happen after it.
fn counter(tx: &Transaction<'_>) -> Result<impl std::future::Future<Output = Result<Option<u64>>>> {
    let meta = tx.object_store(META).map_err(storage_error)?;
    let request = meta
        .get::<JsValue, _, _>(NEXT_KEY)
        .primitive()
        .map_err(storage_error)?;
    Ok(async move {
        let value = request.await.map_err(storage_error)?;
        Ok(value.and_then(|v| v.as_f64()).map(|k| k as u64))
    })
}

/// Sets the counter (in `tx`, which must include `meta` for writing).
fn set_counter(tx: &Transaction<'_>, next: u64) -> Result<()> {
    let meta = tx.object_store(META).map_err(storage_error)?;
    drop(
        meta.put(JsValue::from(next as f64))
            .with_key(NEXT_KEY)
            .primitive()
            .map_err(storage_error)?,
    );
    Ok(())
}

/// Commits `tx`; resolves once it completed (what it wrote is durable).
async fn commit(tx: Transaction<'_>) -> Result<()> {
    tx.commit().await.map_err(storage_error)
}

/// Rolls `tx` back: none of its writes happen.
async fn abort(tx: Transaction<'_>) {
    // Aborting reports the abort as its outcome: nothing to act on.
    let _ = tx.abort().await;
}

/// A document's journal database. Every operation is one transaction; its
/// promise resolves when that transaction has completed (the data is
/// durable).
#[derive(Clone)]
pub struct JournalDb {
    db: Database,
    /// The key this connection expects the counter in `meta` to hold next
    /// (what it last left there), shared by its clones.
    expected_key: Rc<Cell<Option<u64>>>,
}

impl JournalDb {
    /// Opens (creating if needed) the database of document `name`.
    pub async fn open(name: &str) -> Result<JournalDb> {
        Ok(JournalDb {
            db: open(name).await?,
            expected_key: Rc::default(),
        })
    }

    /// Reads every entry in one transaction and opens the document,
    /// editing as `replica`.
    pub async fn load(&self, replica: u64) -> Result<journal::Opened> {
        let tx = transaction(&self.db, &[RECORDS, CHECKPOINTS], false)?;
        let checkpoints = entries(&tx, CHECKPOINTS).await?;
        let records = entries(&tx, RECORDS).await?;
        Ok(journal::open(
            replica,
            checkpoints.iter().map(|(k, v)| (*k, &v[..])),
            records.iter().map(|(k, v)| (*k, &v[..])),
        ))
    }

    /// Appends an update as the next record; returns its key and entry size
    /// once the transaction completed (the update is durable).
    pub async fn append(&self, update: &[u8]) -> Result<(u64, u64)> {
        if let Some(key) = self.expected_key.get() {
            if let Some(bytes) = self.append_as(key, update).await? {
                return Ok((key, bytes));
            }
        }
        let tx = transaction(&self.db, &[RECORDS, META], true)?;
        let key = counter(&tx)?.await?.unwrap_or(1);
        set_counter(&tx, key + 1)?;
        let entry = journal::encode_record(key, update);
        put(&tx, RECORDS, key, &entry)?;
        commit(tx).await?;
        self.expected_key.set(Some(key + 1));
        Ok((key, entry.len() as u64))
    }

    /// Appends under `key` if the counter still holds it (no other tab
    /// wrote since this connection did). The check and the writes go out
    /// together, saving a round trip per keystroke; if the check fails the
    /// transaction is rolled back, nothing is written, and `None` says to
    /// read the counter instead.
    async fn append_as(&self, key: u64, update: &[u8]) -> Result<Option<u64>> {
        let tx = transaction(&self.db, &[RECORDS, META], true)?;
        let found = counter(&tx)?;
        let entry = journal::encode_record(key, update);
        put(&tx, RECORDS, key, &entry)?;
        set_counter(&tx, key + 1)?;
        // Requests run in order: the writes have not happened yet when the
        // counter's value arrives, so rolling back here undoes them.
        if found.await? != Some(key) {
            self.expected_key.set(None);
            abort(tx).await;
            return Ok(None);
        }
        commit(tx).await?;
        self.expected_key.set(Some(key + 1));
        Ok(Some(entry.len() as u64))
    }

    /// Carries out `c` in one transaction: its checkpoint under a fresh key,
    /// and the deletions. Returns the checkpoint's key and entry size.
    pub async fn compact(&self, c: &journal::Compaction) -> Result<(u64, u64)> {
        let tx = transaction(&self.db, &[RECORDS, CHECKPOINTS, META], true)?;
        let key = counter(&tx)?.await?.unwrap_or(1);
        set_counter(&tx, key + 1)?;
        let entry = c.entry(key);
        put(&tx, CHECKPOINTS, key, &entry)?;
        delete(&tx, CHECKPOINTS, &c.checkpoints)?;
        delete(&tx, RECORDS, &c.records)?;
        commit(tx).await?;
        self.expected_key.set(Some(key + 1));
        Ok((key, entry.len() as u64))
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
