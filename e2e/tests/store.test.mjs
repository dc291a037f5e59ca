// Durable storage in real IndexedDB in headless Chromium: edits survive
// reloads, tabs see each other's edits and both persist, reloading without
// editing stores nothing new, damage is skipped and reported.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { serve } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { launch } from "../lib/browser.mjs";

let server;
let browser;
let url;

before(async () => {
  installPackedWeft();
  // One server (one port, so one storage origin) for the whole file.
  server = await serve(join(E2E, "store-app"));
  url = server.url;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function page(context) {
  const p = await context.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  await p.goto(url);
  await p.waitForFunction(() => window.ready === true);
  p.errors = errors;
  return p;
}

test("edits survive a reload", async () => {
  const context = await browser.newContext();
  const name = `reload-${Date.now()}`;
  const p = await page(context);
  await p.evaluate(async (name) => {
    const store = await window.weft.Store.open(name);
    store.doc.insert(0, "hello 😀");
    store.doc.insert(store.doc.length, " world");
    await store.whenDurable();
  }, name);
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const text = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "hello 😀 world");
  assert.deepEqual(p.errors, []);
  await context.close();
});

test("a store attached to an existing document keeps its text and stores it; another merges what was stored into its own", async () => {
  const context = await browser.newContext();
  const name = `attached-${Date.now()}`;
  const p = await page(context);
  const first = await p.evaluate(async (name) => {
    const doc = new window.weft.Doc();
    doc.insert(0, "typed before storage");
    const store = await window.weft.Store.open(name, { doc });
    const same = store.doc === doc;
    const text = doc.toString();
    await store.whenDurable();
    await store.close();
    return { same, text };
  }, name);
  assert.deepEqual(first, { same: true, text: "typed before storage" });
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const second = await p.evaluate(async (name) => {
    const doc = new window.weft.Doc();
    doc.insert(0, "mine, ");
    const changes = [];
    doc.on("change", (e) => changes.push(e));
    const store = await window.weft.Store.open(name, { doc });
    const merged = doc.toString();
    // What was stored arrived as one change, with the store as its origin.
    const origins = changes.map((e) => [e.origin === store ? "the store" : String(e.origin), e.local]);
    await store.whenDurable();
    await store.close();
    return { merged, origins };
  }, name);
  assert.ok(["mine, typed before storage", "typed before storagemine, "].includes(second.merged), second.merged);
  assert.deepEqual(second.origins, [["the store", false]]);
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const reopened = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(reopened, second.merged, "both documents' text is stored");
  assert.deepEqual(p.errors, []);
  await context.close();
});

test("reloading without editing stores nothing new", async () => {
  const context = await browser.newContext();
  const name = `idle-${Date.now()}`;
  const p = await page(context);
  await p.evaluate(async (name) => {
    const store = await window.weft.Store.open(name);
    store.doc.insert(0, "some text");
    await store.close();
  }, name);
  const before = await p.evaluate((name) => window.storageOf(name), name);
  for (let i = 0; i < 20; i++) {
    await p.reload();
    await p.waitForFunction(() => window.ready === true);
    const text = await p.evaluate(async (name) => {
      const store = await window.weft.Store.open(name);
      const t = store.doc.toString();
      await store.close();
      return t;
    }, name);
    assert.equal(text, "some text");
  }
  const afterReloads = await p.evaluate((name) => window.storageOf(name), name);
  assert.deepEqual(afterReloads, before);
  await context.close();
});

/** Opens the store `name` in each page as `window.store`. */
async function openStores(pages, name) {
  for (const p of pages) {
    await p.evaluate(async (name) => { window.store = await window.weft.Store.open(name); }, name);
  }
}

test("two tabs see each other's edits and both persist", async () => {
  const context = await browser.newContext();
  const name = `tabs-${Date.now()}`;
  const [a, b] = [await page(context), await page(context)];
  await openStores([a, b], name);
  for (let i = 0; i < 5; i++) {
    await a.evaluate((i) => window.store.doc.insert(window.store.doc.length, `a${i} `), i);
    await b.evaluate((i) => window.store.doc.insert(0, `b${i} `), i);
  }
  // Live: each tab converges on the other's edits.
  await a.waitForFunction(() => window.store.doc.toString().split(" ").filter(Boolean).length === 10);
  await b.waitForFunction(() => window.store.doc.toString().split(" ").filter(Boolean).length === 10);
  const live = await a.evaluate(() => window.store.doc.toString());
  assert.equal(await b.evaluate(() => window.store.doc.toString()), live);
  for (const p of [a, b]) await p.evaluate(() => window.store.close());
  await a.close();
  await b.close();
  const c = await page(context);
  const reopened = await c.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(reopened, live);
  await context.close();
});

test("a tab alone posts nothing per edit; a tab opening later gets every edit and then each new one", async () => {
  const context = await browser.newContext();
  const name = `alone-${Date.now()}`;
  const [a, b] = [await page(context), await page(context)];
  const countPosts = () => {
    const post = BroadcastChannel.prototype.postMessage;
    window.posts = 0;
    BroadcastChannel.prototype.postMessage = function (m) {
      window.posts++;
      return post.call(this, m);
    };
  };
  await a.evaluate(countPosts);
  await openStores([a], name);
  await a.evaluate(async () => {
    for (let i = 0; i < 20; i++) {
      window.store.doc.insert(window.store.doc.length, `a${i} `);
      await window.store.whenDurable();
    }
    // The last edit cannot be written: it is only in memory when the next
    // tab opens, which must get it from this one.
    window.put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException("writes blocked by the test", "UnknownError");
    };
    window.store.doc.insert(window.store.doc.length, "unsaved ");
  });
  assert.equal(await a.evaluate(() => window.posts), 1, "only the hello it sent on opening");
  await openStores([b], name);
  const text = await a.evaluate(() => window.store.doc.toString());
  await b.waitForFunction((t) => window.store.doc.toString() === t, text);
  assert.match(text, /unsaved $/);
  await a.evaluate(() => window.store.doc.insert(0, "live "));
  await b.waitForFunction(() => window.store.doc.toString().startsWith("live a0 "));
  await a.evaluate(() => (IDBObjectStore.prototype.put = window.put));
  for (const p of [a, b]) await p.evaluate(() => window.store.close());
  await context.close();
});

