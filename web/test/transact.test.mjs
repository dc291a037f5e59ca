// Transactions and origins, as a Yjs user expects them: `transact(fn,
// origin)` makes everything done inside one change (one `change` event, one
// `update` event), `applyUpdate(bytes, origin)` names where a merge came
// from, and events carry the origin and whether the change was local.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc, applyDelta } from "weft";

/** A document's events, recorded in order as [name, event]. */
function record(doc) {
  const events = [];
  doc.on("change", (e) => events.push(["change", e]));
  doc.on("update", (e) => events.push(["update", e]));
  return events;
}

test("transact makes every edit inside one change event and one update, after fn returns", () => {
  const doc = new Doc();
  doc.insert(0, "hello world");
  const peer = Doc.load(doc.encodeState());
  const events = record(doc);
  const before = doc.toString();
  const result = doc.transact(() => {
    doc.insert(5, ",");
    doc.delete(0, 1);
    doc.insert(0, "J");
    doc.insert(doc.length, "!");
    assert.deepEqual(events, [], "nothing is delivered inside the transaction");
    return 42;
  });
  assert.equal(result, 42, "transact returns what fn returns");
  assert.equal(doc.toString(), "Jello, world!");
  assert.deepEqual(events.map(([name]) => name), ["change", "update"]);
  const [[, change], [, update]] = events;
  assert.equal(change.patches.length, 4, "the patches of every edit, in order");
  assert.equal(applyDelta(before, change.delta), doc.toString(), "one delta over the text before the transaction");
  assert.equal(change.origin, "local");
  assert.equal(change.local, true);
  assert.equal(update.origin, "local");
  assert.equal(update.local, true);
  // The update is everything the transaction added.
  peer.applyUpdate(update.update);
  assert.equal(peer.toString(), doc.toString());

  // Outside a transaction, each edit is its own change.
  events.length = 0;
  doc.insert(0, "a");
  doc.insert(0, "b");
  assert.deepEqual(events.map(([name]) => name), ["change", "update", "change", "update"]);
});

test("the origin given to transact or applyUpdate arrives in change and update events", () => {
  const a = new Doc();
  const b = new Doc();
  const events = record(a);
  const binding = { name: "an editor binding" };
  a.transact(() => a.insert(0, "typed"), binding);
  assert.equal(events[0][1].origin, binding, "the same object, not a copy");
  assert.equal(events[0][1].local, true);
  assert.equal(events[1][1].origin, binding);

  // Without an origin: "local" for edits, "remote" for merges.
  events.length = 0;
  a.insert(0, ">");
  b.insert(0, "theirs ");
  a.applyUpdate(b.encodeUpdate());
  assert.deepEqual(
    events.filter(([name]) => name === "change").map(([, e]) => [e.origin, e.local]),
    [["local", true], ["remote", false]],
  );

  // applyUpdate with an origin; any value will do (null included).
  const provider = { name: "a provider" };
  for (const origin of [provider, "peer 7", null, 0]) {
    events.length = 0;
    b.insert(0, "x");
    a.applyUpdate(b.encodeUpdate(a.version()), origin);
    const change = events.find(([name]) => name === "change")[1];
    assert.equal(change.origin, origin);
    assert.equal(change.local, false);
    assert.equal(events.find(([name]) => name === "update")[1].origin, origin);
  }
});

test("a transaction that only merges is not local, and one that mixes edits and merges is", () => {
  const a = new Doc();
  const b = new Doc();
  b.insert(0, "from b");
  const events = record(a);
  a.transact(() => a.applyUpdate(b.encodeUpdate()));
  assert.deepEqual([events[0][1].origin, events[0][1].local], ["remote", false]);
  events.length = 0;
  b.insert(0, "more ");
  a.transact(() => {
    a.insert(a.length, "!");
    a.applyUpdate(b.encodeUpdate(a.version()), "ignored: the transaction's origin counts");
  }, "mixed");
  assert.equal(events.filter(([name]) => name === "change").length, 1);
  assert.deepEqual([events[0][1].origin, events[0][1].local], ["mixed", true]);
  assert.equal(a.toString(), "more from b!");
});

test("nested transactions join the outermost one: one event, its origin", () => {
  const doc = new Doc();
  const events = record(doc);
  const inner = doc.transact(() => {
    doc.insert(0, "a");
    const value = doc.transact(() => {
      doc.insert(1, "b");
      doc.transact(() => doc.insert(2, "c"), "innermost");
      return "inner value";
    }, "inner");
    doc.insert(3, "d");
    assert.deepEqual(events, [], "the inner transactions deliver nothing");
    return value;
  }, "outer");
  assert.equal(inner, "inner value");
  assert.deepEqual(events.map(([name]) => name), ["change", "update"]);
  assert.deepEqual(events[0][1].delta, [{ insert: "abcd" }]);
  assert.equal(events[0][1].origin, "outer");
  assert.equal(events[1][1].origin, "outer");
});

