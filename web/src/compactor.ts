// The Worker that compacts a store's journal off the page's thread. It
// opens the database on a connection of its own, loads what is stored (a
// large document's records merge, and its snapshot encodes, for a second
// or more), writes the checkpoint and deletes what it includes, exactly as
// another tab compacting would; then it answers with what it did, for the
// page's `RawStore.compactedElsewhere`. The journal protocol stays the
// binding's; this only carries jobs in and answers out.

import init, { RawStore } from "../wasm/weft_wasm.js";
import type { CompactJob, CompactAnswer } from "./worker-compaction.js";

interface WorkerScope {
  onmessage: ((e: MessageEvent<CompactJob>) => void) | null;
  postMessage(message: CompactAnswer, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let ready: Promise<unknown> | undefined;

async function compact({ name, replica }: CompactJob): Promise<Float64Array> {
  ready ??= init({ module_or_path: new URL("../wasm/weft_wasm_bg.wasm", import.meta.url) });
  await ready;
  const raw = await RawStore.open(name, undefined);
  try {
    const doc = await raw.load(replica);
    try {
      return await raw.compact(doc);
    } finally {
      doc.free();
    }
  } finally {
    raw.close();
  }
}

scope.onmessage = (e) => {
  const { id } = e.data;
  compact(e.data).then(
    (done) => scope.postMessage({ id, done }, [done.buffer]),
    (err: unknown) => {
      const { name, message, code } = (err ?? {}) as { name?: string; message?: string; code?: string };
      scope.postMessage({ id, error: { name: String(name ?? "Error"), message: String(message ?? err), code } });
    },
  );
};