test("a tab watching another's edits does not store them again", async () => {
  const context = await browser.newContext();
  const name = `watch-${Date.now()}`;
  const [writer, watcher] = [await page(context), await page(context)];
  await openStores([writer, watcher], name);
  await writer.evaluate(async () => {
    for (let i = 0; i < 20; i++) {
      window.store.doc.insert(window.store.doc.length, `w${i} `);
      await window.store.whenDurable();
    }
  });
  await watcher.waitForFunction(() => window.store.doc.toString().split(" ").filter(Boolean).length === 20);
  // Longer than the grace a watcher gives the writer to report durability.
  await new Promise((r) => setTimeout(r, 2500));
  const stored = await writer.evaluate((name) => window.storageOf(name), name);
  assert.equal(stored.records, 20, "one record per edit, written by the writer only");
  for (const p of [writer, watcher]) await p.evaluate(() => window.store.close());
  await context.close();
});

test("a peer's edit reaching every tab is stored once, by the writer tab", async () => {
  const context = await browser.newContext();
  const name = `peer-${Date.now()}`;
  const tabs = [await page(context), await page(context), await page(context)];
  await openStores(tabs, name);
  // What a sync provider does in each tab when a peer's update arrives.
  const peer = await tabs[0].evaluate(() => {
    const doc = new window.weft.Doc();
    doc.insert(0, "from a peer");
    return Array.from(doc.encodeUpdate());
  });
  // It reaches the tabs at different times: some only after the writer
  // already reported it durable.
  for (const p of tabs) {
    await p.evaluate((u) => window.store.doc.applyUpdate(new Uint8Array(u)), peer);
    await new Promise((r) => setTimeout(r, 300));
  }
  // Longer than the grace the other tabs give the writer.
  await new Promise((r) => setTimeout(r, 2500));
  const stored = await tabs[0].evaluate((name) => window.storageOf(name), name);
  assert.equal(stored.records, 1, "one tab stored it; the others saw it durable");
  await tabs[1].evaluate(() => window.store.close());
  const text = await tabs[1].evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "from a peer");
  await context.close();
});

