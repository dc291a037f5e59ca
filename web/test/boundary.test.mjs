// The package's boundary: every misuse of the API is an error with a `code`,
// never a trap in the WebAssembly module, never a document left unusable,
// and a document never tells its listeners anything but what it holds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Doc, applyDelta, connect } from "weft";

const web = fileURLToPath(new URL("..", import.meta.url));

/** A predicate for assert.throws: the error's class and code. */
const coded = (Class, code) => (e) => {
  assert.ok(e instanceof Class, `expected a ${Class.name}, got ${e?.name}: ${e?.message}`);
  assert.equal(e.code, code, `code of ${e.name}: ${e.message}`);
  return true;
};

/** A document with a mirror of its text built only from change events. */
function mirrored(options) {
  const doc = new Doc(options);
  const view = { text: "", events: 0 };
  doc.on("change", (e) => {
    view.text = applyDelta(view.text, e.delta);
    view.events++;
  });
  return { doc, view };
}

test("text that is not a string is a TypeError with a code, never a trap", () => {
  const { doc, view } = mirrored();
  doc.insert(0, "keep");
  for (const text of [123, {}, true, Symbol("s"), 5n, null, undefined, ["a"], new String("boxed")]) {
    assert.throws(() => doc.insert(0, text), coded(TypeError, "INVALID_ARGUMENT"));
  }
  assert.equal(doc.state, "open");
  doc.insert(4, "!");
  assert.equal(doc.toString(), "keep!");
  assert.equal(view.text, "keep!");
  assert.equal(view.events, 2);
});

test("text with a lone surrogate is refused, so change events always match the document", () => {
  const { doc, view } = mirrored();
  doc.insert(0, "a😀b");
  for (const text of ["\uD800", "x\uDC00", "\uD83D", "x\uDE00y", "😀\uD83D", "\uDE00\uD83D"]) {
    assert.throws(() => doc.insert(1, text), (e) => coded(RangeError, "LONE_SURROGATE")(e) && /toWellFormed/.test(e.message));
  }
  assert.equal(doc.toString(), "a😀b");
  assert.equal(view.events, 1);
  // What the error suggests: the replacement character, stored and reported alike.
  doc.insert(1, "x\uD800y".toWellFormed());
  assert.equal(doc.toString(), "ax\uFFFDy😀b");
  assert.equal(view.text, doc.toString());
  // A merged change reports what the other document holds.
  const other = new Doc();
  const seen = [];
  other.on("change", (e) => seen.push(applyDelta("", e.delta)));
  other.applyUpdate(doc.encodeUpdate());
  assert.deepEqual(seen, [doc.toString()]);
});

test("indices must be non-negative integer numbers: nothing is coerced or echoed raw", () => {
  const { doc, view } = mirrored();
  doc.insert(0, "hello\nworld");
  const types = [
    () => doc.insert("2", "x"),
    () => doc.insert(null, "x"),
    () => doc.insert(undefined, "x"),
    () => doc.insert(2n, "x"),
    () => doc.insert({ valueOf: () => 1 }, "x"),
    () => doc.delete("1", 1),
    () => doc.delete(0, "1"),
    () => doc.delete(0, null),
    () => doc.slice("0"),
    () => doc.slice(0, null),
    () => doc.lineStart("1"),
    () => doc.stickyIndex("1"),
  ];
  for (const call of types) assert.throws(call, coded(TypeError, "INVALID_ARGUMENT"));
  const values = [
    () => doc.insert(1.5, "x"),
    () => doc.insert(-1, "x"),
    () => doc.insert(NaN, "x"),
    () => doc.insert(Infinity, "x"),
    () => doc.delete(0, -1),
    () => doc.delete(0.5, 1),
    () => doc.slice(0, 2.5),
    () => doc.lineStart(-1),
    () => doc.stickyIndex(-0.5),
  ];
  for (const call of values) assert.throws(call, coded(RangeError, "INVALID_ARGUMENT"));
  assert.equal(doc.toString(), "hello\nworld");
  assert.equal(view.events, 1);
  // -0 is 0, and is reported as 0.
  const patches = [];
  doc.on("change", (e) => patches.push(...e.patches));
  doc.insert(-0, ">");
  doc.delete(-0, 1);
  assert.ok(patches.every((p) => Object.is(p.index, 0)), JSON.stringify(patches));
  assert.equal(view.text, doc.toString());
});

