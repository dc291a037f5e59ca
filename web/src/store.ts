// Durable storage in IndexedDB: an append-only journal of updates with
// checkpoints, shared safely by several tabs. The journal protocol (what is
// stored, what to append, when to compact, what a compaction deletes, the
// key counter) is the binding's `RawStore`; this keeps what is JavaScript's:
// events, timers, the Web Locks and the tabs.

import { RawStore, type RawDoc } from "../wasm/weft_wasm.js";
import { Doc, docInternals, emptyVersion, randomReplica, setAuthor, type ChangeEvent } from "./doc.js";
import { checkIndex, checkOptions, checkString, isCoded, typeError, withCode, type WeftError } from "./errors.js";
import { Emitter, type Listener } from "./events.js";
import { TabSync } from "./sync/tab-sync.js";
import { compactInWorker, WORKER_FROM_BYTES, WorkerUnavailable } from "./worker-jobs.js";

/** Options for `Store.open`. */
export interface StoreOptions {
  /**
   * Journal bytes below which no compaction happens while editing (default
   * 16 KiB). Above it, the store compacts once the records outweigh a
   * quarter of the checkpoint. `close()` folds any records regardless.
   */
  compactionFloorBytes?: number;
  /**
   * Whether compactions run in a Worker: it loads what is stored, writes
   * the checkpoint and deletes what it includes, so a large document's
   * snapshot is never encoded on the page's thread. By default, once what
   * is stored reaches 128 KiB (below, the page's own encode takes a few
   * milliseconds, less than the Worker's load of what is stored); `true`:
   * always; `false`: never. Where no Worker can run (none exists, a
   * content security policy refuses it), the page compacts itself.
   */
  compactInWorker?: boolean;
  /**
   * A document to keep in storage instead of a new one (as y-indexeddb
   * attaches to an existing `Y.Doc`): what is stored is merged into it
   * (a change with the store as `origin`), and what it holds that storage
   * lacks is written at once. It keeps its replica id; the store never frees
   * it.
   */
  doc?: Doc;
  /**
   * The author id of the new document's edits (as `DocOptions.author`).
   * With `doc`, give it to that document instead.
   */
  author?: string;
}

/** Counts of `Store.stats()`. */
export interface StoreStats {
  /** Journal records not yet folded into a checkpoint. */
  records: number;
  journalBytes: number;
  checkpoints: number;
  checkpointBytes: number;
  /** When this tab last wrote a checkpoint (undefined: not in this session). */
  lastCheckpoint: Date | undefined;
  /** Checkpoints this tab's Worker wrote in this session (of all it wrote). */
  checkpointsInWorker: number;
}

/** A stored entry that could not be read: skipped, everything else loaded. */
export interface CorruptionEvent {
  kind: "record" | "checkpoint";
  /** The entry's key in the database. */
  key: number;
  error: Error;
}

/** Events of a `Store`. */
export interface StoreEvents {
  /** Changes up to now are on disk. */
  durable: void;
  /**
   * Storing failed (quota, a failed transaction); it is retried with
   * backoff. Or the document was freed or broke (`DOCUMENT_FREED`,
   * `DOCUMENT_BROKEN`): said once, and the store closed itself.
   */
  error: Error;
  /** An entry was damaged; it was skipped. */
  corruption: CorruptionEvent;
}

/**
 * Edits from another tab are stored by that tab; this one stores them only
 * if that tab has not said they are durable within this time (it may have
 * crashed).
 */
const TAB_GRACE_MS = 2_000;

/** Backoff between retries of a failed write. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

/** A database opened and read: what it holds, and what of it was damaged. */
interface Loaded {
  raw: RawStore;
  doc: RawDoc;
  problems: CorruptionEvent[];
}

/** Opens the database of `name` and reads it, editing as a fresh replica. */
async function load(name: string, floor: number | undefined, author: string | undefined): Promise<Loaded> {
  const raw = await RawStore.open(name, floor);
  try {
    const doc = await raw.load(randomReplica());
    setAuthor(doc, { author });
    return { raw, doc, problems: raw.takeProblems() };
  } catch (err) {
    raw.close();
    throw err;
  }
}



