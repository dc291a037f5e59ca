// Replays a trace's patches through one implementation's public JS API, one
// call per patch, as an editor binding would. Run by ../run.mjs.
import { Doc } from "weft";
import * as Y from "yjs";
import { LoroDoc } from "loro-crdt/base64";
import * as A from "@automerge/automerge/slim";
import { automergeWasmBase64 } from "@automerge/automerge/automerge.wasm.base64";
import { Model } from "json-joy/lib/json-crdt";

await A.initializeBase64Wasm(automergeWasmBase64);

/** Each returns the replayed document (kept alive for the heap figure) and its text. */
const impls = {
  weft(patches) {
    const doc = new Doc();
    for (const [pos, del, ins] of patches) {
      if (del) doc.delete(pos, del);
      if (ins) doc.insert(pos, ins);
    }
    return [doc, () => doc.toString()];
  },
  yjs(patches) {
    const doc = new Y.Doc();
    const text = doc.getText("text");
    for (const [pos, del, ins] of patches) {
      doc.transact(() => {
        if (del) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
      });
    }
    return [doc, () => text.toString()];
  },
  loro(patches) {
    const doc = new LoroDoc();
    const text = doc.getText("text");
    for (const [pos, del, ins] of patches) {
      if (del) text.delete(pos, del);
      if (ins) text.insert(pos, ins);
      doc.commit();
    }
    return [doc, () => text.toString()];
  },
  automerge(patches) {
    let doc = A.from({ text: "" });
    for (const [pos, del, ins] of patches) {
      doc = A.change(doc, (d) => A.splice(d, ["text"], pos, del, ins));
    }
    return [doc, () => doc.text];
  },
  "json-joy"(patches) {
    const model = Model.create();
    model.api.root({ text: "" });
    const str = model.api.str(["text"]);
    for (const [pos, del, ins] of patches) {
      if (del) str.del(pos, del);
      if (ins) str.ins(pos, ins);
    }
    return [model, () => str.view()];
  },
};

/**
 * History: each library replays the trace noting its version after the
 * patches at `SHARES` of it, then reads the text at each noted version.
 * Yjs needs `gc: false` and snapshots taken up front, json-joy has no such
 * API: both are left out.
 */
const SHARES = [0.1, 0.5, 0.9, 1];
const pasts = {
  weft(patches, marks) {
    const doc = new Doc();
    const versions = [];
    patches.forEach(([pos, del, ins], i) => {
      if (del) doc.delete(pos, del);
      if (ins) doc.insert(pos, ins);
      if (marks.has(i + 1)) versions.push(doc.version());
    });
    // Also as a page that opened it from storage would have it.
    const loaded = Doc.load(doc.encodeState());
    return { doc, versions, textAt: (v) => doc.at(v).toString(), loaded: (v) => loaded.at(v).toString() };
  },
  loro(patches, marks) {
    const doc = new LoroDoc();
    const text = doc.getText("text");
    const versions = [];
    patches.forEach(([pos, del, ins], i) => {
      if (del) text.delete(pos, del);
      if (ins) text.insert(pos, ins);
      doc.commit();
      if (marks.has(i + 1)) versions.push(doc.frontiers());
    });
    return {
      doc,
      versions,
      textAt: (f) => {
        doc.checkout(f);
        const t = doc.getText("text").toString();
        doc.checkoutToLatest();
        return t;
      },
    };
  },
  automerge(patches, marks) {
    let doc = A.from({ text: "" });
    const versions = [];
    patches.forEach(([pos, del, ins], i) => {
      doc = A.change(doc, (d) => A.splice(d, ["text"], pos, del, ins));
      if (marks.has(i + 1)) versions.push(A.getHeads(doc));
    });
    return { doc, versions, textAt: (heads) => A.view(doc, heads).text };
  },
};

window.past = async (name) => {
  const trace = await (await fetch("/trace.json")).json();
  const n = trace.patches.length;
  const marks = new Map(SHARES.map((s) => [Math.round(n * s), s]));
  const past = pasts[name](trace.patches, new Set(marks.keys()));
  const time = (f, v) => {
    const start = performance.now();
    const len = f(v).length;
    return { ms: performance.now() - start, len };
  };
  const rows = past.versions.map((v, i) => ({ share: SHARES[i], ...time(past.textAt, v), loadedMs: past.loaded ? time(past.loaded, v).ms : undefined }));
  return { rows, ok: rows.at(-1).len === trace.end.length };
};

/** Fetches and parses the trace before `replay`, so that the harness can
 * collect the parse's garbage before timing anyone (it is the harness's). */
window.loadTrace = async () => {
  window.trace = await (await fetch("/trace.json")).json();
};

window.replay = async (name) => {
  const trace = window.trace;
  const start = performance.now();
  const [doc, text] = impls[name](trace.patches);
  const ms = performance.now() - start;
  window.kept = doc;
  const final = text();
  return { ms, ok: final === trace.end, len: final.length };
};
window.ready = true;
