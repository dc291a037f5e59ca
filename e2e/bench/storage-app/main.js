// Storage measurements in the page, for ../storage.mjs: weft's Store against
// yjs with y-indexeddb, through their public APIs.
import { Store } from "weft";
import * as Y from "yjs";
import { IndexeddbPersistence } from "y-indexeddb";

const trace = async () => (await fetch("/trace.json")).json();

function applyY(text, [pos, del, ins]) {
  if (del) text.delete(pos, del);
  if (ins) text.insert(pos, ins);
}

function applyWeft(doc, [pos, del, ins]) {
  if (del) doc.delete(pos, del);
  if (ins) doc.insert(pos, ins);
}

/** Resolves once every write y-indexeddb issued so far has committed: a
 * readonly transaction on the same store waits for earlier readwrite ones. */
function yDurable(persistence) {
  return new Promise((resolve) => {
    const tx = persistence.db.transaction(["updates"], "readonly");
    tx.oncomplete = resolve;
    tx.onerror = resolve;
  });
}

/** Bytes held by every object store of a database. */
window.storedBytes = (dbName) =>
  new Promise((resolve, reject) => {
    const req = indexedDB.open(dbName);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const names = [...db.objectStoreNames];
      const tx = db.transaction(names);
      let total = 0;
      let pending = names.length;
      for (const n of names) {
        const r = tx.objectStore(n).getAll();
        r.onsuccess = () => {
          for (const v of r.result) total += v?.byteLength ?? 0;
          if (--pending === 0) { db.close(); resolve(total); }
        };
      }
    };
  });

/** Keystroke-to-durable latencies (ms) over the first `n` edits. */
window.latency = async (impl, name, n) => {
  const { patches } = await trace();
  const out = [];
  if (impl === "weft") {
    const store = await Store.open(name);
    for (const p of patches.slice(0, n)) {
      const t0 = performance.now();
      applyWeft(store.doc, p);
      await store.whenDurable();
      out.push(performance.now() - t0);
    }
    await store.close();
  } else {
    const ydoc = new Y.Doc();
    const persistence = new IndexeddbPersistence(name, ydoc);
    await persistence.whenSynced;
    const text = ydoc.getText("text");
    for (const p of patches.slice(0, n)) {
      const t0 = performance.now();
      ydoc.transact(() => applyY(text, p));
      await yDurable(persistence);
      out.push(performance.now() - t0);
    }
    await persistence.destroy();
  }
  return out;
};

/**
 * Stores the whole trace, `batch` edits per write; returns bytes stored.
 * Unless `close`, weft's store is left open like a tab that was killed (its
 * last records stay in the journal instead of being folded by `close()`).
 */
window.storeAll = async (impl, name, batch, compaction, close = true) => {
  const { patches } = await trace();
  if (impl === "weft") {
    const store = await Store.open(name, compaction ? {} : { compactionFloorBytes: Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < patches.length; i++) {
      applyWeft(store.doc, patches[i]);
      if (i % batch === batch - 1) await store.whenDurable();
    }
    await store.whenDurable();
    if (close) await store.close();
    return window.storedBytes(`weft:${name}`);
  }
  const ydoc = new Y.Doc();
  const persistence = new IndexeddbPersistence(name, ydoc);
  await persistence.whenSynced;
  const text = ydoc.getText("text");
  for (let i = 0; i < patches.length; i += batch) {
    ydoc.transact(() => patches.slice(i, i + batch).forEach((p) => applyY(text, p)));
    await yDurable(persistence);
  }
  await persistence.destroy();
  return window.storedBytes(name);
};

/**
 * Time (ms) to open a stored document until it is ready to edit. Weft's
 * store is left open (the page is reloaded next): closing would fold the
 * journal into a checkpoint and change what the next open finds.
 */
window.openTime = async (impl, name) => {
  const t0 = performance.now();
  let length;
  if (impl === "weft") {
    const store = await Store.open(name);
    length = store.doc.length;
    return { ms: performance.now() - t0, length };
  }
  const ydoc = new Y.Doc();
  const persistence = new IndexeddbPersistence(name, ydoc);
  await persistence.whenSynced;
  length = ydoc.getText("text").length;
  const ms = performance.now() - t0;
  await persistence.destroy();
  return { ms, length };
};

window.ready = true;
