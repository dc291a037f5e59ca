// Nothing the package does may end a Node process: every failure is an
// `error` event or a rejected promise with a code, never an unhandled
// rejection nor an exception thrown out of an event handler. Each case runs
// in a child process, whose exit status says whether something escaped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));

/** Runs `script` (an ES module importing "weft") and returns what it printed as JSON. */
function run(script) {
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: web, encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, `the process ended with ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

const helpers = `
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function until(condition, what, ms = 5000) {
    const end = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > end) throw new Error("timed out waiting for " + what);
      await sleep(10);
    }
  }
`;

for (const [how, breakCrypto] of [
  ["there is no crypto.subtle (a page not served over HTTPS)", `Object.defineProperty(globalThis.crypto, "subtle", { value: undefined });`],
  ["PBKDF2 fails", `globalThis.crypto.subtle.deriveBits = async () => { throw new DOMException("refused", "OperationError"); };`],
]) {
  test(`a room secret whose key cannot be derived (${how}) is an ENCRYPTION_UNAVAILABLE error, and the provider goes offline`, () => {
    const out = run(`
      import { Doc, connect } from "weft";
      ${helpers}
      ${breakCrypto}
      const doc = new Doc();
      const provider = connect(doc, { room: "secret-" + Math.random(), secret: "hunter2" });
      const errors = [];
      const statuses = [];
      provider.on("error", (e) => errors.push({ code: e.code, name: e.name, message: e.message, cause: Boolean(e.cause) }));
      provider.on("status", (s) => statuses.push(s));
      await until(() => provider.status === "offline", "the provider to go offline");
      await sleep(50);
      provider.disconnect(); // nothing more happens
      doc.insert(0, "still usable");
      console.log(JSON.stringify({ errors, statuses, status: provider.status, text: doc.toString() }));
    `);
    assert.equal(out.errors.length, 1, JSON.stringify(out.errors));
    assert.equal(out.errors[0].code, "ENCRYPTION_UNAVAILABLE");
    assert.equal(out.errors[0].name, "WeftError");
    assert.ok(out.errors[0].cause, "the failure is kept as cause");
    assert.match(out.errors[0].message, /room key/);
    assert.deepEqual(out.statuses, ["offline"]);
    assert.equal(out.text, "still usable");
  });
}

test("garbage from another tab of a store closes that tab's link with a code; real tabs stay linked for later edits", () => {
  const out = run(`
    import { Doc, Store } from "weft";
    ${helpers}
    // Blocked storage (as in store.test.mjs): the stores keep their documents in memory.
    globalThis.indexedDB = {
      open() {
        const request = {};
        setTimeout(() => { request.error = new DOMException("storage is blocked", "SecurityError"); request.onerror?.({ type: "error", target: request }); }, 0);
        return request;
      },
    };
    const name = "garbage-" + Math.random();
    const store = await Store.open(name);
    const errors = [];
    store.on("error", (e) => { if (e.code !== "STORAGE_UNAVAILABLE") errors.push({ code: e.code, message: e.message }); });
    // A page of this origin that speaks the tab protocol, badly.
    const hostile = new BroadcastChannel("weft-store:" + name);
    let me;
    hostile.onmessage = (e) => { if (e.data?.t === "hello" && e.data.to === "evil") me = e.data.from; };
    hostile.postMessage({ t: "hello", from: "evil" });
    await until(() => me !== undefined, "the store's tab to answer");
    // One sync message in one frame: protocol 1, first and last, its length.
    const frame = (kind, body) => new Uint8Array([1, 3, body.length + 1, kind, ...body]);
    const hello = frame(1, new Doc().version());
    for (const message of [
      new Uint8Array([1, 2, 3]), null, 7, { t: "frame" }, { t: "frame", from: 5, to: me, bytes: hello },
      { t: "frame", from: "evil", to: me, bytes: new Uint8Array([0xff, 0, 1, 2, 3]) },
      { t: "frame", from: "evil2", to: me, bytes: "not bytes" },
      { t: "hello", from: "evil3" }, { t: "frame", from: "evil3", to: me, bytes: hello },
      { t: "frame", from: "evil3", to: me, bytes: frame(2, [1, 2, 3]) },
      { t: "frame", from: "evil4", to: me, bytes: frame(2, [1, 2, 3]) },
      { t: "bye", from: "nobody" },
    ]) hostile.postMessage(message);
    await until(() => errors.length >= 3, "the garbage to be reported");
    // A real tab of the same database: edits flow both ways.
    const other = await Store.open(name);
    other.doc.insert(0, "from another tab");
    await until(() => store.doc.toString() === "from another tab", "the other tab's edit");
    store.doc.insert(0, "> ");
    await until(() => other.doc.toString() === "> from another tab", "the edit back");
    hostile.close();
    await store.close();
    await other.close();
    console.log(JSON.stringify({ errors, text: store.doc.toString() }));
  `);
  assert.equal(out.text, "> from another tab");
  const codes = out.errors.map((e) => e.code).sort();
  // A frame of a protocol it does not speak, an update that does not decode, an update before a Hello.
  assert.deepEqual(codes, ["INVALID_ENCODING", "SYNC_PROTOCOL", "SYNC_VERSION"], JSON.stringify(out.errors));
});

test("garbage on a provider's tab channel closes at most that link with a code; the provider keeps syncing", () => {
  const out = run(`
    import { Doc, connect } from "weft";
    ${helpers}
    const room = "tabs-" + Math.random();
    const doc = new Doc();
    const a = connect(doc, { room });
    const errors = [];
    a.on("error", (e) => errors.push(e.code));
    const hostile = new BroadcastChannel("weft-sync:" + room + ":open");
    await sleep(20);
    const me = a.peer;
    for (const message of [
      new Uint8Array([1, 2, 3]), null, 7, { t: "frame" }, { t: "frame", from: 5, to: me, bytes: new Uint8Array([1]) },
      { t: "hello", from: "evil" }, { t: "frame", from: "evil", to: me, bytes: new Uint8Array([0xff, 0, 1, 2, 3]) },
      { t: "frame", from: "evil2", to: me, bytes: "not bytes" }, { t: "bye", from: "nobody" },
    ]) hostile.postMessage(message);
    await until(() => errors.length > 0, "the garbage frame to be refused");
    const other = new Doc();
    other.insert(0, "synced");
    const b = connect(other, { room });
    await until(() => doc.toString() === "synced", "a real tab to sync");
    doc.insert(6, "!");
    await until(() => other.toString() === "synced!", "the edit back");
    a.disconnect();
    b.disconnect();
    hostile.close();
    console.log(JSON.stringify({ errors }));
  `);
  // Refused by the protocol (a version it does not speak, or broken bytes).
  assert.ok(out.errors.length > 0 && out.errors.every((c) => c === "SYNC_VERSION" || c === "SYNC_PROTOCOL"), JSON.stringify(out.errors));
});

test("a tab link broken by a spoofed frame starts over: both sides resync and later edits flow", () => {
  const out = run(`
    import { Doc, connect } from "weft";
    ${helpers}
    const room = "heal-" + Math.random();
    const [da, db] = [new Doc(), new Doc()];
    const a = connect(da, { room });
    const b = connect(db, { room });
    const errors = [];
    a.on("error", (e) => errors.push(e.code));
    da.insert(0, "before ");
    await until(() => db.toString() === "before ", "the tabs to sync");
    // Another page posts garbage as if it came from b: a's link to b fails.
    const hostile = new BroadcastChannel("weft-sync:" + room + ":open");
    hostile.postMessage({ t: "frame", from: b.peer, to: a.peer, bytes: new Uint8Array([0xff, 0, 1]) });
    await until(() => errors.length > 0, "the spoofed frame to be refused");
    // Both sides start over with fresh sessions: edits flow both ways again.
    db.insert(db.length, "after b");
    await until(() => da.toString() === "before after b", "b's edit after the restart");
    da.insert(0, "> ");
    await until(() => db.toString() === "> before after b", "a's edit after the restart");
    a.disconnect();
    b.disconnect();
    hostile.close();
    console.log(JSON.stringify({ errors }));
  `);
  assert.deepEqual(out.errors, ["SYNC_VERSION"]);
});
