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

window.replay = async (name) => {
  const trace = await (await fetch("/trace.json")).json();
  const start = performance.now();
  const [doc, text] = impls[name](trace.patches);
  const ms = performance.now() - start;
  window.kept = doc;
  const final = text();
  return { ms, ok: final === trace.end, len: final.length };
};
window.ready = true;
