// Compactions in a Worker (`compactor.ts`), one Worker for the page, made
// when first needed and ended once idle: a large document's snapshot takes
// a second or more to encode, which the page's thread must not spend.

import { randomReplica } from "./doc.js";
import { withCode } from "./errors.js";

/** A job: compact the journal of store `name`. */
export interface CompactJob {
  id: number;
  name: string;
  /** The replica id the Worker loads the document as (it edits nothing). */
  replica: bigint;
}

/** The answer: what the compaction did (`RawStore.compact`), or why it failed. */
export type CompactAnswer =
  | { id: number; done: Float64Array }
  | { id: number; error: { name: string; message: string; code: string | undefined } };

/** A Worker gone idle is ended after this long (its memory goes with it). */
const IDLE_MS = 2_000;

let worker: Worker | undefined;
/** Set once a Worker could not be made or failed to run: the page compacts itself from then on. */
let unavailable = false;
let nextId = 1;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const pending = new Map<number, { resolve: (done: Float64Array) => void; reject: (err: Error) => void }>();

/** Why a job did not run in a Worker: the caller compacts on the page instead. */
export class WorkerUnavailable extends Error {}

function startWorker(): Worker {
  const w = new Worker(new URL("./compactor.js", import.meta.url), { type: "module" });
  w.onmessage = (e: MessageEvent<CompactAnswer>) => {
    const answer = e.data;
    const job = pending.get(answer.id);
    if (!job) return;
    pending.delete(answer.id);
    if ("done" in answer) job.resolve(answer.done);
    else {
      const { name, message, code } = answer.error;
      const err = new Error(message);
      job.reject(code === undefined ? err : withCode(err, code, name));
    }
    if (pending.size === 0) idleTimer = setTimeout(endWorker, IDLE_MS);
  };
  // The script did not load or run (a content security policy, a bundler
  // that left it out): every job waiting, and every later one, goes back
  // to the page.
  w.onerror = (e) => {
    e.preventDefault();
    unavailable = true;
    endWorker(new WorkerUnavailable(`the compaction Worker failed: ${e.message}`));
  };
  return w;
}

function endWorker(reason = new WorkerUnavailable("the compaction Worker was ended")): void {
  clearTimeout(idleTimer);
  worker?.terminate();
  worker = undefined;
  for (const job of pending.values()) job.reject(reason);
  pending.clear();
}

/**
 * Compacts the journal of store `name` in the Worker; resolves to what it
 * did (for `RawStore.compactedElsewhere`). Rejects with `WorkerUnavailable`
 * where no Worker can run it, else with the compaction's own error.
 */
export function compactInWorker(name: string): Promise<Float64Array> {
  if (unavailable || typeof Worker === "undefined") return Promise.reject(new WorkerUnavailable("no Worker"));
  try {
    worker ??= startWorker();
  } catch (err) {
    unavailable = true;
    return Promise.reject(new WorkerUnavailable(`no compaction Worker: ${String(err)}`));
  }
  clearTimeout(idleTimer);
  const id = nextId++;
  const job: CompactJob = { id, name, replica: randomReplica() };
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker!.postMessage(job);
  });
}
