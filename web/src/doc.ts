// The `Doc` class: the idiomatic JavaScript face of the wasm binding.

import { RawDoc, takeError, type RawDocStats } from "../wasm/weft_wasm.js";
import { type Delta, forwardPatchesToDelta, type Patch, patchDelta, patchesToDelta, replacedRange } from "./delta.js";
import {
  checkBytes,
  checkChoice,
  checkFunction,
  checkIndex,
  checkOptions,
  checkReplica,
  checkString,
  checkText,
  isCoded,
  rangeError,
  typeError,
  withCode,
  type WeftError,
} from "./errors.js";
import { Emitter, type Listener } from "./events.js";

/**
 * Up to this many patches, a change event's delta is their exact
 * composition; beyond (a large merge), one replaced range, which is cheap.
 */
const MAX_COMPOSED_PATCHES = 64;

/**
 * What a change came from, as Yjs's `transaction.origin`: whatever the code
 * that made it passed to `transact(fn, origin)` or `applyUpdate(bytes,
 * origin)`, any value (a string, the object of an editor binding, a store
 * or a provider; compared with `===`). Without one it is `"local"` for this
 * document's own edits and `"remote"` for merged updates.
 */
export type Origin = unknown;

/** What a `change` listener receives. */
export interface ChangeEvent {
  /** The change as a delta over the text before it (UTF-16 units). */
  delta: Delta;
  /** The same change as sequential patches. */
  patches: Patch[];
  /**
   * The origin given to `transact` or `applyUpdate` (the outermost call's,
   * for nested ones); without one, `"local"` if `local`, else `"remote"`.
   */
  origin: Origin;
  /**
   * Whether the change includes edits made on this document (`insert`,
   * `delete`), as Yjs's `transaction.local`; false when it only merged
   * updates (`applyUpdate`, a store's other tabs, a provider's peers).
   */
  local: boolean;
}

/** What an `update` listener receives. */
export interface UpdateEvent {
  /**
   * Everything the transaction added, as an update for another replica's
   * `applyUpdate` (`encodeUpdate` of the version before it; from an empty
   * document, `encodeState()`).
   */
  update: Uint8Array;
  /** As in `ChangeEvent`. */
  origin: Origin;
  /** As in `ChangeEvent`. */
  local: boolean;
}

/** A document's internal counts, for diagnostics and demos (`doc.stats()`). */
export type DocStats = RawDocStats;

/** Options for a new document. */
export interface DocOptions {
  /**
   * The replica id local edits are made as: unique among everyone who ever
   * edits the document. A random 64-bit id by default.
   */
  replica?: bigint;
  /**
   * Who edits: a stable id of the person (an application's user id, at
   * most 128 bytes of UTF-8). Replica ids change at every page load, an
   * author id does not: `authors`, `diff` and `authorOf` report it for
   * every replica created with it, at every peer. None by default.
   */
  author?: string;
}

