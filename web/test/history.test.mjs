// History as Automerge and Loro users expect it: the text at any earlier
// version, the change between two versions as a delta, and restoring an
// old version through ordinary edits that peers merge and undo reverts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Doc, DocView, UndoManager, applyDelta } from "weft";

const oldSnapshot = new URL(
  "../../crates/weft/tests/old-format/snapshot_before_deleted_text.bin",
  import.meta.url,
);

test("doc.at shows the text at any earlier version, read-only", () => {
  const doc = new Doc();
  doc.insert(0, "one\ntwo");
  const v1 = doc.version();
  doc.delete(0, 4);
  doc.insert(3, " 😀 three");
  const view = doc.at(v1);
  assert.ok(view instanceof DocView);
  assert.equal(view.toString(), "one\ntwo");
  assert.equal(view.length, 7);
  assert.equal(view.lineCount, 2);
  assert.equal(view.slice(4), "two");
  assert.throws(() => view.slice(5, 2), { code: "INVALID_RANGE" });
  assert.equal(doc.at(doc.version()).toString(), doc.toString());
  assert.equal(doc.at(new Doc().version()).toString(), "");
});

test("doc.diff is a delta that turns one version's text into another's, both ways", () => {
  const doc = new Doc();
  doc.insert(0, "hello world");
  const a = doc.version();
  doc.delete(0, 6);
  doc.insert(5, "! 😀");
  const b = doc.version();
  const forward = doc.diff(a, b);
  assert.deepEqual(forward, [{ delete: 6 }, { retain: 5 }, { insert: "! 😀" }]);
  assert.equal(applyDelta("hello world", forward), doc.toString());
  assert.equal(applyDelta(doc.toString(), doc.diff(b, a)), "hello world");
  assert.deepEqual(doc.diff(b), [], "to defaults to now");
});

test("restore is an edit: peers merge it and an undo manager reverts it", () => {
  const doc = new Doc();
  const undo = new UndoManager(doc, { captureTimeout: 0 });
  doc.insert(0, "first draft");
  const draft = doc.version();
  doc.delete(0, 6);
  doc.insert(5, " and final");
  const peer = Doc.load(doc.encodeState());
  const changes = [];
  doc.on("change", (e) => changes.push(e));
  doc.restore(draft);
  assert.equal(doc.toString(), "first draft");
  assert.equal(changes.length, 1);
  assert.equal(applyDelta("draft and final", changes[0].delta), "first draft");
  peer.applyUpdate(doc.encodeUpdate(peer.version()));
  assert.equal(peer.toString(), "first draft");
  undo.undo();
  assert.equal(doc.toString(), "draft and final");
});

test("history survives a reload, and what it cannot know is a coded error", () => {
  const doc = new Doc();
  doc.insert(0, "abc");
  const withB = doc.version();
  doc.delete(1, 1);
  const reloaded = Doc.load(doc.encodeState());
  assert.equal(reloaded.at(withB).toString(), "abc");
  // A replica that gets "b" already deleted gets its text with it.
  const late = new Doc();
  late.applyUpdate(doc.encodeUpdate());
  assert.equal(late.at(withB).toString(), "abc");
  // A document stored before deleted text was kept never had it.
  const old = Doc.load(readFileSync(oldSnapshot));
  const early = [...Array(old.operationCount).keys()].map((n) => old.versionAtOperation(n));
  const unknown = early.filter((v) => {
    try {
      old.at(v);
      return false;
    } catch (e) {
      assert.equal(e.code, "DELETED_TEXT_UNKNOWN");
      return true;
    }
  });
  assert.ok(unknown.length > 0);
  const text = old.toString();
  assert.throws(() => old.restore(unknown[0]), { code: "DELETED_TEXT_UNKNOWN" });
  assert.equal(old.toString(), text, "a refused restore changes nothing");
  const other = new Doc();
  other.insert(0, "x");
  assert.throws(() => doc.at(other.version()), { code: "UNKNOWN_VERSION" });
  assert.throws(() => doc.at(new Uint8Array([9, 9, 9])), { code: "INVALID_ENCODING" });
  assert.throws(() => doc.at("v1"), { code: "INVALID_ARGUMENT" });
});

test("authors: an author id per person, kept with every replica, in diffs and ranges", () => {
  const ada = new Doc({ author: "ada" });
  const bob = new Doc({ author: "bob" });
  assert.equal(ada.author, "ada");
  ada.insert(0, "hello world");
  bob.applyUpdate(ada.encodeUpdate());
  const start = bob.version();
  bob.delete(0, 6); // "hello "
  bob.insert(5, "!");
  ada.applyUpdate(bob.encodeUpdate(ada.version()));
  assert.equal(ada.toString(), "world!");
  assert.deepEqual(ada.authors(), ["ada", "bob"]);
  assert.deepEqual(ada.authors(0, 5), ["ada"]);
  assert.deepEqual(ada.authors(5), ["bob"]);
  assert.equal(ada.authorOf(bob.replica), "bob");
  assert.deepEqual(ada.diff(start), [{ delete: 6, author: "bob" }, { retain: 5 }, { insert: "!", author: "bob" }]);
  // A reload is a new replica of the same author; the old one keeps its name.
  const again = Doc.load(ada.encodeState(), { author: "ada" });
  assert.notEqual(again.replica, ada.replica);
  again.insert(0, ">");
  assert.deepEqual(again.authors(0, 2), ["ada"]);
  assert.deepEqual(again.diff(new Doc().version()), [{ insert: ">world", author: "ada" }, { insert: "!", author: "bob" }]);
  // Text written without an author id is `null`; the id is checked.
  const anon = new Doc();
  anon.applyUpdate(again.encodeState());
  anon.insert(0, "?");
  assert.deepEqual(anon.authors(0, 2), [null, "ada"]);
  assert.equal(anon.author, undefined);
  assert.throws(() => new Doc({ author: "" }), { name: "RangeError", code: "INVALID_AUTHOR" });
  assert.throws(() => new Doc({ author: "x".repeat(129) }), { code: "INVALID_AUTHOR" });
  assert.throws(() => new Doc({ author: 7 }), { name: "TypeError" });
});

test("versionAtOperation steps through every version, for a history slider", () => {
  const doc = new Doc();
  const texts = [doc.toString()];
  for (const [i, t] of [[0, "ab"], [1, "X"], [3, "😀"]]) {
    doc.insert(i, t);
    texts.push(doc.toString());
  }
  doc.delete(0, 1);
  texts.push(doc.toString());
  assert.equal(doc.operationCount, 2 + 1 + 1 + 1);
  const seen = [];
  for (let n = 0; n <= doc.operationCount; n++) seen.push(doc.at(doc.versionAtOperation(n)).toString());
  assert.deepEqual(seen, ["", "a", "ab", "aXb", "aXb😀", "Xb😀"]);
  assert.deepEqual(doc.versionAtOperation(99), doc.version());
  assert.throws(() => doc.versionAtOperation(-1), { code: "INVALID_ARGUMENT" });
});
