// UndoManager as a Yjs or Loro user expects it: only this user's changes
// are undone, steps group by a capture timeout, deleted text comes back in
// place, undo and redo are edits that peers merge, and a toolbar hears of
// every change of the stacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc, UndoManager } from "weft";

/** Sends everything `from` has that `to` lacks. */
function sync(from, to) {
  to.applyUpdate(from.encodeUpdate(to.version()));
}

test("undo reverts this user's typing and leaves a peer's alone (the demo's two-browser complaint)", () => {
  const ada = new Doc();
  const bob = new Doc();
  const undo = new UndoManager(ada, { captureTimeout: 0 });
  ada.insert(0, "local ");
  sync(ada, bob);
  bob.insert(6, "REMOTE");
  sync(bob, ada);
  assert.equal(ada.toString(), "local REMOTE");
  assert.ok(undo.canUndo);
  assert.deepEqual(undo.undo(), {});
  assert.equal(ada.toString(), "REMOTE");
  assert.equal(undo.undo(), null, "Bob's word is not Ada's to undo");
  assert.equal(undo.canUndo, false);
  sync(ada, bob);
  assert.equal(bob.toString(), "REMOTE");
  assert.ok(undo.redo());
  sync(ada, bob);
  assert.equal(bob.toString(), "local REMOTE");
});

test("undoing a delete puts the text back between what others typed since", () => {
  const ada = new Doc();
  const bob = new Doc();
  const undo = new UndoManager(ada);
  ada.insert(0, "one two three");
  undo.stopCapturing();
  sync(ada, bob);
  ada.delete(3, 4);
  bob.insert(0, ">> ");
  bob.insert(bob.length, " <<");
  sync(bob, ada);
  sync(ada, bob);
  assert.equal(ada.toString(), ">> one three <<");
  undo.undo();
  assert.equal(ada.toString(), ">> one two three <<");
  sync(ada, bob);
  assert.equal(bob.toString(), ada.toString());
});

test("changes within the capture timeout are one step; stopCapturing and a pause start another", async () => {
  const doc = new Doc();
  const undo = new UndoManager(doc, { captureTimeout: 200 });
  for (const c of "abc") doc.insert(doc.length, c);
  undo.stopCapturing();
  doc.insert(3, "d");
  await new Promise((r) => setTimeout(r, 250));
  doc.insert(4, "e");
  undo.undo();
  assert.equal(doc.toString(), "abcd");
  undo.undo();
  assert.equal(doc.toString(), "abc");
  undo.undo();
  assert.equal(doc.toString(), "");
  assert.equal(undo.undo(), null);
});

test("undo and redo are edits with the manager as origin, so stores save them and providers send them", () => {
  const doc = new Doc();
  const undo = new UndoManager(doc);
  doc.insert(0, "hello");
  const changes = [];
  const updates = [];
  doc.on("change", (e) => changes.push(e));
  doc.on("update", (e) => updates.push(e));
  undo.undo();
  assert.equal(changes.length, 1);
  assert.equal(changes[0].origin, undo);
  assert.equal(changes[0].local, true);
  assert.deepEqual(changes[0].delta, [{ delete: 5 }]);
  const peer = new Doc();
  peer.applyUpdate(doc.encodeUpdate());
  assert.equal(peer.toString(), "");
  assert.equal(updates.length, 1);
  undo.redo();
  assert.deepEqual(changes[1].delta, [{ insert: "hello" }]);
  peer.applyUpdate(updates[1].update);
  assert.equal(peer.toString(), "hello");
});