/** Codes of a document that can no longer be read: the store stops. */
function isDocEnd(err: unknown): err is WeftError {
  return isCoded(err) && (err.code === "DOCUMENT_FREED" || err.code === "DOCUMENT_BROKEN");
}

function closedError(): WeftError {
  return withCode(new Error("the store is closed (close() was called, or its document was freed or broke)"), "STORE_CLOSED", "WeftStorageError");
}

/**
 * A document kept in IndexedDB. Every change (local, remote, or from another
 * tab) is appended to the journal in one transaction per batch; an edit is
 * durable once `whenDurable()` resolves (or the `durable` event fires).
 * Each session edits under a fresh replica id, so ids are never reused even
 * if a crash lost edits that peers had already seen (unless it was given a
 * document: that one keeps its own). Changes the store merges into the
 * document (what storage holds, other tabs' edits) have the store as their
 * `origin`.
 */
export class Store {
  /** The document. */
  readonly doc: Doc;
  /** Entries skipped as damaged when opening. */
  readonly problems: readonly CorruptionEvent[];
  /** Undefined while IndexedDB refuses to open (edits are kept in memory). */
  #raw: RawStore | undefined;
  readonly #name: string;
  readonly #floor: number | undefined;
  /** Where compactions go (see `StoreOptions.compactInWorker`); false once no Worker can run. */
  #inWorker: boolean | undefined;
  #checkpointsInWorker = 0;
  /** A compaction started after a write, under way beside later writes. */
  #compaction: Promise<void> | undefined;
  /**
   * The other tabs of this database: a sync session with each (a tab that
   * opens gets what the others have not written yet), and durable reports.
   */
  readonly #tabs: TabSync;
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = 0;
  /** Whether this tab writes remote changes at once (one tab per document does). */
  #writer = false;
  /** The latest version another tab reported durable. */
  #reportedDurable: Uint8Array | undefined;
  #releaseWriter: (() => void) | undefined;
  /** Set by the first `close()` (or the document's end): what every later `close()` returns. */
  #closing: Promise<void> | undefined;
  /** Stopped: nothing more is stored, nothing is sent to tabs. */
  #closed = false;
  /** Why the store stopped by itself: its document was freed or broke. */
  #ended: WeftError | undefined;
  #stopWatching: () => void;
  #lastCheckpoint: Date | undefined;
  #retryDelay = RETRY_FIRST_MS;
  #events = new Emitter<StoreEvents>();
  #onChange = (e: ChangeEvent) => this.#guard(() => this.#changed(e));

