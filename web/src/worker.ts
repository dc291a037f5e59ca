// The package's Worker: what takes long on a large document, off the
// page's thread. It compacts a store's journal (on a connection of its own
// it loads what is stored, writes the checkpoint and deletes what it
// included, exactly as another tab compacting would, and answers with what
// it did, for the page's `RawStore.compactedElsewhere`), and checks a
// snapshot a peer sent before the page adopts it (`checkSnapshot`). The
// journal and sync protocols stay the binding's; this only carries jobs in
// and answers out.

import init, { checkSnapshot, RawStore } from "../wasm/weft_wasm.js";
import type { Answer, Job } from "./worker-jobs.js";

interface WorkerScope {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(message: Answer, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let ready: Promise<unknown> | undefined;

async function compact(name: string, replica: bigint): Promise<Float64Array> {
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

async function run(job: Job): Promise<Float64Array | undefined> {
  ready ??= init({ module_or_path: new URL("../wasm/weft_wasm_bg.wasm", import.meta.url) });
  await ready;
  if (job.kind === "compact") return compact(job.name, job.replica);
  checkSnapshot(job.bytes);
  return undefined;
}

scope.onmessage = (e) => {
  const { id } = e.data;
  run(e.data).then(
    (done) => scope.postMessage({ id, done }, done ? [done.buffer] : []),
    (err: unknown) => {
      const { name, message, code, reason } = (err ?? {}) as { name?: string; message?: string; code?: string; reason?: string };
      scope.postMessage({ id, error: { name: String(name ?? "Error"), message: String(message ?? err), code, reason } });
    },
  );
};
