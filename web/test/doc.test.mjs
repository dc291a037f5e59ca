// Tests of the built package, imported by its name as a user would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc, applyDelta, compose } from "weft";

test("edits with UTF-16 indices", () => {
  const doc = new Doc();
  doc.insert(0, "héllo 😀!");
  assert.equal(doc.length, "héllo 😀!".length);
  doc.insert(8, "?");
  assert.equal(doc.toString(), "héllo 😀?!");
  doc.delete(6, 2);
  assert.equal(doc.toString(), "héllo ?!");
  assert.equal(doc.slice(1, 5), "éllo");
  assert.equal(doc.slice(6), "?!");
  doc.free();
});

test("bad indices are RangeErrors with a code and change nothing", () => {
  const doc = new Doc();
  doc.insert(0, "a😀b");
  assert.throws(() => doc.insert(2, "x"), (e) => e instanceof RangeError && e.code === "NOT_CHAR_BOUNDARY");
  assert.throws(() => doc.insert(9, "x"), (e) => e instanceof RangeError && e.code === "INDEX_OUT_OF_BOUNDS" && /9/.test(e.message));
  assert.throws(() => doc.delete(-1, 1), (e) => e instanceof RangeError && e.code === "INVALID_ARGUMENT");
  assert.throws(() => doc.insert(NaN, "x"), (e) => e instanceof RangeError && e.code === "INVALID_ARGUMENT");
  assert.throws(() => doc.slice(3, 1), (e) => e instanceof RangeError && e.code === "INVALID_RANGE");
  assert.equal(doc.toString(), "a😀b");
});

test("garbage updates throw a WeftError and change nothing", () => {
  const doc = new Doc();
  doc.insert(0, "keep");
  for (const bytes of [new Uint8Array([1, 2, 3]), new TextEncoder().encode("WEFT and then garbage")]) {
    assert.throws(() => doc.applyUpdate(bytes), (e) => e.name === "WeftError" && e.code === "INVALID_ENCODING" && typeof e.reason === "string");
  }
  assert.equal(doc.toString(), "keep");
});

test("replicas converge and remote changes arrive as deltas", () => {
  const a = new Doc({ replica: 1n });
  const b = new Doc({ replica: 2n });
  assert.equal(a.replica, 1n);
  a.insert(0, "hello world");
  b.applyUpdate(a.encodeUpdate());
  const events = [];
  b.on("change", (e) => events.push(e));
  a.insert(5, ",");
  a.delete(7, 5);
  a.insert(7, "there");
  const before = b.toString();
  b.applyUpdate(a.encodeUpdate(b.version()));
  assert.equal(b.toString(), "hello, there");
  assert.equal(events.length, 1);
  assert.equal(events[0].origin, "remote");
  assert.equal(applyDelta(before, events[0].delta), b.toString());
  // Duplicates and old updates change nothing and emit nothing.
  b.applyUpdate(a.encodeUpdate());
  assert.equal(events.length, 1);
});

test("local changes emit events after the change, and listeners may edit", () => {
  const doc = new Doc();
  const seen = [];
  const listener = (e) => {
    seen.push([e.origin, e.delta, doc.toString()]);
    if (doc.length === 1) doc.insert(1, "!"); // re-entrant edit is safe
  };
  doc.on("change", listener);
  doc.insert(0, "x");
  assert.deepEqual(seen[0], ["local", [{ insert: "x" }], "x"]);
  assert.deepEqual(seen[1], ["local", [{ retain: 1 }, { insert: "!" }], "x!"]);
  doc.off("change", listener);
  doc.delete(0, 1);
  assert.equal(seen.length, 2);
});

test("state round trips through encodeState and Doc.load", () => {
  const a = new Doc();
  a.insert(0, "line one\nline two\n");
  const b = Doc.load(a.encodeState());
  assert.equal(b.toString(), a.toString());
  assert.equal(b.lineCount, 3);
  assert.equal(b.lineStart(1), 9);
  b.insert(0, ">");
  a.applyUpdate(b.encodeUpdate(a.version()));
  assert.equal(a.toString(), ">line one\nline two\n");
});

test("sticky indices follow their character", () => {
  const a = new Doc({ replica: 10n });
  a.insert(0, "ab");
  const right = a.stickyIndex(1);
  const left = a.stickyIndex(1, "left");
  a.insert(1, "XY");
  assert.equal(a.resolveSticky(right), 3);
  assert.equal(a.resolveSticky(left.bytes), 1);
  const b = new Doc({ replica: 11n });
  assert.throws(() => b.resolveSticky(right), (e) => e.code === "UNKNOWN_ANCHOR");
  b.applyUpdate(a.encodeState());
  b.insert(0, "😀");
  assert.equal(b.resolveSticky(right), 5);
});

test("Symbol.dispose frees the document", () => {
  const doc = new Doc();
  doc.insert(0, "x");
  doc[Symbol.dispose]();
  assert.throws(() => doc.toString());
});

test("compose of deltas matches applying them in turn", () => {
  const text = "abcdef";
  const d1 = [{ retain: 2 }, { insert: "XY" }, { delete: 1 }];
  const d2 = [{ retain: 1 }, { delete: 2 }, { retain: 2 }, { insert: "!" }];
  assert.equal(applyDelta(text, compose(d1, d2)), applyDelta(applyDelta(text, d1), d2));
});

test("without IndexedDB, Store.open rejects with a clear code", async () => {
  const { Store } = await import("weft");
  await assert.rejects(Store.open("notes"), (e) => e.name === "WeftStorageError" && e.code === "STORAGE_UNAVAILABLE" && /not available/.test(e.message));
});

test("a large merge's change event carries a delta that turns the old text into the new", () => {
  const base = new Doc();
  base.insert(0, "start ".repeat(50));
  const a = Doc.load(base.encodeState());
  const b = Doc.load(base.encodeState());
  let seed = 7;
  const next = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 500; i++) {
    if (i % 5 === 4) a.delete(next(a.length - 1), 2);
    else a.insert(next(a.length + 1), `x${i}é`);
  }
  const before = b.toString();
  let event;
  b.on("change", (e) => (event = e));
  b.applyUpdate(a.encodeUpdate(b.version()));
  assert.ok(event.patches.length > 64, "enough patches to take the coarse path");
  assert.equal(applyDelta(before, event.delta), a.toString());
  assert.equal(b.toString(), a.toString());
});
