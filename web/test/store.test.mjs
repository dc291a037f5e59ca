// A Store in Node, where an IndexedDB that refuses to open stands in for a
// browser's blocked storage: the store edits in memory and retries with
// backoff. What is tested: a store whose document is freed stops retrying
// and says so once, and a closed store stays closed with coded errors.
// (Real IndexedDB: e2e/tests/store.test.mjs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Store } from "weft";
import { blockStorage } from "./blocked-storage.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let unblock;
before(() => {
  unblock = blockStorage();
});

after(() => unblock());

async function openRecorded(name) {
  const store = await Store.open(name);
  const errors = [];
  store.on("error", (e) => errors.push(e));
  return { store, errors };
}

test("a store whose document is freed stops retrying: one DOCUMENT_FREED, then it is closed", async () => {
  const { store, errors } = await openRecorded("freed");
  store.doc.insert(0, "kept in memory");
  await sleep(50);
  assert.ok(errors.length >= 1 && errors.every((e) => e.code === "STORAGE_UNAVAILABLE"), errors.join("; "));
  const pending = store.whenDurable();
  pending.catch(() => {}); // checked below
  const before = errors.length;
  store.doc.free();
  // Retries would come after 250, 500, 1000 ms.
  await sleep(1_200);
  assert.deepEqual(errors.slice(before).map((e) => e.code), ["DOCUMENT_FREED"]);
  await assert.rejects(pending, (e) => e.code === "DOCUMENT_FREED");
  await assert.rejects(store.whenDurable(), (e) => e.code === "DOCUMENT_FREED");
  await assert.rejects(store.compact(), (e) => e.code === "STORE_CLOSED");
  await store.close();
  await store.close();
  assert.equal(errors.length, before + 1);
});

test("a closed store stays closed: close() again is the same promise, later calls reject with STORE_CLOSED", async () => {
  const { store, errors } = await openRecorded("closed");
  store.doc.insert(0, "x");
  const closing = store.close();
  assert.equal(store.close(), closing);
  await closing;
  assert.equal(store.close(), closing);
  await assert.rejects(store.compact(), (e) => e.name === "WeftStorageError" && e.code === "STORE_CLOSED");
  await assert.rejects(store.whenDurable(), (e) => e.code === "STORE_CLOSED");
  assert.equal(typeof store.stats().records, "number");
  // The document is the application's: still usable, no longer stored.
  store.doc.insert(1, "y");
  assert.equal(store.doc.toString(), "xy");
  const seen = errors.length;
  await sleep(600);
  assert.equal(errors.length, seen, "nothing retried after close");
});