test("bytes must be Uint8Arrays: a TypeError with a code otherwise", () => {
  const doc = new Doc();
  doc.insert(0, "keep");
  const sticky = doc.stickyIndex(1);
  for (const bad of [null, undefined, "WEFT", 5, [1, 2, 3], {}, new ArrayBuffer(4), new Uint16Array(2), new DataView(new ArrayBuffer(2))]) {
    if (bad !== undefined) assert.throws(() => doc.encodeUpdate(bad), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => doc.applyUpdate(bad), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => Doc.load(bad), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => doc.resolveSticky(bad), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => doc.resolveSticky({ bytes: bad }), coded(TypeError, "INVALID_ARGUMENT"));
  }
  // A Node Buffer is a Uint8Array.
  assert.equal(doc.resolveSticky(Buffer.from(sticky.bytes)), 1);
  assert.equal(Doc.load(Buffer.from(doc.encodeState())).toString(), "keep");
  assert.equal(doc.toString(), "keep");
  assert.equal(doc.state, "open");
});

test("options must be objects", () => {
  for (const bad of [null, 5, "replica", true]) {
    assert.throws(() => new Doc(bad), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => Doc.load(new Doc().encodeState(), bad), coded(TypeError, "INVALID_ARGUMENT"));
  }
});

test("replica ids must be bigints that fit in 64 bits, never wrapped", () => {
  for (const replica of [2n ** 64n, -1n, 2n ** 70n + 5n]) {
    assert.throws(() => new Doc({ replica }), coded(RangeError, "INVALID_ARGUMENT"));
    assert.throws(() => Doc.load(new Doc().encodeState(), { replica }), coded(RangeError, "INVALID_ARGUMENT"));
  }
  for (const replica of [1, "1", null, 1.5]) {
    assert.throws(() => new Doc({ replica }), coded(TypeError, "INVALID_ARGUMENT"));
  }
  for (const replica of [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]) {
    assert.equal(new Doc({ replica }).replica, replica);
    assert.equal(Doc.load(new Doc().encodeState(), { replica }).replica, replica);
  }
});

test("a sticky index's bias is \"left\" or \"right\", nothing else", () => {
  const doc = new Doc();
  doc.insert(0, "ab");
  for (const bias of ["bogus", "Left", ""]) assert.throws(() => doc.stickyIndex(1, bias), coded(RangeError, "INVALID_ARGUMENT"));
  for (const bias of [null, 1, true, {}]) assert.throws(() => doc.stickyIndex(1, bias), coded(TypeError, "INVALID_ARGUMENT"));
  const left = doc.stickyIndex(1, "left");
  const right = doc.stickyIndex(1, undefined);
  doc.insert(1, "XY");
  assert.equal(doc.resolveSticky(left), 1);
  assert.equal(doc.resolveSticky(right), 3);
});

test("listeners: unknown events and non-functions are refused with a code", () => {
  const doc = new Doc();
  assert.throws(() => doc.on("chnage", () => {}), coded(RangeError, "INVALID_ARGUMENT"));
  assert.throws(() => doc.on(Symbol("change"), () => {}), coded(TypeError, "INVALID_ARGUMENT"));
  assert.throws(() => doc.on("change", null), coded(TypeError, "INVALID_ARGUMENT"));
  assert.throws(() => doc.on("change", "console.log"), coded(TypeError, "INVALID_ARGUMENT"));
  doc.off("chnage", () => {}); // nothing to stop: fine
  doc.insert(0, "x");
  assert.equal(doc.toString(), "x");
});

test("every call on a freed document throws DOCUMENT_FREED; freeing again does nothing", () => {
  const doc = new Doc();
  doc.insert(0, "x");
  const state = doc.encodeState();
  const sticky = doc.stickyIndex(0);
  doc.free();
  assert.equal(doc.state, "freed");
  const calls = {
    replica: () => doc.replica,
    length: () => doc.length,
    lineCount: () => doc.lineCount,
    insert: () => doc.insert(0, "y"),
    delete: () => doc.delete(0, 1),
    toString: () => doc.toString(),
    template: () => `${doc}`,
    slice: () => doc.slice(0),
    version: () => doc.version(),
    encodeState: () => doc.encodeState(),
    encodeUpdate: () => doc.encodeUpdate(),
    applyUpdate: () => doc.applyUpdate(state),
    stickyIndex: () => doc.stickyIndex(0),
    resolveSticky: () => doc.resolveSticky(sticky),
    lineStart: () => doc.lineStart(0),
    stats: () => doc.stats(),
    on: () => doc.on("change", () => {}),
  };
  for (const [name, call] of Object.entries(calls)) {
    assert.throws(call, (e) => e.name === "WeftError" && e.code === "DOCUMENT_FREED", name);
  }
  // Arguments are still checked first: a wrong call is wrong whatever the state.
  assert.throws(() => doc.insert("0", "y"), coded(TypeError, "INVALID_ARGUMENT"));
  doc.free();
  doc[Symbol.dispose]();
  doc.off("change", () => {});
  assert.equal(doc.state, "freed");
});

test("connect refuses what is not an open Doc, with a code", () => {
  assert.throws(() => connect({}, { room: "r" }), coded(TypeError, "INVALID_ARGUMENT"));
  assert.throws(() => connect(null, { room: "r" }), coded(TypeError, "INVALID_ARGUMENT"));
  const doc = new Doc();
  doc.free();
  assert.throws(() => connect(doc, { room: "r" }), (e) => e.code === "DOCUMENT_FREED");
});