  private constructor(name: string, loaded: Loaded | undefined, options: StoreOptions, doc: Doc | undefined) {
    this.#name = name;
    this.#raw = loaded?.raw;
    this.#floor = options.compactionFloorBytes;
    this.#inWorker = options.compactInWorker;
    if (doc) {
      this.doc = doc;
      if (loaded) {
        let stored: Uint8Array;
        try {
          stored = loaded.doc.encodeState();
        } finally {
          loaded.doc.free();
        }
        doc.applyUpdate(stored, this);
      }
    } else {
      this.doc = loaded ? docInternals.wrap(loaded.doc) : new Doc({ author: options.author });
    }
    this.problems = loaded?.problems ?? [];
    this.doc.on("change", this.#onChange);
    this.#stopWatching = docInternals.onEnd(this.doc, (err) => this.#docEnded(err));
    this.#electWriter();
    this.#tabs = new TabSync(`weft-store:${name}`, this.doc, this, {
      durable: (version) => this.#guard(() => this.#durableElsewhere(version)),
      // A tab that joins hears what is stored, unless writes are pending.
      stored: () => (this.#scheduled || this.#closed ? undefined : this.#saved()),
      error: (err) => this.#report(err),
    });
    // A given document's own state: written at once.
    if (this.#raw && !this.#covers(this.#saved())) this.#schedule(0);
  }

  /**
   * Opens the document stored under `name` (empty if there is none), or
   * with `{ doc }` attaches storage to an existing document: what is stored
   * is merged into it, and its own state is written. Where IndexedDB exists
   * but refuses to open (private modes, blocked storage), the store starts
   * in memory (empty, or with the given document), reports an `error`, and
   * keeps trying: once the database opens, what it holds is merged in and
   * everything is stored. Where IndexedDB does not exist at all, this
   * rejects.
   */
  static async open(name: string, options: StoreOptions = {}): Promise<Store> {
    // Checked before the binding sees them (a name that is not a string traps in it).
    checkString(name, "name");
    const { compactionFloorBytes, compactInWorker, doc, author } = checkOptions<StoreOptions>(options, "options");
    if (compactionFloorBytes !== undefined) checkIndex(compactionFloorBytes, "compactionFloorBytes");
    if (compactInWorker !== undefined && typeof compactInWorker !== "boolean") throw typeError("compactInWorker must be a boolean");
    if (author !== undefined) {
      checkString(author, "author");
      if (doc !== undefined) throw typeError("give the author to the Doc passed as `doc` (new Doc({ author })), not to Store.open");
    }
    // A Doc, and open: a freed or broken one is refused with its code.
    if (doc !== undefined) docInternals.use(doc, () => {});
    let loaded: Loaded;
    try {
      loaded = await load(name, compactionFloorBytes, author);
    } catch (err) {
      if (typeof globalThis.indexedDB === "undefined") throw err;
      const store = new Store(name, undefined, options, doc);
      setTimeout(() => {
        if (store.#closed) return;
        store.#emit("error", err as Error);
        store.#retryLater();
      }, 0);
      return store;
    }
    let store: Store;
    try {
      store = new Store(name, loaded, options, doc);
    } catch (err) {
      // The stored history could not be merged into the given document.
      loaded.raw.close();
      throw err;
    }
    // After the caller has had the chance to subscribe.
    setTimeout(() => loaded.problems.forEach((p) => store.#emit("corruption", p)), 0);
    return store;
  }

  /**
   * Resolves once every change made so far is on disk. While writes fail
   * (see the `error` event) it waits for the retries to succeed. Rejects
   * with `STORE_CLOSED` once `close()` was called, and with the document's
   * code if it was freed or broke before its changes were stored.
   */
  async whenDurable(): Promise<void> {
    if (this.#closing) throw this.#ended ?? closedError();
    for (;;) {
      if (this.#ended) throw this.#ended;
      if (this.#scheduled) {
        const wait = this.#due - Date.now();
        if (wait > 0) {
          // A retry's backoff or another tab's grace: wait for it.
          await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
          continue;
        }
        this.#flushNow(); // due already: no reason to wait for the timer
      }
      await this.#flushing;
      if (this.#ended) throw this.#ended;
      if (this.#closed) {
        // Closed meanwhile: its last write either stored everything or failed.
        if (this.#covers(this.#saved())) return;
        throw closedError();
      }
      // A failed write schedules its retry before the flush settles.
      if (!this.#scheduled) return;
    }
  }

  /** What this tab knows is stored: journal records and checkpoints, with their bytes. */
  stats(): StoreStats {
    return {
      ...(this.#raw?.stats() ?? { records: 0, journalBytes: 0, checkpoints: 0, checkpointBytes: 0 }),
      lastCheckpoint: this.#lastCheckpoint,
      checkpointsInWorker: this.#checkpointsInWorker,
    };
  }

  /** The version stored: nothing while the database has not opened. */
  #saved(): Uint8Array {
    return this.#raw?.saved() ?? emptyVersion();
  }

  /** Replaces the journal with a checkpoint now (rejects with `STORE_CLOSED` after `close()`). */
  async compact(): Promise<void> {
    if (this.#closing) throw closedError();
    if (!this.#raw) throw withCode(new Error("cannot compact: the database is not open"), "STORAGE_UNAVAILABLE", "WeftStorageError");
    await this.whenDurable();
    // In line with writes, so that closing waits for it.
    const done = this.#flushing.then(async () => {
      await this.#compaction;
      if (this.#closed) throw closedError();
      return this.#compactNow();
    });
    this.#flushing = done.catch(() => {});
    await done;
  }

  /**
   * Compacts: in the Worker (what is stored) unless `onPage` (the
   * document, which holds at least that) or no Worker can.
   */
  async #compactNow(onPage = false): Promise<void> {
    const run = async () => {
      const raw = this.#raw!;
      if (!onPage && this.#worthAWorker(raw)) {
        try {
          raw.compactedElsewhere(await compactInWorker(this.#name));
          this.#checkpointsInWorker++;
          this.#lastCheckpoint = new Date();
          return;
        } catch (err) {
          if (!(err instanceof WorkerUnavailable)) throw err;
          this.#inWorker = false;
        }
      }
      await docInternals.use(this.doc, (doc) => raw.compact(doc));
      this.#lastCheckpoint = new Date();
    };
    // One tab compacts at a time.
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (locks) await locks.request(`weft:${this.#name}:compact`, run);
    else await run();
  }

  /** Whether a compaction goes to the Worker (see `StoreOptions.compactInWorker`). */
  #worthAWorker(raw: RawStore): boolean {
    if (this.#inWorker !== undefined) return this.#inWorker;
    const { journalBytes, checkpointBytes } = raw.stats();
    return journalBytes + checkpointBytes >= WORKER_FROM_BYTES;
  }

  /**
   * Writes what is pending, folds the journal into one checkpoint when it
   * holds records (the next open then loads a snapshot instead of replaying
   * them), then stops storing and syncing tabs. A write that fails here is
   * reported (`error`) and not retried: closing never hangs. Where the
   * database never opened there is nothing to write. Closing again returns
   * the same promise; the document stays usable (but is no longer stored).
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    if (this.#raw && !this.#closed) {
      if (this.#scheduled) this.#flushNow();
      await this.#flushing;
      await this.#compaction;
      if (this.#raw?.hasRecords() && !this.#closed) {
        try {
          await this.#compactNow();
        } catch (err) {
          // The records stay; they are replayed on the next open.
          if (isDocEnd(err)) this.#docEnded(err);
          else this.#emit("error", err as Error);
        }
      }
    }
    this.#stop();
    // A write or compaction under way finishes before the connection closes.
    await this.#flushing;
    await this.#compaction;
    // Still asked what it stored (`whenDurable` after closing).
    this.#raw?.close();
  }

  /** Stores nothing more and leaves the other tabs (the database closes once idle). */
  #stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduled = false;
    this.#releaseWriter?.();
    clearTimeout(this.#timer);
    this.doc.off("change", this.#onChange);
    this.#stopWatching();
    this.#tabs.close();
  }

  /**
   * The document was freed or broke: nothing more can be read from it, so
   * there is nothing to store. Said once (`error` with its code), then the
   * store closes itself instead of retrying.
   */
  #docEnded(err: WeftError): void {
    if (this.#ended || this.#closed) return;
    this.#ended = err;
    this.#stop();
    this.#emit("error", err);
    this.close().catch((closing) => this.#emit("error", closing as Error));
  }

  on<K extends keyof StoreEvents>(event: K, listener: Listener<StoreEvents[K]>): void {
    this.#events.on(event, listener);
  }

  off<K extends keyof StoreEvents>(event: K, listener: Listener<StoreEvents[K]>): void {
    this.#events.off(event, listener);
  }

  #emit<K extends keyof StoreEvents>(event: K, value: StoreEvents[K]): void {
    this.#events.emit(event, value);
  }

  /**
   * Runs what an event handler of the store does: a failure is reported as
   * `error` (the document's end stops the store), never thrown out of it.
   */
  #guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    if (isDocEnd(err)) return this.#docEnded(err);
    this.#emit("error", isCoded(err) ? err : withCode(new Error(`storing failed: ${String(err)}`, { cause: err }), "STORAGE", "WeftStorageError"));
  }

  #changed(e: ChangeEvent): void {
    if (this.#closed) return;
    // Other tabs see the change at once (another tab's edit they got from it).
    if (e.origin !== this) this.#tabs.flush();
    // What this store merged (another tab's edit) is that tab's to store,
    // and a peer's edit (which reaches every tab) the writer tab's: others
    // only step in if no tab reports it durable within the grace.
    const theirs = e.origin === this || (!e.local && !this.#writer);
    // The writer may have reported it durable before this tab received it.
    if (theirs && this.#reportedDurable && this.#covers(this.#reportedDurable)) {
      this.#storedElsewhere(this.#reportedDurable);
      return;
    }
    this.#schedule(theirs ? TAB_GRACE_MS : 0);
  }

  /** Another tab stored exactly what this one holds: nothing left to write. */
  #storedElsewhere(version: Uint8Array): void {
    this.#raw?.storedElsewhere(version);
    if (this.#scheduled) {
      clearTimeout(this.#timer);
      this.#scheduled = false;
    }
  }

  /**
   * One tab per document becomes the writer, holding a Web Lock until it
   * closes or dies; the next tab waiting takes over. Without Web Locks,
   * every tab writes.
   */
  #electWriter(): void {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) {
      this.#writer = true;
      return;
    }
    locks
      .request(`weft:${this.#name}:writer`, () =>
        new Promise<void>((release) => {
          if (this.#closed) return release();
          this.#writer = true;
          this.#releaseWriter = release;
        }),
      )
      .catch(() => {
        this.#writer = true; // locks refused: store everything ourselves
      });
  }

  /** Whether `version` (encoded) includes everything the document holds. */
  #covers(version: Uint8Array): boolean {
    return docInternals.use(this.doc, (raw) => raw.coveredBy(version));
  }

  /** Another tab stored everything in `version`. */
  #durableElsewhere(version: Uint8Array): void {
    if (this.#closed) return;
    this.#reportedDurable = version;
    if (this.#covers(version)) this.#storedElsewhere(version);
  }

  /**
   * Writes what is not yet stored after `delay` ms (edits of one task
   * coalesce); an earlier deadline replaces a later one.
   */
  #schedule(delay: number): void {
    if (this.#closed) return;
    const due = Date.now() + delay;
    if (this.#scheduled) {
      if (due >= this.#due) return;
      clearTimeout(this.#timer);
    }
    this.#scheduled = true;
    this.#due = due;
    this.#timer = setTimeout(() => this.#flushNow(), delay);
  }

  #flushNow(): void {
    clearTimeout(this.#timer);
    this.#scheduled = false;
    // The chain never rejects: whenDurable() and close() wait on it.
    this.#flushing = this.#flushing.then(() => this.#flush()).catch((err) => this.#report(err));
  }

  async #flush(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#raw) await this.#attach();
      if (this.#closed) return;
      const raw = this.#raw!;
      const version = await docInternals.use(this.doc, (doc) => raw.flush(doc));
      if (!version) return; // nothing new to store
      this.#retryDelay = RETRY_FIRST_MS;
      this.#tabs.durable(version);
      this.#emit("durable", undefined);
    } catch (err) {
      if (isDocEnd(err)) return this.#docEnded(err);
      if (this.#closed) return;
      // Kept in memory and retried with backoff; nothing stored is touched.
      this.#emit("error", err as Error);
      if ((err as { code?: string }).code === "STORAGE_CLOSED") await this.#reopen();
      this.#retryLater();
      return;
    }
    if (!this.#closed && !this.#compaction && this.#raw?.shouldCompact()) {
      // Beside later writes, not before them: a keystroke never waits
      // for a checkpoint.
      this.#compaction = this.#compactNow()
        .catch((err) => {
          if (isDocEnd(err)) return this.#docEnded(err);
          if (!this.#closed) this.#emit("error", err as Error);
        })
        .finally(() => (this.#compaction = undefined));
    }
  }

  #retryLater(): void {
    this.#schedule(this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
  }

  /**
   * Opens the database that refused to open before, and merges what it
   * holds into the document; what only the memory had is written next.
   */
  async #attach(): Promise<void> {
    const loaded = await load(this.#name, this.#floor, undefined);
    this.#raw = loaded.raw; // closed by close() if the store stopped meanwhile
    let stored: Uint8Array;
    try {
      if (this.#closed) return;
      stored = loaded.doc.encodeState();
    } finally {
      loaded.doc.free();
    }
    this.doc.applyUpdate(stored, this);
    for (const p of loaded.problems) this.#emit("corruption", p);
  }

  /**
   * After the connection was closed under us (the database deleted or
   * upgraded by another page), opens it again and stores the whole document
   * as a checkpoint, since what was stored may be gone.
   */
  async #reopen(): Promise<void> {
    try {
      await this.#raw!.reconnect(this.#name);
      // What was stored may be gone: the document's own state, whole.
      await this.#compactNow(true);
    } catch (err) {
      this.#emit("error", err as Error);
    }
  }

}