test("an exception in transact still delivers what was done, then is rethrown", () => {
  const doc = new Doc();
  doc.insert(0, "base");
  const peer = Doc.load(doc.encodeState());
  const events = record(doc);
  const thrown = new Error("the callback failed");
  assert.throws(
    () =>
      doc.transact(() => {
        doc.insert(4, " kept");
        doc.transact(() => doc.delete(0, 1));
        throw thrown;
      }, "failing"),
    (e) => e === thrown,
  );
  assert.equal(doc.toString(), "ase kept");
  assert.deepEqual(events.map(([name]) => name), ["change", "update"]);
  assert.equal(applyDelta("base", events[0][1].delta), "ase kept");
  assert.equal(events[0][1].origin, "failing");
  peer.applyUpdate(events[1][1].update);
  assert.equal(peer.toString(), "ase kept");

  // A failed edit inside (a bad index) is the same: what came before stands.
  events.length = 0;
  assert.throws(
    () =>
      doc.transact(() => {
        doc.insert(0, ">");
        doc.insert(999, "x");
      }),
    (e) => e.code === "INDEX_OUT_OF_BOUNDS",
  );
  assert.equal(doc.toString(), ">ase kept");
  assert.deepEqual(events.filter(([name]) => name === "change").map(([, e]) => e.delta), [[{ insert: ">" }]]);

  // The transaction is over: the next edit is a change of its own.
  events.length = 0;
  doc.insert(0, "!");
  assert.equal(events.filter(([name]) => name === "change").length, 1);
  assert.equal(events[0][1].origin, "local");
});

test("a listener may edit after a transaction: its edit is a change of its own", () => {
  const doc = new Doc();
  const seen = [];
  doc.on("change", (e) => {
    seen.push([e.origin, doc.toString()]);
    if (e.origin === "batch") doc.insert(doc.length, "!");
  });
  doc.transact(() => {
    doc.insert(0, "a");
    doc.insert(1, "b");
  }, "batch");
  assert.deepEqual(seen, [["batch", "ab"], ["local", "ab!"]]);
});

test("a transaction that changes nothing delivers nothing", () => {
  const doc = new Doc();
  doc.insert(0, "x");
  const events = record(doc);
  doc.transact(() => {
    doc.insert(0, "");
    doc.delete(0, 0);
    doc.applyUpdate(doc.encodeUpdate());
  });
  assert.deepEqual(events, []);
});

test("an update that changes the history but not the text has an update event and no change event", () => {
  const a = new Doc();
  a.insert(0, "abc");
  const b = Doc.load(a.encodeState());
  a.delete(1, 1);
  b.delete(1, 1); // the same character, concurrently
  const events = record(b);
  b.applyUpdate(a.encodeUpdate(b.version()), "peer");
  assert.deepEqual(events.map(([name]) => name), ["update"]);
  assert.equal(events[0][1].origin, "peer");
  const c = Doc.load(b.encodeState());
  c.applyUpdate(a.encodeUpdate());
  assert.deepEqual(c.version(), b.version());
});

test("update events replayed in order rebuild the document", () => {
  const a = new Doc();
  const b = new Doc();
  const updates = [];
  a.on("update", (e) => updates.push(e.update));
  a.insert(0, "one");
  a.transact(() => {
    a.insert(3, " two");
    a.delete(0, 1);
  });
  b.insert(0, "B: ");
  a.applyUpdate(b.encodeUpdate(), b);
  a.insert(a.length, " three");
  const c = new Doc();
  for (const u of updates) c.applyUpdate(u);
  assert.equal(c.toString(), a.toString());
});

test("transact checks its arguments and refuses a freed document", () => {
  const doc = new Doc();
  assert.throws(() => doc.transact("not a function"), (e) => e instanceof TypeError && e.code === "INVALID_ARGUMENT");
  let ran = false;
  doc.free();
  assert.throws(() => doc.transact(() => (ran = true)), (e) => e.code === "DOCUMENT_FREED");
  assert.equal(ran, false);
});

test("freeing the document inside transact delivers nothing and throws nothing more", () => {
  const doc = new Doc();
  const events = record(doc);
  doc.transact(() => {
    doc.insert(0, "gone");
    doc.free();
  });
  assert.deepEqual(events, []);
  assert.equal(doc.state, "freed");
});