test("a throwing listener is reported; the other listeners still run and the edit stands", (t) => {
  const errors = [];
  t.mock.method(console, "error", (...args) => errors.push(args));
  const doc = new Doc();
  const seen = [];
  doc.on("change", () => {
    throw new Error("listener bug");
  });
  doc.on("change", (e) => seen.push(e.delta));
  doc.insert(0, "x"); // does not throw: the edit happened
  doc.insert(1, "y");
  assert.equal(doc.toString(), "xy");
  assert.equal(seen.length, 2);
  assert.equal(errors.length, 2);
  assert.ok(errors.every((args) => args.some((a) => a instanceof Error && a.message === "listener bug")));
});

test("a throwing listener does not end a Node process", () => {
  const script = `
    import { Doc } from "weft";
    const doc = new Doc();
    let seen = 0;
    doc.on("change", () => { throw new Error("listener bug"); });
    doc.on("change", () => { seen++; });
    doc.insert(0, "x");
    await new Promise((r) => setTimeout(r, 20));
    doc.insert(1, "y");
    await new Promise((r) => setTimeout(r, 20));
    console.log(JSON.stringify({ text: doc.toString(), seen }));
  `;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: web, encoding: "utf8" });
  assert.equal(run.status, 0, `the process ended with ${run.status}: ${run.stderr}`);
  assert.deepEqual(JSON.parse(run.stdout), { text: "xy", seen: 2 });
  assert.match(run.stderr, /listener bug/);
});

test("Store.open and connect check their arguments before the binding sees them", async () => {
  const { Store } = await import("weft");
  // A name that is not a string used to trap in the binding's string copy.
  for (const name of [123, null, undefined, {}, Symbol("n")]) {
    await assert.rejects(Store.open(name), coded(TypeError, "INVALID_ARGUMENT"));
  }
  await assert.rejects(Store.open("notes", null), coded(TypeError, "INVALID_ARGUMENT"));
  await assert.rejects(Store.open("notes", { compactionFloorBytes: "16k" }), coded(TypeError, "INVALID_ARGUMENT"));
  await assert.rejects(Store.open("notes", { compactionFloorBytes: -1 }), coded(RangeError, "INVALID_ARGUMENT"));

  const doc = new Doc();
  for (const options of [undefined, null, "room", { room: 5 }, { room: "r", signalingUrl: 8080 }, { room: "r", secret: 1 }, { room: "r", iceServers: "stun:x" }, { room: "r", presence: "Ada" }, { room: "r", presence: { selection: { anchor: "1", head: 1 } } }]) {
    assert.throws(() => connect(doc, options), coded(TypeError, "INVALID_ARGUMENT"), JSON.stringify(options));
  }
  for (const options of [{ room: "" }, { room: "r", maxPeers: -1 }, { room: "r", presence: { selection: { anchor: 0, head: 1.5 } } }]) {
    assert.throws(() => connect(doc, options), coded(RangeError, "INVALID_ARGUMENT"), JSON.stringify(options));
  }
  // Several servers: strings, at least one, each an absolute WebSocket URL.
  const server = "ws://127.0.0.1:8080/signal";
  for (const signalingUrl of [null, {}, new URL(server), [8080], [server, null], [server, new URL(server)]]) {
    assert.throws(() => connect(doc, { room: "r", signalingUrl }), coded(TypeError, "INVALID_ARGUMENT"), String(signalingUrl));
  }
  assert.throws(() => connect(doc, { room: "r", signalingUrl: [] }), coded(RangeError, "INVALID_ARGUMENT"));
  for (const signalingUrl of [["not a url"], ["/signal"], ["127.0.0.1:8080"], [server, "ftp://127.0.0.1/signal"], ["ws://127.0.0.1:8080/signal#x"], [server, ""]]) {
    assert.throws(() => connect(doc, { room: "r", signalingUrl }), coded(RangeError, "SIGNALING_URL"), String(signalingUrl));
  }
  const provider = connect(doc, { room: `boundary-${Math.random()}` });
  try {
    for (const state of [undefined, null, "Ada", { selection: 3 }, { selection: { anchor: null, head: 0 } }]) {
      assert.throws(() => provider.setPresence(state), coded(TypeError, "INVALID_ARGUMENT"), String(state));
    }
    assert.throws(() => provider.setPresence({ selection: { anchor: -1, head: 0 } }), coded(RangeError, "INVALID_ARGUMENT"));
    provider.setPresence({ name: "Ada", selection: { anchor: 0, head: 0 } });
    provider.setPresence({ name: "Ada", selection: null });
  } finally {
    provider.disconnect();
  }
  assert.equal(doc.state, "open");
});