/** A document's text at an earlier version (`doc.at(version)`): read-only. */
export class DocView {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  /** Length of the text in UTF-16 code units. */
  get length(): number {
    return this.#text.length;
  }
  /** Number of lines (newlines plus one). */
  get lineCount(): number {
    let n = 1;
    for (let i = this.#text.indexOf("\n"); i !== -1; i = this.#text.indexOf("\n", i + 1)) n++;
    return n;
  }
  /** The text from `start` to `end` (default: the end). */
  slice(start = 0, end?: number): string {
    const s = checkIndex(start, "start");
    const e = end === undefined ? this.#text.length : checkIndex(end, "end");
    if (s > e || e > this.#text.length) throw rangeError(`invalid range ${s}..${e} of a text ${this.#text.length} long`, "INVALID_RANGE");
    return this.#text.slice(s, e);
  }
  /** The whole text. */
  toString(): string {
    return this.#text;
  }
}

/** Which neighbour a sticky index holds on to. */
export type Bias = "left" | "right";

/** A position that follows its character through every later edit. */
export interface StickyIndex {
  /** The encoded position: store it or send it to other replicas. */
  readonly bytes: Uint8Array;
}

/**
 * What a document is: `"open"`, `"freed"` (after `free()`), or `"broken"`
 * (its WebAssembly object failed; see the `broken` event).
 */
export type DocState = "open" | "freed" | "broken";

/**
 * The error every call on a broken document throws, and the `broken` event
 * carries: code `DOCUMENT_BROKEN`, with what went wrong as `cause`.
 */
export type BrokenError = Error & { readonly code: "DOCUMENT_BROKEN"; readonly cause: unknown };

/** Events of a `Doc`. */
export interface DocEvents {
  /**
   * A change, delivered once it is complete: once per call that changed the
   * text, or once per `transact` for everything done inside it.
   */
  change: ChangeEvent;
  /**
   * The same transaction as an update to send or store, delivered after its
   * `change`; also for an update that changed the history but not the text
   * (a delete of a character already deleted). Worked out only while
   * someone listens.
   */
  update: UpdateEvent;
  /**
   * The document's WebAssembly object failed (a trap: a bug, or memory or
   * stack ran out) and can no longer be used: every call throws. Whatever
   * was stored (a `Store`'s journal) or sent to peers is intact: open it
   * again from there.
   */
  broken: BrokenError;
}

/**
 * For the package's own modules (storage, sync): calls on a document's
 * binding object, merges into it that only the binding can make (a sync
 * session's), documents around objects the binding made, and word of a
 * document's end. Not exported from the package.
 */
export let docInternals: {
  /**
   * Runs `f` on the binding object, as the document's own methods do: a
   * freed or broken document throws its coded error (`DOCUMENT_FREED`,
   * `DOCUMENT_BROKEN`), and a failure without a code inside `f` breaks it.
   * The object is looked up on every call: never keep it.
   */
  use<T>(doc: Doc, f: (raw: RawDoc) => T): T;
  /**
   * Runs `f` on the binding object as a merge, exactly as `applyUpdate`
   * does: the patches it returns are the change, delivered with `origin`
   * (`local` false), as part of the transaction under way if there is one.
   */
  merge(doc: Doc, f: (raw: RawDoc) => Patch[], origin: Origin): void;
  /** A document around a binding object that nothing else uses (a store's loaded one). */
  wrap(raw: RawDoc): Doc;
  /**
   * Calls `listener` once when the document is freed or breaks, with the
   * error every later call throws (after the binding returned, before the
   * document's own `broken` listeners). Returns what stops listening.
   */
  onEnd(doc: Doc, listener: (err: WeftError) => void): () => void;
  /**
   * Runs `f` on the binding object as a local edit, as `insert` and
   * `delete` do: the patches it returns are the change, delivered with
   * `origin` (`local` true), as part of the transaction under way if any.
   */
  edit(doc: Doc, f: (raw: RawDoc) => Patch[], origin: Origin): void;
  /**
   * Tells `observer` of every transaction, in order: `begin` before its
   * first change, `end` after its last one and before its events (so
   * edits made by event listeners come after). Returns what stops it.
   */
  observe(doc: Doc, observer: TransactionObserver): () => void;
};

/** See `docInternals.observe`. */
export interface TransactionObserver {
  /** `origin` as given to `transact` or the call (undefined: none). */
  begin(origin: Origin): void;
  end(origin: Origin): void;
}

/**
 * The constructor's option for a binding object to wrap instead of making a
 * new one: a key only this module holds, so `DocOptions` never shows it.
 */
const WRAP = Symbol("weft.wrap");

/** The change under way: one call, or everything inside `transact`. */
interface Transaction {
  /** What `transact` or the call was given (undefined: none). */
  origin: Origin;
  /** Whether an edit of this document (not a merge) changed the text. */
  local: boolean;
  /** Every change, in order: sequential patches. */
  patches: Patch[];
  /** The version before the transaction, when `update` listeners need it. */
  before: Uint8Array | undefined;
}

/** The version of a document with nothing in it. */
let empty: Uint8Array | undefined;
export function emptyVersion(): Uint8Array {
  if (!empty) {
    const raw = new RawDoc(0n);
    try {
      empty = raw.version();
    } finally {
      raw.free();
    }
  }
  return empty;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A random 64-bit replica id. */
export function randomReplica(): bigint {
  const id = new BigUint64Array(1);
  globalThis.crypto.getRandomValues(id);
  return id[0]!;
}

/**
 * Inserts through the binding, which answers a keystroke with a plain value
 * (nothing for JavaScript to allocate) and keeps an error aside.
 */
function insertInto(raw: RawDoc, index: number, text: string): void {
  // One character typed: passed as a number, no string copied.
  const done = text.length === 1 ? raw.insertUnit(index, text.charCodeAt(0)) : raw.insert(index, text);
  if (!done) throw takeError();
}

/** Deletes through the binding (see `insertInto`); returns how many code units went. */
function deleteFrom(raw: RawDoc, index: number, length: number): number {
  const deleted = raw.delete(index, length);
  if (deleted < 0) throw takeError();
  return deleted;
}

const EVENTS: readonly (keyof DocEvents)[] = ["change", "update", "broken"];
const BIASES: readonly Bias[] = ["left", "right"];

/** The replica id of `options`, checked (random when absent). */
function replicaOf(options: unknown): bigint {
  const { replica } = checkOptions<DocOptions>(options, "options");
  return replica === undefined ? randomReplica() : checkReplica(replica);
}

/** Gives `raw` the author of `options`, if any, checked (before any edit). */
export function setAuthor(raw: RawDoc, options: unknown): void {
  const { author } = checkOptions<DocOptions>(options, "options");
  if (author === undefined) return;
  checkString(author, "author");
  try {
    raw.setAuthor(author);
  } catch (err) {
    raw.free();
    throw isCoded(err) && err.code === "INVALID_AUTHOR" ? rangeError(String((err as Error).message), "INVALID_AUTHOR") : err;
  }
}

/** What a call that failed inside the binding without a code throws. */
function brokenError(cause: unknown): BrokenError {
  return withCode(
    new Error("the document is broken: its WebAssembly object failed (see `cause`); open it again from storage or from peers", { cause }),
    "DOCUMENT_BROKEN",
  ) as BrokenError;
}

/**
 * A collaborative text document. Indices are UTF-16 code units, as in
 * JavaScript strings. Every error has a stable `code`: a `TypeError` for an
 * argument of the wrong type, a `RangeError` for a bad index or value, an
 * `Error` named `WeftError` otherwise (invalid bytes, a freed or broken
 * document). A call that throws changes nothing (but for `DOCUMENT_BROKEN`,
 * which says the document's state is unknown).
 */
export class Doc {
  #raw: RawDoc;
  #state: DocState = "open";
  /** Why the document broke. */
  #cause: unknown;
  #events = new Emitter<DocEvents>();
  /** The package's own modules that stop when the document ends (`docInternals.onEnd`). */
  #ends = new Emitter<{ end: WeftError }>();
  /** The transaction under way (inside `transact`). */
  #txn: Transaction | undefined;
  /** The package's own modules that follow transactions (`docInternals.observe`). */
  #observers = new Set<TransactionObserver>();

  static {
    const checked = (doc: Doc): Doc => {
      if (!(typeof doc === "object" && doc !== null && #raw in doc)) throw typeError("expected a Doc");
      return doc;
    };
    docInternals = {
      use: (doc, f) => checked(doc).#use(f),
      merge: (doc, f, origin) => checked(doc).#change(false, origin, f),
      wrap: (raw) => new Doc({ [WRAP]: raw } as DocOptions),
      onEnd: (doc, listener) => {
        checked(doc).#ends.on("end", listener);
        return () => doc.#ends.off("end", listener);
      },
      edit: (doc, f, origin) => checked(doc).#change(true, origin, f),
      observe: (doc, observer) => {
        checked(doc).#observers.add(observer);
        return () => doc.#observers.delete(observer);
      },
    };
  }

  constructor(options: DocOptions = {}) {
    const wrapped = (options as { [WRAP]?: RawDoc } | null | undefined)?.[WRAP];
    if (wrapped) {
      this.#raw = wrapped;
      return;
    }
    const raw = new RawDoc(replicaOf(options));
    setAuthor(raw, options);
    this.#raw = raw;
  }

  /** Loads a document from `encodeState()` bytes. */
  static load(state: Uint8Array, options: DocOptions = {}): Doc {
    const bytes = checkBytes(state, "state");
    const replica = replicaOf(options);
    let raw: RawDoc;
    try {
      raw = RawDoc.load(bytes, replica);
    } catch (err) {
      throw isCoded(err) ? err : brokenError(err);
    }
    setAuthor(raw, options);
    return new Doc({ [WRAP]: raw } as DocOptions);
  }

  /** `"open"`, `"freed"` or `"broken"`: see `DocState`. */
  get state(): DocState {
    return this.#state;
  }

  /** The replica id local edits are made as. */
  get replica(): bigint {
    return this.#use((raw) => raw.replica());
  }

  /** The author id this document's edits are made for (`DocOptions.author`). */
  get author(): string | undefined {
    return this.#use((raw) => raw.author(raw.replica()));
  }

  /** The author id of a replica's edits, when known. */
  authorOf(replica: bigint): string | undefined {
    const r = checkReplica(replica);
    return this.#use((raw) => raw.author(r));
  }

  /**
   * Who wrote the text from `start` to `end` (default: all of it): each
   * author id once, in order of first appearance, `null` for text written
   * without one.
   */
  authors(start = 0, end?: number): (string | null)[] {
    const s = checkIndex(start, "start");
    const e = end === undefined ? undefined : checkIndex(end, "end");
    return this.#use((raw) => raw.authors(s, e ?? raw.length));
  }

  /** Length of the text in UTF-16 code units. */
  get length(): number {
    return this.#use((raw) => raw.length);
  }

  /**
   * Inserts `text` at `index`. Text with a lone surrogate (half of a
   * character) is refused (`LONE_SURROGATE`): the document holds characters.
   */
  insert(index: number, text: string): void {
    const i = checkIndex(index, "index");
    const t = checkText(text);
    if (this.#unwatched()) return this.#use((raw) => insertInto(raw, i, t));
    this.#change(true, undefined, (raw) => {
      insertInto(raw, i, t);
      return t.length > 0 ? [{ index: i, insert: t }] : [];
    });
  }

  /** Deletes `length` code units starting at `index`. */
  delete(index: number, length: number): void {
    const i = checkIndex(index, "index");
    const n = checkIndex(length, "length");
    if (this.#unwatched()) return void this.#use((raw) => deleteFrom(raw, i, n));
    this.#change(true, undefined, (raw) => {
      const deleted = deleteFrom(raw, i, n);
      return deleted > 0 ? [{ index: i, delete: deleted }] : [];
    });
  }

  /** The whole text. */
  toString(): string {
    return this.#use((raw) => raw.toString());
  }

  /** The text from `start` to `end` (default: the end). */
  slice(start = 0, end?: number): string {
    const s = checkIndex(start, "start");
    const e = end === undefined ? undefined : checkIndex(end, "end");
    return this.#use((raw) => raw.slice(s, e ?? raw.length));
  }

  /** The version vector, encoded: pass it to another replica's `encodeUpdate`. */
  version(): Uint8Array {
    return this.#use((raw) => raw.version());
  }

  /**
   * The whole state and history, for `Doc.load` or `applyUpdate`. A loaded
   * document decodes its history on first need; throws a `WeftError`
   * (`INVALID_ENCODING`) if that history is invalid, as does `encodeUpdate` when it
   * reaches back into it.
   */
  encodeState(): Uint8Array {
    return this.#use((raw) => raw.encodeState());
  }

  /** What a replica at version `since` lacks (everything when omitted). */
  encodeUpdate(since?: Uint8Array): Uint8Array {
    const version = since === undefined ? undefined : checkBytes(since, "since");
    return this.#use((raw) => raw.encodeUpdate(version));
  }

  /**
   * Merges an update or state from any replica, in any order, any number of
   * times. Its events carry `origin` (default `"remote"`; inside `transact`,
   * the transaction's) and `local: false`.
   */
  applyUpdate(update: Uint8Array, origin?: Origin): void {
    const bytes = checkBytes(update, "update");
    this.#change(false, origin, (raw) => raw.applyUpdate(bytes));
  }

  /**
   * Runs `fn` and returns what it returns; every change made inside (edits
   * and merges) is one change: one `change` event with the composed delta
   * and all patches, one `update` event, both after `fn` returns and both
   * carrying `origin` (default `"local"`, or `"remote"` when `fn` only
   * merged updates). A store writes it in one go and a provider sends it
   * together. A `transact` inside `fn` (or an origin given to `applyUpdate`
   * there) joins this one: the outermost origin is the one events carry. If
   * `fn` throws, what it changed before stays and its events are delivered,
   * then the error is rethrown. `fn` runs synchronously: what it does after
   * an `await` is not part of the transaction.
   */
  transact<T>(fn: () => T, origin?: Origin): T {
    checkFunction(fn, "fn");
    if (this.#txn) return fn();
    this.#open(); // a freed or broken document throws its code at once
    const txn = this.#begin(origin);
    this.#txn = txn;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.#txn = undefined;
      try {
        this.#commit(txn);
      } catch {
        // The document broke delivering it (and said so): `fn`'s error is the one to throw.
      }
      throw err;
    }
    this.#txn = undefined;
    this.#commit(txn);
    return result;
  }

  /**
   * The document as it was at `version` (a `version()` of this document
   * or of a replica whose changes it has): a read-only view of its text.
   * Throws `UNKNOWN_VERSION` for a version with changes this document
   * lacks, and `DELETED_TEXT_UNKNOWN` when the text of a character deleted
   * since never reached this replica (updates and snapshots carry it; only
   * documents stored before deleted text was kept lack it).
   */
  at(version: Uint8Array): DocView {
    const bytes = checkBytes(version, "version");
    return new DocView(this.#use((raw) => raw.textAt(bytes)));
  }

  /**
   * What changed from version `from` to version `to` (default: now), as a
   * delta over the text at `from` (UTF-16 units): apply it to that text to
   * get the text at `to`. Each insert and delete carries `author`, the
   * author id of who inserted or deleted that text, when known. Errors as
   * `at`.
   */
  diff(from: Uint8Array, to?: Uint8Array): Delta {
    const a = checkBytes(from, "from");
    const b = to === undefined ? undefined : checkBytes(to, "to");
    return this.#use((raw) => forwardPatchesToDelta(raw.diff(a, b ?? raw.version())));
  }

  /**
   * How many operations the history holds: one per character inserted or
   * deleted, by anyone. `versionAtOperation(n)` for `n` from 0 to this
   * steps through every version this replica went through.
   */
  get operationCount(): number {
    return this.#use((raw) => raw.operationCount);
  }

  /**
   * The version after the first `n` operations of the history, in the
   * order this document holds them (each after what it depends on): 0 is
   * the empty document, `operationCount` (or more) now. For a history
   * slider, with `at` and `diff`.
   */
  versionAtOperation(n: number): Uint8Array {
    const k = checkIndex(n, "n");
    return this.#use((raw) => raw.versionAtOperation(k));
  }

  /**
   * Makes the text equal to the text at `version` through ordinary edits:
   * text added since is deleted, text deleted since is inserted again
   * where it was. Peers merge it like any edit, and an `UndoManager`
   * tracking the origin can undo it. Errors as `at`, before anything
   * changes.
   */
  restore(version: Uint8Array): void {
    const bytes = checkBytes(version, "version");
    this.#change(true, undefined, (raw) => raw.restore(bytes));
  }

  /** A sticky index at `index`; `"right"` (default) sticks to the character after it. */
  stickyIndex(index: number, bias: Bias = "right"): StickyIndex {
    const i = checkIndex(index, "index");
    const right = checkChoice(bias, BIASES, "bias") === "right";
    return { bytes: this.#use((raw) => raw.stickyIndex(i, right)) };
  }

  /** Where a sticky index is now. */
  resolveSticky(sticky: StickyIndex | Uint8Array): number {
    const bytes =
      typeof sticky === "object" && sticky !== null && !ArrayBuffer.isView(sticky)
        ? checkBytes((sticky as { bytes?: unknown }).bytes, "sticky.bytes")
        : checkBytes(sticky, "sticky");
    return this.#use((raw) => raw.resolveSticky(bytes));
  }

  /** Number of lines (newlines plus one). */
  get lineCount(): number {
    return this.#use((raw) => raw.lineCount());
  }

  /** Index where line `line` (0-based) starts. */
  lineStart(line: number): number {
    const l = checkIndex(line, "line");
    return this.#use((raw) => raw.lineStart(l));
  }

  /** Internal counts, for diagnostics. */
  stats(): DocStats {
    return this.#use((raw) => raw.stats());
  }

  /**
   * Listens for `change` (delivered after the change is complete; a listener
   * may edit), `update` (after the `change`) or `broken`. A listener that throws is reported on the console;
   * the other listeners are still called and the change stands.
   */
  on<K extends keyof DocEvents>(event: K, listener: Listener<DocEvents[K]>): void {
    checkChoice(event, EVENTS, "event");
    checkFunction(listener, "listener");
    if (this.#state === "freed") throw this.#freedError();
    this.#events.on(event, listener);
  }

  /** Stops listening (anything else is ignored). */
  off<K extends keyof DocEvents>(event: K, listener: Listener<DocEvents[K]>): void {
    if (EVENTS.includes(event)) this.#events.off(event, listener);
  }

  /**
   * Releases the WebAssembly memory. Every call afterwards throws a
   * `WeftError` of code `DOCUMENT_FREED`; freeing again does nothing. (A
   * broken document's memory is not reclaimed: its object is unusable.)
   */
  free(): void {
    if (this.#state === "freed") return;
    const open = this.#state === "open";
    this.#state = "freed";
    this.#events.clear();
    if (!open) return; // broken: its end was told already
    this.#raw.free();
    this.#end(this.#freedError());
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /** The binding object, if the document is open. */
  #open(): RawDoc {
    if (this.#state === "open") return this.#raw;
    throw this.#state === "freed" ? this.#freedError() : brokenError(this.#cause);
  }

  #freedError(): WeftError {
    return withCode(new Error("the document was freed (free() or a using block ended)"), "DOCUMENT_FREED");
  }

  /** Tells the package's own modules (a store, a provider) once that the document ended. */
  #end(err: WeftError): void {
    this.#ends.emit("end", err);
    this.#ends.clear();
  }

  /**
   * Runs `f` on the binding object. Errors with a code (a bad index, bad
   * bytes) are the binding's answers and leave the document as it was;
   * anything else (a trap, or the binding refusing an object a trap left
   * borrowed) means its state is unknown: the document is broken from then
   * on, and says so once with the `broken` event.
   */
  #use<T>(f: (raw: RawDoc) => T): T {
    const raw = this.#open();
    try {
      return f(raw);
    } catch (err) {
      if (isCoded(err)) throw err;
      this.#state = "broken";
      this.#cause = err;
      const broken = brokenError(err);
      // Stores and providers stop first: by the time the application hears
      // of it, they are closed and have said so.
      this.#end(broken);
      this.#events.emit("broken", broken);
      this.#events.clear();
      throw broken;
    }
  }

  /**
   * Whether an edit made now has nobody to tell: no transaction open, no
   * observer, no `change` or `update` listener. Then it makes no event
   * objects (most of a keystroke's cost in JavaScript).
   */
  #unwatched(): boolean {
    return !this.#txn && this.#observers.size === 0 && !this.#events.has("change") && !this.#events.has("update");
  }

  /** A new transaction (the document must be open). */
  #begin(origin: Origin): Transaction {
    const before = this.#events.has("update") ? this.#use((raw) => raw.version()) : undefined;
    for (const o of this.#observers) o.begin(origin);
    return { origin, local: false, patches: [], before };
  }

  /**
   * Makes a change: `f` changes the binding object and returns the patches
   * it made. Inside `transact` they join its transaction; otherwise they are
   * delivered as a transaction of their own. If `f` throws, nothing changed.
   */
  #change(local: boolean, origin: Origin, f: (raw: RawDoc) => Patch[]): void {
    const outer = this.#txn;
    const txn = outer ?? this.#begin(origin);
    const patches = this.#use(f);
    if (patches.length > 0) {
      if (local) txn.local = true;
      for (const p of patches) txn.patches.push(p);
    }
    if (!outer) this.#commit(txn);
  }

  /** Delivers a finished transaction: its `change`, then its `update`. */
  #commit(txn: Transaction): void {
    if (this.#state !== "open") return; // freed or broken meanwhile: its listeners are gone
    for (const o of this.#observers) o.end(txn.origin);
    const { patches, local, before } = txn;
    const origin = txn.origin === undefined ? (local ? "local" : "remote") : txn.origin;
    // Worked out before any listener runs (a listener may edit).
    let update: UpdateEvent | undefined;
    if (before && this.#events.has("update")) {
      const bytes = this.#use((raw) =>
        sameBytes(raw.version(), before)
          ? undefined
          : // From nothing, the state: a snapshot merged whole (a late
            // joiner's) is kept as it arrived, where an update from nothing
            // would decode its whole history.
            sameBytes(before, emptyVersion())
            ? raw.encodeState()
            : raw.encodeUpdate(before),
      );
      if (bytes) update = { update: bytes, origin, local };
    }
    if (patches.length > 0 && this.#events.has("change")) {
      this.#events.emit("change", { delta: this.#delta(patches), patches, origin, local });
    }
    if (update && this.#state === "open") this.#events.emit("update", update);
  }

  /** Sequential patches as one delta over the text before them. */
  #delta(patches: Patch[]): Delta {
    return patches.length === 1
      ? patchDelta(patches[0]!)
      : patches.length <= MAX_COMPOSED_PATCHES
        ? patchesToDelta(patches)
        : this.#use((raw) => replacedRange(patches, raw.length, (start, end) => raw.slice(start, end)));
  }
}
