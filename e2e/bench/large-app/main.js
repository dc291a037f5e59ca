// Large-document measurements in the page, for ../large.mjs: a document of
// megabytes of text with a long history, loaded, typed into, stored and
// opened again through the package's public API, while a PerformanceObserver
// records every main-thread task longer than 50 ms.
import { Doc, Store } from "weft";

const longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longTasks.push({ start: e.startTime, ms: e.duration });
}).observe({ type: "longtask", buffered: true });

/** Runs `phase`, then reports its time and the long tasks that began in it. */
async function observed(phase) {
  const start = performance.now();
  const result = await phase();
  const ms = performance.now() - start;
  // Long-task entries arrive after their task ended: let them.
  await new Promise((r) => setTimeout(r, 200));
  const tasks = longTasks.filter((t) => t.start <= start + ms && t.start + t.ms >= start).map((t) => t.ms);
  return { ms, longTasks: tasks, longest: Math.max(0, ...tasks), ...result };
}

const snapshot = async () => new Uint8Array(await (await fetch("/large.bin")).arrayBuffer());

/** Bytes of every WebAssembly memory the page made (see ../large.mjs). */
const wasmBytes = () => window.__wasmMemories.reduce((n, m) => n + m.buffer.byteLength, 0);

/** An edit in the middle and one at the end: the document is ready to edit. */
function edit(doc) {
  doc.insert(doc.length >> 1, "m");
  doc.insert(doc.length, "e");
}

/** Loads the snapshot from bytes until ready to edit; then types. */
window.loadAndType = async (keystrokes) => {
  const bytes = await snapshot();
  let doc;
  let length;
  const load = await observed(() => {
    doc = Doc.load(bytes);
    length = doc.length;
    edit(doc);
    return {};
  });
  load.wasmBytes = wasmBytes();
  load.length = length;
  // Keystrokes at scattered places, each in a task of its own as typing is.
  let seed = 1;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const typing = await observed(async () => {
    const times = [];
    for (let i = 0; i < keystrokes; i++) {
      await new Promise((r) => setTimeout(r, 0));
      const t = performance.now();
      doc.insert(Math.floor(next() * doc.length), "k");
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { p50: times[times.length >> 1], max: times.at(-1) };
  });
  // Reads every page: after the typing, or its long task would count there.
  load.utf8Bytes = new TextEncoder().encode(doc.toString()).length;
  window.kept = doc;
  return { load, typing, snapshotBytes: bytes.length };
};

/** Merges the snapshot into an empty document (as a late joiner does) until ready to edit. */
window.adopt = async () => {
  const bytes = await snapshot();
  return observed(() => {
    const doc = new Doc();
    doc.applyUpdate(bytes);
    edit(doc);
    window.kept = doc;
    return { length: doc.length };
  });
};

/** Stores the snapshot's document in a fresh store: written, compacted, closed. */
window.store = async (name) => {
  const bytes = await snapshot();
  return observed(async () => {
    const store = await Store.open(name);
    store.doc.applyUpdate(bytes);
    await store.whenDurable();
    await store.compact();
    await store.close();
    return {};
  });
};

/**
 * Opens the stored document until ready to edit (in a freshly loaded page);
 * its length as opened (the edits are stored too, for the next open).
 */
window.openStored = async (name) =>
  observed(async () => {
    const store = await Store.open(name);
    const length = store.doc.length;
    edit(store.doc);
    window.kept = store;
    return { length };
  });

window.ready = true;
