// A page the storage tests drive: the package as a user imports it, plus a
// helper that reads the raw IndexedDB contents.
import { Doc, Store } from "weft";

window.weft = { Doc, Store };

/** Counts and sizes of the stored entries of document `name`. */
window.storageOf = (name) =>
  new Promise((resolve, reject) => {
    const req = indexedDB.open(`weft:${name}`);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction(["records", "checkpoints"]);
      const out = {};
      let pending = 2;
      for (const s of ["records", "checkpoints"]) {
        const r = tx.objectStore(s).getAll();
        r.onsuccess = () => {
          out[s] = r.result.length;
          out[`${s}Bytes`] = r.result.reduce((n, v) => n + v.byteLength, 0);
          if (--pending === 0) { db.close(); resolve(out); }
        };
      }
    };
  });

/** Writes raw bytes as a record, as damage would. */
window.damage = (name, key, bytes) =>
  new Promise((resolve, reject) => {
    const req = indexedDB.open(`weft:${name}`);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction("records", "readwrite");
      tx.objectStore("records").put(new Uint8Array(bytes), key);
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
    req.onerror = () => reject(req.error);
  });

window.ready = true;