test("only tracked origins are undone; a second manager's steps are its own", () => {
  const doc = new Doc();
  const editor = {};
  const mine = new UndoManager(doc, { trackedOrigins: [editor], captureTimeout: 0 });
  const theirs = new UndoManager(doc, { trackedOrigins: ["bot"], captureTimeout: 0 });
  doc.transact(() => doc.insert(0, "typed "), editor);
  doc.transact(() => doc.insert(6, "generated"), "bot");
  doc.insert(0, "untracked ");
  mine.undo();
  assert.equal(doc.toString(), "untracked generated");
  theirs.undo();
  assert.equal(doc.toString(), "untracked ");
  assert.equal(mine.undo(), null);
  mine.redo();
  assert.equal(doc.toString(), "untracked typed ");
  mine.undo();
  assert.equal(mine.canRedo, true);
  mine.removeTrackedOrigin(editor);
  doc.transact(() => doc.insert(0, "x"), editor);
  assert.equal(mine.canRedo, true, "an untracked change leaves redo alone");
  mine.addTrackedOrigin(editor);
  doc.transact(() => doc.insert(0, "y"), editor);
  assert.equal(mine.canRedo, false, "a new change of this user clears redo");
});

test("each step brings back the selection it was made from", () => {
  const doc = new Doc();
  doc.insert(0, "hello");
  let selection = { anchor: 5, head: 5 };
  const undo = new UndoManager(doc, { selection: () => selection });
  doc.insert(5, " world");
  selection = { anchor: 0, head: 11 };
  doc.insert(0, ">");
  assert.equal(doc.toString(), ">hello world");
  selection = { anchor: 12, head: 12 };
  assert.deepEqual(undo.undo(), { selection: { anchor: 5, head: 5 } });
  assert.equal(doc.toString(), "hello");
  // The application forgot to update its selection: an impossible one is
  // ignored, the undo still happens.
  assert.deepEqual(undo.redo(), { selection: { anchor: 12, head: 12 } });
  assert.equal(doc.toString(), ">hello world");
});

test("stack events tell a toolbar when undo and redo become possible", () => {
  const doc = new Doc();
  const undo = new UndoManager(doc, { captureTimeout: 0, maxSteps: 2 });
  const events = [];
  undo.on("stack", (e) => events.push(e));
  doc.insert(0, "a");
  doc.insert(1, "b");
  doc.insert(2, "c");
  undo.undo();
  undo.undo();
  assert.equal(undo.undo(), null, "the oldest step was forgotten");
  assert.equal(doc.toString(), "a");
  undo.clear();
  assert.deepEqual(
    events.map((e) => [e.type, e.canUndo, e.canRedo]),
    [
      ["add", true, false],
      ["add", true, false],
      ["add", true, false],
      ["undo", true, true],
      ["undo", false, true],
      ["clear", false, false],
    ],
  );
});

test("a manager ends with its document; bad options are refused with codes", () => {
  const doc = new Doc();
  const undo = new UndoManager(doc);
  doc.insert(0, "x");
  doc.free();
  assert.equal(undo.canUndo, false);
  assert.throws(() => undo.undo(), { code: "UNDO_MANAGER_DESTROYED" });
  const other = new Doc();
  assert.throws(() => new UndoManager(other, { captureTimeout: -1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new UndoManager(other, { trackedOrigins: "x" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new UndoManager(other, { selection: 3 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new UndoManager(other, "x"), { code: "INVALID_ARGUMENT" });
});

test("random edits, undo and redo on two replicas converge", () => {
  let seed = 7;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const docs = [new Doc(), new Doc()];
  const managers = docs.map((d) => new UndoManager(d, { captureTimeout: 0 }));
  for (let i = 0; i < 400; i++) {
    const k = rand(2);
    const doc = docs[k];
    const r = rand(10);
    if (r < 4) doc.insert(rand(doc.length + 1), "xyz".slice(0, 1 + rand(3)));
    else if (r < 6 && doc.length > 0) {
      const at = rand(doc.length);
      doc.delete(at, Math.min(1 + rand(4), doc.length - at));
    } else if (r < 7) managers[k].undo();
    else if (r < 8) managers[k].redo();
    else sync(docs[k], docs[1 - k]);
  }
  sync(docs[0], docs[1]);
  sync(docs[1], docs[0]);
  assert.equal(docs[0].toString(), docs[1].toString());
});
