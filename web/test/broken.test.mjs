// A document whose WebAssembly object fails. A trap (a panic, memory or
// stack running out) unwinds through the binding's frames without running
// Rust's cleanup, so the object stays borrowed for good and the binding
// refuses it from then on. No input reaches a trap any more, so the test
// makes the same unwinding happen for real: a JavaScript function the
// module calls (the `RangeError` constructor, for an index out of bounds)
// throws through the module's frames. The document must then say it is
// broken, and throw one coded error on every call instead of the binding's
// "recursive use of an object". (Its own file: node runs each test file in a
// process of its own, and this one leaves a WebAssembly instance with a
// dead object.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc } from "weft";
import { blockStorage } from "./blocked-storage.mjs";

/** Calls `f` while every `new RangeError` throws `thrown`. */
function withFailingRangeError(thrown, f) {
  const RealRangeError = globalThis.RangeError;
  globalThis.RangeError = function () {
    throw thrown;
  };
  try {
    return f();
  } finally {
    globalThis.RangeError = RealRangeError;
  }
}

test("a document whose WebAssembly object failed is broken: coded errors from then on, and a broken event", () => {
  const doc = new Doc();
  doc.insert(0, "stored elsewhere");
  const saved = doc.encodeState();
  const broken = [];
  const changes = [];
  doc.on("broken", (e) => broken.push(e));
  doc.on("change", (e) => changes.push(e));

  const trap = new Error("unwound through the WebAssembly frames");
  let thrown;
  try {
    withFailingRangeError(trap, () => doc.insert(99, "x"));
  } catch (e) {
    thrown = e;
  }
  assert.equal(thrown?.code, "DOCUMENT_BROKEN", `threw ${thrown}`);
  assert.equal(thrown.name, "WeftError");
  assert.equal(thrown.cause, trap);
  assert.equal(doc.state, "broken");
  assert.equal(broken.length, 1);
  assert.equal(broken[0].code, "DOCUMENT_BROKEN");
  assert.equal(broken[0].cause, trap);

  const calls = [
    () => doc.toString(),
    () => doc.length,
    () => doc.replica,
    () => doc.lineCount,
    () => doc.insert(0, "y"),
    () => doc.delete(0, 1),
    () => doc.slice(0, 1),
    () => doc.version(),
    () => doc.encodeState(),
    () => doc.encodeUpdate(),
    () => doc.applyUpdate(saved),
    () => doc.stickyIndex(0),
    () => doc.lineStart(0),
    () => doc.stats(),
  ];
  for (const call of calls) {
    assert.throws(call, (e) => e.name === "WeftError" && e.code === "DOCUMENT_BROKEN" && e.cause === trap, String(call));
  }
  assert.equal(changes.length, 0);
  assert.equal(broken.length, 1, "said once");

  // What an application does on `broken`: open the document again from
  // what was stored. Other documents of the module keep working.
  const again = Doc.load(saved);
  again.insert(again.length, "!");
  assert.equal(again.toString(), "stored elsewhere!");

  // Freeing a broken document is allowed (its memory is left alone).
  doc.free();
  assert.equal(doc.state, "freed");
  assert.throws(() => doc.toString(), (e) => e.code === "DOCUMENT_FREED");
});

test("a coded error from the binding leaves the document open", () => {
  const doc = new Doc();
  doc.insert(0, "a😀");
  assert.throws(() => doc.insert(2, "x"), (e) => e instanceof RangeError && e.code === "NOT_CHAR_BOUNDARY");
  assert.throws(() => doc.applyUpdate(new Uint8Array([1, 2, 3])), (e) => e.code === "INVALID_ENCODING");
  assert.equal(doc.state, "open");
  doc.insert(3, "b");
  assert.equal(doc.toString(), "a😀b");
});

test("a provider whose document breaks disconnects with DOCUMENT_BROKEN, not a protocol error", async () => {
  const { connect } = await import("weft");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (condition, what) => {
    for (const end = Date.now() + 5_000; !condition(); await sleep(10)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    }
  };
  const room = `broken-${Math.random()}`;
  const doc = new Doc();
  doc.insert(0, "shared");
  const a = connect(doc, { room });
  const errors = [];
  const order = [];
  a.on("error", (e) => {
    errors.push(e);
    order.push(`error while ${a.status}`);
  });
  doc.on("broken", () => order.push(`broken while ${a.status}`));
  const other = new Doc();
  const b = connect(other, { room });
  const left = [];
  b.on("peerLeave", (e) => left.push(e.peer));
  try {
    await until(() => other.toString() === "shared" && a.status === "synced" && b.status === "synced", "the sync");
    const trap = new Error("unwound through the WebAssembly frames");
    assert.throws(() => withFailingRangeError(trap, () => doc.insert(99, "x")), (e) => e.code === "DOCUMENT_BROKEN");
    assert.equal(a.status, "offline");
    assert.deepEqual(errors.map((e) => e.code), ["DOCUMENT_BROKEN"]);
    assert.equal(errors[0].cause, trap);
    // The provider stopped before the application heard of the break.
    assert.deepEqual(order, ["error while offline", "broken while offline"]);
    // The other side's edits no longer reach it, nor any timer of it.
    other.insert(0, "more ");
    await sleep(1_200);
    await until(() => left.length === 1, "the other side to see it leave");
    assert.deepEqual(errors.map((e) => e.code), ["DOCUMENT_BROKEN"]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test("a store whose document breaks stops: one DOCUMENT_BROKEN, no retries", async () => {
  const { Store } = await import("weft");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Storage that refuses to open: the store edits in memory and retries.
  const unblock = blockStorage();
  try {
    const store = await Store.open("broken");
    const errors = [];
    store.on("error", (e) => errors.push(e.code));
    store.doc.insert(0, "x");
    await sleep(50);
    const before = errors.length;
    assert.throws(() => withFailingRangeError(new Error("trap"), () => store.doc.insert(99, "x")), (e) => e.code === "DOCUMENT_BROKEN");
    await sleep(1_200);
    assert.deepEqual(errors.slice(before), ["DOCUMENT_BROKEN"]);
    await assert.rejects(store.whenDurable(), (e) => e.code === "DOCUMENT_BROKEN");
    await store.close();
  } finally {
    unblock();
  }
});
