// Jobs for the package's Worker (`worker.ts`), one Worker for the page, made
// when first needed and ended once idle: a large document's snapshot takes
// a second or more to encode or to check, which the page's thread must not
// spend.

import { randomReplica } from "./doc.js";
import { withCode } from "./errors.js";

/**
 * A job: compact the journal of store `name` (the Worker loads the
 * document as `replica`; it edits nothing), or check a snapshot.
 */
export type Job = { id: number } & ({ kind: "compact"; name: string; replica: bigint } | { kind: "check"; bytes: Uint8Array });

/** The answer: what a compaction did (`RawStore.compact`; a check: nothing), or why the job failed. */
export type Answer =
  | { id: number; done: Float64Array | undefined }
  | { id: number; error: { name: string; message: string; code: string | undefined; reason: string | undefined } };

/**
 * Stored bytes, or a snapshot's, from which the work goes to the Worker:
 * below, the page's own work takes a few milliseconds, less than the
 * Worker's start and (for a compaction) its load of what is stored.
 */
export const WORKER_FROM_BYTES = 128 * 1024;

/** A Worker gone idle is ended after this long (its memory goes with it). */
const IDLE_MS = 2_000;

let worker: Worker | undefined;
/** Set once a Worker could not be made or failed to run: the page compacts itself from then on. */
let unavailable = false;
let nextId = 1;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const pending = new Map<number, { resolve: (done: Float64Array | undefined) => void; reject: (err: Error) => void }>();

/** Why a job did not run in a Worker: the caller compacts on the page instead. */
export class WorkerUnavailable extends Error {}

function startWorker(): Worker {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  w.onmessage = (e: MessageEvent<Answer>) => {
    const answer = e.data;
    const job = pending.get(answer.id);
    if (!job) return;
    pending.delete(answer.id);
    if ("done" in answer) job.resolve(answer.done);
    else {
      const { name, message, code, reason } = answer.error;
      const err = new Error(message);
      job.reject(code === undefined ? err : Object.assign(withCode(err, code, name), reason === undefined ? {} : { reason }));
      // A trap leaves the Worker's wasm instance unusable: start afresh.
      if (name === "RuntimeError") return endWorker();
    }
    if (pending.size === 0) idleTimer = setTimeout(endWorker, IDLE_MS);
  };
  // The script did not load or run (a content security policy, a bundler
  // that left it out): every job waiting, and every later one, goes back
  // to the page.
  w.onerror = (e) => {
    e.preventDefault();
    unavailable = true;
    endWorker(new WorkerUnavailable(`the Worker failed: ${e.message}`));
  };
  return w;
}

function endWorker(reason = new WorkerUnavailable("the Worker was ended")): void {
  clearTimeout(idleTimer);
  worker?.terminate();
  worker = undefined;
  for (const job of pending.values()) job.reject(reason);
  pending.clear();
}

/** Whether jobs may go to a Worker (false where none exists, or none could run). */
export function workerAvailable(): boolean {
  return !unavailable && typeof Worker !== "undefined";
}

/** Runs `job` in the Worker. Rejects with `WorkerUnavailable` where no Worker can run it. */
function inWorker(job: Job): Promise<Float64Array | undefined> {
  if (!workerAvailable()) return Promise.reject(new WorkerUnavailable("no Worker"));
  try {
    worker ??= startWorker();
  } catch (err) {
    unavailable = true;
    return Promise.reject(new WorkerUnavailable(`no Worker: ${String(err)}`));
  }
  clearTimeout(idleTimer);
  return new Promise((resolve, reject) => {
    pending.set(job.id, { resolve, reject });
    worker!.postMessage(job);
  });
}

/**
 * Compacts the journal of store `name` in the Worker; resolves to what it
 * did (for `RawStore.compactedElsewhere`). Rejects with `WorkerUnavailable`
 * where no Worker can run it, else with the compaction's own error.
 */
export async function compactInWorker(name: string): Promise<Float64Array> {
  return (await inWorker({ id: nextId++, kind: "compact", name, replica: randomReplica() }))!;
}

/**
 * Checks snapshot `bytes` in the Worker (`checkSnapshot`): rejects with
 * its coded error where it is invalid, with `WorkerUnavailable` where no
 * Worker can run.
 */
export async function checkInWorker(bytes: Uint8Array): Promise<void> {
  await inWorker({ id: nextId++, kind: "check", bytes });
}
