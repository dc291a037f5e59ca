// The sync provider in Node: two providers of one room in one process meet
// over a BroadcastChannel (as tabs do), which runs the whole sync session
// without WebRTC. What is tested: a provider whose document is freed stops
// cleanly (nothing thrown from its timers, which would end the process, no
// misleading protocol errors), and presence is checked and anchored when it
// is set, not when it is sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc, connect } from "weft";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A provider with what it reports recorded. */
function recorded(doc, options) {
  const provider = connect(doc, options);
  const log = { errors: [], statuses: [], joins: [], leaves: [] };
  provider.on("error", (e) => log.errors.push(e));
  provider.on("status", (s) => log.statuses.push(s));
  provider.on("peerJoin", (e) => log.joins.push(e.peer));
  provider.on("peerLeave", (e) => log.leaves.push(e.peer));
  return { provider, log };
}

async function until(condition, what, ms = 5_000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const room = () => `provider-${Math.random()}`;

test("a provider whose document is freed mid-handshake disconnects with DOCUMENT_FREED; its Hello timer throws nothing", async () => {
  const r = room();
  const doc = new Doc();
  doc.insert(0, "mine");
  const a = recorded(doc, { room: r });
  // Freed as soon as the connection opens: the handshake is not done, so
  // the Hello would be repeated by a timer a second later.
  a.provider.on("peerJoin", () => doc.free());
  const other = new Doc();
  const b = recorded(other, { room: r });
  try {
    await until(() => a.log.joins.length === 1, "the tabs to meet");
    // Past the Hello repeat (1 s), while the other side keeps sending.
    await sleep(1_500);
    assert.equal(a.provider.status, "offline");
    assert.deepEqual(a.log.errors.map((e) => e.code), ["DOCUMENT_FREED"], a.log.errors.join("; "));
    assert.equal(a.log.errors[0].name, "WeftError");
    assert.deepEqual(a.provider.peers, []);
    await until(() => b.log.leaves.length === 1, "the other side to see it leave");
    assert.deepEqual(b.log.errors, []);
    // Disconnecting afterwards does nothing more.
    a.provider.disconnect();
    assert.equal(a.log.errors.length, 1);
    assert.equal(a.log.statuses.filter((s) => s === "offline").length, 1);
  } finally {
    a.provider.disconnect();
    b.provider.disconnect();
  }
});

test("a provider whose document is freed while idle goes offline at once, and says so once", () => {
  const doc = new Doc();
  const a = recorded(doc, { room: room() });
  doc.free();
  assert.equal(a.provider.status, "offline");
  assert.deepEqual(a.log.errors.map((e) => e.code), ["DOCUMENT_FREED"]);
  assert.throws(() => connect(doc, { room: room() }), (e) => e.code === "DOCUMENT_FREED");
});

test("a selection is anchored when it is set: the cursor follows the text, and a shrunk text never puts it out of range", async () => {
  const r = room();
  const doc = new Doc();
  doc.insert(0, "hello world");
  const a = recorded(doc, { room: r, presence: { name: "A", selection: { anchor: 6, head: 11 } } }); // "world"
  // The text shrinks before anyone connects: index 11 no longer exists.
  doc.delete(0, 6);
  assert.equal(doc.toString(), "world");
  const other = new Doc();
  const b = recorded(other, { room: r });
  try {
    await until(() => other.toString() === "world" && b.provider.presence.get(a.provider.peer)?.selection, "A's text and presence");
    assert.deepEqual(b.provider.presence.get(a.provider.peer), { name: "A", selection: { anchor: 0, head: 5 } });
    // It keeps following: text typed before it moves it.
    doc.insert(0, ">> ");
    await until(() => other.toString() === ">> world", "the edit");
    assert.deepEqual(b.provider.presence.get(a.provider.peer).selection, { anchor: 3, head: 8 });
    // A selection set later is anchored in the text as it is then.
    a.provider.setPresence({ name: "A", selection: { anchor: 8, head: 8 } });
    doc.delete(0, 3);
    await until(() => b.provider.presence.get(a.provider.peer)?.selection?.anchor === 5, "the new selection");
    assert.deepEqual(b.provider.presence.get(a.provider.peer).selection, { anchor: 5, head: 5 });
    assert.deepEqual(a.log.errors, []);
    assert.deepEqual(b.log.errors, []);
  } finally {
    a.provider.disconnect();
    b.provider.disconnect();
  }
});

test("a presence the document or JSON cannot carry is refused when it is set, with a code", () => {
  const doc = new Doc();
  doc.insert(0, "a😀b");
  const provider = connect(doc, { room: room() });
  const coded = (Class, code) => (e) => e instanceof Class && e.code === code;
  try {
    assert.throws(() => provider.setPresence({ selection: { anchor: 0, head: 9 } }), coded(RangeError, "INDEX_OUT_OF_BOUNDS"));
    assert.throws(() => provider.setPresence({ selection: { anchor: 2, head: 2 } }), coded(RangeError, "NOT_CHAR_BOUNDARY"));
    const cyclic = { name: "A" };
    cyclic.self = cyclic;
    for (const state of [{ name: "A", id: 5n }, { nested: { n: 1n } }, cyclic, { toJSON: () => "A" }]) {
      assert.throws(() => provider.setPresence(state), coded(TypeError, "INVALID_ARGUMENT"));
    }
    assert.throws(() => connect(doc, { room: room(), presence: { id: 5n } }), coded(TypeError, "INVALID_ARGUMENT"));
    assert.throws(() => connect(doc, { room: room(), presence: { selection: { anchor: 5, head: 0 } } }), coded(RangeError, "INDEX_OUT_OF_BOUNDS"));
    provider.setPresence({ name: "A", selection: { anchor: 4, head: 1 } });
    assert.equal(provider.status === "offline", false);
  } finally {
    provider.disconnect();
  }
});

test("what a provider merges from peers has the provider as origin; its peers' transactions and origins stay theirs", async () => {
  const r = room();
  const docA = new Doc();
  const docB = new Doc();
  const a = recorded(docA, { room: r });
  const b = recorded(docB, { room: r });
  const changesA = [];
  const changesB = [];
  docA.on("change", (e) => changesA.push(e));
  docB.on("change", (e) => changesB.push(e));
  try {
    await until(() => a.provider.status === "synced" && b.provider.status === "synced" && a.log.joins.length === 1, "the tabs to sync");
    docA.transact(() => {
      docA.insert(0, "hello");
      docA.insert(5, " world");
      docA.delete(0, 1);
    }, "a's editor");
    await until(() => docB.toString() === "ello world", "the transaction to arrive");
    assert.deepEqual(changesA.map((e) => [e.origin, e.local]), [["a's editor", true]]);
    assert.equal(changesB.length, 1, "one transaction, one change at the peer");
    assert.equal(changesB[0].origin, b.provider);
    assert.equal(changesB[0].local, false);
    assert.deepEqual(changesB[0].delta, [{ insert: "ello world" }]);
    // A change merged from elsewhere (not the provider) still goes out.
    const other = new Doc();
    other.insert(0, ">> ");
    docB.applyUpdate(other.encodeUpdate(), "a store, say");
    await until(() => docA.toString().startsWith(">> ") || docA.toString().endsWith(">> "), "the merged change to reach a");
    assert.equal(changesA.at(-1).origin, a.provider);
    assert.deepEqual(a.log.errors, []);
    assert.deepEqual(b.log.errors, []);
  } finally {
    a.provider.disconnect();
    b.provider.disconnect();
  }
});
