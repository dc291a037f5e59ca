// A Store in Node, where an IndexedDB that refuses to open stands in for a
// browser's blocked storage: the store edits in memory and retries with
// backoff. What is tested: a store whose document is freed stops retrying
// and says so once, a closed store stays closed with coded errors, a store
// attaches to an existing document, and what it merges from other tabs has
// the store as its origin. (Real IndexedDB: e2e/tests/store.test.mjs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Doc, Store } from "weft";
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

test("Store.open with { doc } attaches to that document: its text stays, and it keeps working", async () => {
  const doc = new Doc({ replica: 5n });
  doc.insert(0, "typed before storage");
  const store = await Store.open("attached", { doc });
  const errors = [];
  store.on("error", (e) => errors.push(e));
  try {
    assert.equal(store.doc, doc);
    assert.equal(doc.toString(), "typed before storage");
    assert.equal(doc.replica, 5n, "a given document keeps its replica id");
    doc.insert(0, "> ");
    assert.equal(store.doc.toString(), "> typed before storage");
    await sleep(50);
    assert.ok(errors.length >= 1 && errors.every((e) => e.code === "STORAGE_UNAVAILABLE"), errors.join("; "));
  } finally {
    await store.close();
  }
  // The store never frees a document it was given.
  assert.equal(doc.state, "open");
  doc.insert(0, "still mine ");
});

test("Store.open refuses a { doc } that is not an open Doc, with a code", async () => {
  await assert.rejects(Store.open("bad-doc", { doc: {} }), (e) => e instanceof TypeError && e.code === "INVALID_ARGUMENT");
  const freed = new Doc();
  freed.free();
  await assert.rejects(Store.open("bad-doc", { doc: freed }), (e) => e.code === "DOCUMENT_FREED");
});

test("another tab's edits arrive with the store as origin, a transaction of theirs as one change", async () => {
  const name = `tabs-${Math.random()}`;
  const a = await Store.open(name);
  const b = await Store.open(name);
  try {
    const changesA = [];
    const changesB = [];
    a.doc.on("change", (e) => changesA.push(e));
    b.doc.on("change", (e) => changesB.push(e));
    await sleep(50); // the tabs greet each other
    a.doc.transact(() => {
      a.doc.insert(0, "one ");
      a.doc.insert(4, "two ");
      a.doc.insert(8, "three");
    }, "a's editor");
    const until = Date.now() + 5_000;
    while (b.doc.toString() !== "one two three" && Date.now() < until) await sleep(10);
    assert.equal(b.doc.toString(), "one two three");
    await sleep(50); // nothing more is coming
    assert.deepEqual(changesA.map((e) => [e.origin, e.local]), [["a's editor", true]]);
    assert.equal(changesB.length, 1, "one message, one change");
    assert.equal(changesB[0].origin, b, "merged by the store: the store is the origin");
    assert.equal(changesB[0].local, false);
    assert.deepEqual(changesB[0].delta, [{ insert: "one two three" }]);
    // And back: b's edit reaches a with a's store as its origin.
    b.doc.insert(0, "zero ");
    while (a.doc.toString() !== "zero one two three" && Date.now() < until) await sleep(10);
    assert.equal(changesA.at(-1).origin, a);
  } finally {
    await a.close();
    await b.close();
  }
});
