// The `Doc` class: the idiomatic JavaScript face of the wasm binding.

import { RawDoc } from "../wasm/weft_wasm.js";
import { type Delta, type Patch, patchDelta, patchesToDelta, replacedRange } from "./delta.js";
import { Emitter } from "./events.js";

/**
 * Up to this many patches, a change event's delta is their exact
 * composition; beyond (a large merge), one replaced range, which is cheap.
 */
const MAX_COMPOSED_PATCHES = 64;

/** Where a change came from. */
export type Origin = "local" | "remote";

/** What a `change` listener receives. */
export interface ChangeEvent {
  /** The change as a delta over the text before it (UTF-16 units). */
  delta: Delta;
  /** The same change as sequential patches. */
  patches: Patch[];
  /** `"local"` for this document's own edits, `"remote"` for merged updates. */
  origin: Origin;
}

/** Options for a new document. */
export interface DocOptions {
  /**
   * The replica id local edits are made as: unique among everyone who ever
   * edits the document. A random 64-bit id by default.
   */
  replica?: bigint;
}

/** Which neighbour a sticky index holds on to. */
export type Bias = "left" | "right";

/** A position that follows its character through every later edit. */
export interface StickyIndex {
  /** The encoded position: store it or send it to other replicas. */
  readonly bytes: Uint8Array;
}

type Listener = (event: ChangeEvent) => void;

/**
 * For the package's own modules (sync): the binding object of a document, and
 * delivery of changes merged into it. Not exported from the package.
 */
export let docInternals: {
  raw(doc: Doc): RawDoc;
  emitRemote(doc: Doc, patches: Patch[]): void;
};

/** Set by `Doc.load` for the constructor to adopt, instead of a new document. */
let adopt: RawDoc | undefined;

/** Wraps a document the binding made (for the storage layer; not exported). */
export function adoptRaw(raw: RawDoc): Doc {
  adopt = raw;
  return new Doc();
}

/** A random 64-bit replica id. */
export function randomReplica(): bigint {
  const id = new BigUint64Array(1);
  globalThis.crypto.getRandomValues(id);
  return id[0]!;
}

/**
 * A collaborative text document. Indices are UTF-16 code units, as in
 * JavaScript strings. Errors are `RangeError`s (bad index) or `Error`s named
 * `WeftError`, each with a stable `code`.
 */
export class Doc {
  #raw: RawDoc;
  #events = new Emitter<{ change: ChangeEvent }>();

  static {
    docInternals = {
      raw: (doc) => doc.#raw,
      emitRemote: (doc, patches) => {
        if (patches.length > 0) doc.#emit(patches, "remote");
      },
    };
  }

  constructor(options: DocOptions = {}) {
    this.#raw = adopt ?? new RawDoc(options.replica ?? randomReplica());
    adopt = undefined;
  }

  /** Loads a document from `encodeState()` bytes. */
  static load(state: Uint8Array, options: DocOptions = {}): Doc {
    adopt = RawDoc.load(state, options.replica ?? randomReplica());
    return new Doc(options);
  }

  /** The replica id local edits are made as. */
  get replica(): bigint {
    return this.#raw.replica();
  }

  /** Length of the text in UTF-16 code units. */
  get length(): number {
    return this.#raw.length;
  }

  /** Inserts `text` at `index`. */
  insert(index: number, text: string): void {
    this.#raw.insert(index, text);
    if (text.length > 0) this.#emit([{ index, insert: text }], "local");
  }

  /** Deletes `length` code units starting at `index`. */
  delete(index: number, length: number): void {
    const before = this.#raw.length;
    this.#raw.delete(index, length);
    if (before !== this.#raw.length) this.#emit([{ index, delete: length }], "local");
  }

  /** The whole text. */
  toString(): string {
    return this.#raw.toString();
  }

  /** The text from `start` to `end` (default: the end). */
  slice(start = 0, end: number = this.length): string {
    return this.#raw.slice(start, end);
  }

  /** The version vector, encoded: pass it to another replica's `encodeUpdate`. */
  version(): Uint8Array {
    return this.#raw.version();
  }

  /**
   * The whole state and history, for `Doc.load` or `applyUpdate`. A loaded
   * document decodes its history on first need; throws a `WeftError`
   * (`INVALID_ENCODING`) if that history is invalid, as does `encodeUpdate` when it
   * reaches back into it.
   */
  encodeState(): Uint8Array {
    return this.#raw.encodeState();
  }

  /** What a replica at version `since` lacks (everything when omitted). */
  encodeUpdate(since?: Uint8Array): Uint8Array {
    return this.#raw.encodeUpdate(since);
  }

  /** Merges an update or state from any replica, in any order, any number of times. */
  applyUpdate(update: Uint8Array): void {
    const patches = this.#raw.applyUpdate(update) as Patch[];
    if (patches.length > 0) this.#emit(patches, "remote");
  }

  /** A sticky index at `index`; `"right"` (default) sticks to the character after it. */
  stickyIndex(index: number, bias: Bias = "right"): StickyIndex {
    return { bytes: this.#raw.stickyIndex(index, bias === "right") };
  }

  /** Where a sticky index is now. */
  resolveSticky(sticky: StickyIndex | Uint8Array): number {
    return this.#raw.resolveSticky(sticky instanceof Uint8Array ? sticky : sticky.bytes);
  }

  /** Number of lines (newlines plus one). */
  get lineCount(): number {
    return this.#raw.lineCount();
  }

  /** Index where line `line` (0-based) starts. */
  lineStart(line: number): number {
    return this.#raw.lineStart(line);
  }

  /** Internal counts, for diagnostics. */
  stats(): Record<string, number> {
    return this.#raw.stats() as Record<string, number>;
  }

  /** Listens for changes; they are delivered after the change is complete. */
  on(event: "change", listener: Listener): void {
    if (event !== "change") throw new TypeError(`unknown event ${String(event)}`);
    this.#events.on("change", listener);
  }

  /** Stops listening. */
  off(event: "change", listener: Listener): void {
    if (event === "change") this.#events.off("change", listener);
  }

  /** Releases the WebAssembly memory. The document is unusable afterwards. */
  free(): void {
    this.#events.clear();
    this.#raw.free();
  }

  [Symbol.dispose](): void {
    this.free();
  }

  #emit(patches: Patch[], origin: Origin): void {
    if (!this.#events.has("change")) return; // no delta to work out
    const delta =
      patches.length === 1
        ? patchDelta(patches[0]!)
        : patches.length <= MAX_COMPOSED_PATCHES
          ? patchesToDelta(patches)
          : replacedRange(patches, this.#raw.length, (start, end) => this.#raw.slice(start, end));
    this.#events.emit("change", { delta, patches, origin });
  }
}