test("a tab stores another's edits itself if that tab never says they are durable", async () => {
  const context = await browser.newContext();
  const name = `orphan-${Date.now()}`;
  const [survivor, gone] = [await page(context), await page(context)];
  await openStores([survivor, gone], name);
  // A tab that cannot write its edit (as if it crashed before writing it):
  // it hands the edit to the other tab and never reports it durable.
  await gone.evaluate(() => {
    IDBObjectStore.prototype.put = function () {
      throw new DOMException("writes blocked by the test", "UnknownError");
    };
    window.store.doc.insert(0, "only in memory over there");
  });
  await survivor.waitForFunction(() => window.store.doc.length > 0);
  await gone.close();
  // Longer than the grace it gives the other tab to report durability.
  await new Promise((r) => setTimeout(r, 2500));
  const stored = await survivor.evaluate((name) => window.storageOf(name), name);
  assert.equal(stored.records, 1, "stored by the tab that saw it");
  await survivor.evaluate(() => window.store.close());
  const text = await survivor.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "only in memory over there");
  await context.close();
});

test("while IndexedDB refuses to open, the store edits in memory, reports it, and stores everything once it opens", async () => {
  const context = await browser.newContext();
  // As in private modes that refuse storage: open() throws a SecurityError.
  await context.addInitScript(() => {
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (...args) {
      if (window.denyStorage) throw new DOMException("The operation is insecure.", "SecurityError");
      return open.apply(this, args);
    };
  });
  const name = `refused-${Date.now()}`;
  const p = await page(context);
  const result = await p.evaluate(async (name) => {
    const before = await window.weft.Store.open(name);
    before.doc.insert(0, "stored before. ");
    await before.close();
    window.denyStorage = true;
    const store = await window.weft.Store.open(name);
    const errors = [];
    store.on("error", (e) => errors.push(e.code));
    store.doc.insert(0, "typed while refused. ");
    await new Promise((r) => setTimeout(r, 600)); // a retry or two fail
    const duringRefusal = store.doc.toString();
    window.denyStorage = false;
    await store.whenDurable();
    await store.close();
    const again = await window.weft.Store.open(name);
    return { errors, duringRefusal, merged: store.doc.toString(), reopened: again.doc.toString() };
  }, name);
  assert.ok(result.errors.length >= 2 && result.errors.every((c) => c === "STORAGE_UNAVAILABLE"), `errors: ${result.errors}`);
  assert.equal(result.duringRefusal, "typed while refused. ");
  assert.equal(result.merged.length, "stored before. typed while refused. ".length);
  assert.ok(result.merged.includes("stored before. ") && result.merged.includes("typed while refused. "));
  assert.equal(result.reopened, result.merged);
  await context.close();
});

test("compaction keeps everything and shrinks the journal", async () => {
  const context = await browser.newContext();
  const name = `compact-${Date.now()}`;
  const p = await page(context);
  const stored = await p.evaluate(async (name) => {
    const store = await window.weft.Store.open(name, { compactionFloorBytes: 2000 });
    for (let i = 0; i < 300; i++) {
      store.doc.insert(store.doc.length, `word${i} `);
      await store.whenDurable();
    }
    await store.close();
    return window.storageOf(name);
  }, name);
  assert.ok(stored.checkpoints >= 1, "a checkpoint was written");
  assert.ok(stored.records < 300, `records were compacted away (${stored.records} left)`);
  const text = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text.split(" ").filter(Boolean).length, 300);
  await context.close();
});

test("compactions run in a Worker beside the writes, and a store can keep them on the page", async () => {
  const context = await browser.newContext();
  const name = `worker-${Date.now()}`;
  const p = await page(context);
  const run = (inWorker) =>
    p.evaluate(
      async ([name, inWorker]) => {
        const store = await window.weft.Store.open(name, { compactionFloorBytes: 2000, compactInWorker: inWorker });
        // Typed without waiting: writes go on while the Worker compacts.
        for (let i = 0; i < 400; i++) {
          store.doc.insert(store.doc.length, `w${i} `);
          if (i % 4 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        await store.whenDurable();
        const stats = store.stats();
        await store.close();
        return { stats, stored: await window.storageOf(name) };
      },
      [name, inWorker],
    );
  const worker = await run(true);
  assert.ok(worker.stats.checkpointsInWorker >= 1, `the Worker wrote checkpoints (${JSON.stringify(worker.stats)})`);
  assert.ok(worker.stats.records < 100, `records were compacted away while typing (${worker.stats.records} left)`);
  assert.deepEqual([worker.stored.records, worker.stored.checkpoints], [0, 1], "closing folded the rest");
  const onPage = await run(false);
  assert.equal(onPage.stats.checkpointsInWorker, 0);
  assert.ok(onPage.stats.lastCheckpoint instanceof Date);
  const text = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  const words = text.split(" ").filter(Boolean);
  assert.equal(words.length, 800, "every word of both sessions is stored");
  assert.equal(new Set(words).size, 400);
  assert.deepEqual(p.errors, []);
  await context.close();
});

test("closing folds the journal into one checkpoint", async () => {
  const context = await browser.newContext();
  const name = `close-${Date.now()}`;
  const p = await page(context);
  const [open, closed] = await p.evaluate(async (name) => {
    const store = await window.weft.Store.open(name);
    for (let i = 0; i < 5; i++) {
      store.doc.insert(store.doc.length, `line ${i}\n`);
      await store.whenDurable();
    }
    const open = await window.storageOf(name);
    await store.close();
    return [open, await window.storageOf(name)];
  }, name);
  assert.equal(open.records, 5, "one record per durable edit while open");
  assert.equal(closed.records, 0, "closing compacted the records away");
  assert.equal(closed.checkpoints, 1);
  const text = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "line 0\nline 1\nline 2\nline 3\nline 4\n");
  await context.close();
});

test("a damaged record is skipped and reported; the rest loads", async () => {
  const context = await browser.newContext();
  const name = `damage-${Date.now()}`;
  const p = await page(context);
  const result = await p.evaluate(async (name) => {
    const store = await window.weft.Store.open(name);
    store.doc.insert(0, "kept");
    await store.close();
    await window.damage(name, 1000, [1, 2, 3, 4, 5]);
    const again = await window.weft.Store.open(name);
    const events = [];
    again.on("corruption", (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 50));
    return { text: again.doc.toString(), problems: again.problems.map((x) => [x.kind, x.key, x.error.code]), events: events.length };
  }, name);
  assert.equal(result.text, "kept");
  assert.deepEqual(result.problems, [["record", 1000, "INVALID_ENCODING"]]);
  assert.equal(result.events, 1);
  await context.close();
});

test("a store whose database another page deletes reopens and stores everything again", async () => {
  const context = await browser.newContext();
  const name = `deleted-${Date.now()}`;
  const [a, b] = [await page(context), await page(context)];
  await a.evaluate(async (name) => {
    window.store = await window.weft.Store.open(name);
    window.errors = [];
    window.store.on("error", (e) => window.errors.push(e.code));
    window.store.doc.insert(0, "before ");
    await window.store.whenDurable();
  }, name);
  // The open connection closes on versionchange instead of blocking this.
  await b.evaluate(
    (name) => new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(`weft:${name}`);
      req.onsuccess = resolve;
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("blocked by the open store"));
    }),
    name,
  );
  const errors = await a.evaluate(async () => {
    window.store.doc.insert(window.store.doc.length, "after");
    await window.store.whenDurable();
    return window.errors;
  });
  assert.deepEqual(errors, ["STORAGE_CLOSED"]);
  const text = await b.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "before after");
  await context.close();
});

test("a closed store stays closed: closing again is harmless, later calls reject with STORE_CLOSED", async () => {
  const context = await browser.newContext();
  const name = `closed-${Date.now()}`;
  const p = await page(context);
  const result = await p.evaluate(async (name) => {
    const outcome = (promise) => promise.then(() => "resolved", (e) => `${e.name} ${e.code ?? e.message}`);
    const store = await window.weft.Store.open(name);
    const errors = [];
    store.on("error", (e) => errors.push(e.code ?? e.message));
    store.doc.insert(0, "kept");
    await store.whenDurable();
    store.doc.insert(4, "!");
    // Two closes at once, then one more: one folding, one connection closed.
    const closes = await Promise.all([outcome(store.close()), outcome(store.close())]);
    closes.push(await outcome(store.close()));
    return {
      closes,
      compact: await outcome(store.compact()),
      whenDurable: await outcome(store.whenDurable()),
      records: store.stats().records,
      errors,
      stored: await window.storageOf(name),
    };
  }, name);
  assert.deepEqual(result.closes, ["resolved", "resolved", "resolved"]);
  assert.equal(result.compact, "WeftStorageError STORE_CLOSED");
  assert.equal(result.whenDurable, "WeftStorageError STORE_CLOSED");
  assert.deepEqual(result.errors, []);
  assert.equal(result.stored.records, 0, "folded into a checkpoint");
  assert.equal(result.stored.checkpoints, 1);
  const text = await p.evaluate(async (name) => (await window.weft.Store.open(name)).doc.toString(), name);
  assert.equal(text, "kept!");
  assert.deepEqual(p.errors, []);
  await context.close();
});

test("a store whose document is freed or broken says so once and closes itself; what was durable stays", { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const p = await page(context);
  for (const end of ["free", "break"]) {
    const name = `ended-${end}-${Date.now()}`;
    const result = await p.evaluate(
      async ({ name, end }) => {
        const outcome = (promise) => promise.then(() => "resolved", (e) => e.code ?? e.message);
        const store = await window.weft.Store.open(name);
        const errors = [];
        store.on("error", (e) => errors.push(e.code ?? e.message));
        store.doc.insert(0, "durable");
        await store.whenDurable();
        store.doc.insert(7, " and not yet");
        const pending = outcome(store.whenDurable());
        if (end === "free") {
          store.doc.free();
        } else {
          // A failure inside the WebAssembly module, made for real: a
          // function it calls (RangeError, for an index out of bounds)
          // throws through its frames.
          const RealRangeError = globalThis.RangeError;
          globalThis.RangeError = function () {
            throw new Error("unwound through the WebAssembly frames");
          };
          try {
            store.doc.insert(99, "x");
          } catch {
            // DOCUMENT_BROKEN
          } finally {
            globalThis.RangeError = RealRangeError;
          }
        }
        // Retries would come after 250, 500, 1000 ms.
        await new Promise((r) => setTimeout(r, 1_500));
        return {
          errors,
          pending: await pending,
          whenDurable: await outcome(store.whenDurable()),
          compact: await outcome(store.compact()),
          closes: [await outcome(store.close()), await outcome(store.close())],
          errorsAfterClose: errors.length,
        };
      },
      { name, end },
    );
    const code = end === "free" ? "DOCUMENT_FREED" : "DOCUMENT_BROKEN";
    assert.deepEqual(result.errors, [code], end);
    assert.equal(result.pending, code);
    assert.equal(result.whenDurable, code);
    assert.equal(result.compact, "STORE_CLOSED");
    assert.deepEqual(result.closes, ["resolved", "resolved"]);
    assert.equal(result.errorsAfterClose, 1);
    // Open it again from what was stored, as the broken event advises.
    const text = await p.evaluate(async (name) => {
      const store = await window.weft.Store.open(name);
      const text = store.doc.toString();
      await store.close();
      return text;
    }, name);
    assert.equal(text, "durable", end);
  }
  assert.deepEqual(p.errors, []);
  await context.close();
});
