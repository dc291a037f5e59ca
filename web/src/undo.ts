// The `UndoManager` class: undo and redo of one user's own changes to a
// `Doc`, leaving everyone else's alone (the core's undo manager).

import { RawUndoManager, type RawUndone } from "../wasm/weft_wasm.js";
import { type Doc, docInternals, type Origin } from "./doc.js";
import { checkChoice, checkFunction, checkIndex, checkOptions, isCoded, withCode } from "./errors.js";
import { Emitter, type Listener } from "./events.js";

/** A selection in UTF-16 units: `anchor` stays put, `head` is the caret. */
export interface Selection {
  anchor: number;
  head: number;
}

/** Options of an `UndoManager`. */
export interface UndoManagerOptions {
  /**
   * Changes made within this many milliseconds of the previous one join its
   * step (default 500; 0 makes every change a step).
   */
  captureTimeout?: number;
  /** At most this many steps are kept; the oldest go first (default 100). */
  maxSteps?: number;
  /**
   * The origins whose changes are this user's (compared with `===`):
   * `undefined` stands for changes made without one (`doc.insert`,
   * `transact(fn)`). Default: `[undefined]`. An editor binding adds its own.
   */
  trackedOrigins?: Origin[];
  /**
   * The user's selection now, if the application has one (an editor's):
   * each step keeps the one its change was made from, and `undo` and
   * `redo` return it to restore.
   */
  selection?: () => Selection | null | undefined;
}

/** What `undo` and `redo` did. */
export interface UndoResult {
  /** The selection to restore, if one was kept with the step. */
  selection?: Selection;
}

/** What a `stack` listener receives. */
export interface UndoStackEvent {
  /** What happened: a step was added by a change, undone, redone, or all were cleared. */
  type: "add" | "undo" | "redo" | "clear";
  canUndo: boolean;
  canRedo: boolean;
}

/** Events of an `UndoManager`. */
export interface UndoManagerEvents {
  /** The stacks changed: update undo and redo buttons from `canUndo` and `canRedo`. */
  stack: UndoStackEvent;
}

const EVENTS: readonly (keyof UndoManagerEvents)[] = ["stack"];

/**
 * Undo and redo of one user's changes to a document, as Yjs's and Loro's
 * undo managers: changes made by others (merged from peers, a store's other
 * tabs) and by untracked origins are never undone, and text a step deleted
 * comes back where it was, between whatever others typed since. Undo and
 * redo are ordinary edits (origin: this manager), so stores save them and
 * providers send them. Freed with the document, or by `destroy()`.
 */
export class UndoManager {
  #doc: Doc;
  #raw: RawUndoManager | undefined;
  #tracked: Set<Origin>;
  #selection: (() => Selection | null | undefined) | undefined;
  #events = new Emitter<UndoManagerEvents>();
  #stopObserving: () => void;
  #stopEnd: () => void;

  constructor(doc: Doc, options: UndoManagerOptions = {}) {
    const { captureTimeout = 500, maxSteps = 100, trackedOrigins = [undefined], selection } = checkOptions<UndoManagerOptions>(options, "options");
    const timeout = checkIndex(captureTimeout, "captureTimeout");
    const steps = checkIndex(maxSteps, "maxSteps");
    if (!Array.isArray(trackedOrigins)) throw withCode(new TypeError("trackedOrigins must be an array"), "INVALID_ARGUMENT", "TypeError");
    if (selection !== undefined) checkFunction(selection, "selection");
    this.#doc = doc;
    this.#tracked = new Set(trackedOrigins);
    this.#selection = selection;
    this.#raw = docInternals.use(doc, (raw) => new RawUndoManager(raw, timeout, Math.max(1, steps)));
    this.#stopObserving = docInternals.observe(doc, {
      begin: (origin) => this.#begin(origin),
      end: (origin) => this.#end(origin),
    });
    this.#stopEnd = docInternals.onEnd(doc, () => this.destroy());
  }

  /** Whether `undo` would change something (there is a step). */
  get canUndo(): boolean {
    return this.#raw?.canUndo() ?? false;
  }

  /** Whether `redo` would change something (there is an undone step). */
  get canRedo(): boolean {
    return this.#raw?.canRedo() ?? false;
  }

  /**
   * Undoes this user's last step that still changes the text; `null` when
   * there is none. The selection it returns is the one the step was made
   * from (if the `selection` option gave one).
   */
  undo(): UndoResult | null {
    return this.#apply("undo");
  }

  /** Redoes the last undone step, as `undo`; a new change clears them. */
  redo(): UndoResult | null {
    return this.#apply("redo");
  }

  /** Makes the next change a step of its own, whatever the capture timeout. */
  stopCapturing(): void {
    this.#open().stopCapturing();
  }

  /** Forgets every step. */
  clear(): void {
    this.#open().clear();
    this.#emit("clear");
  }

  /** Counts changes of `origin` as this user's from now on. */
  addTrackedOrigin(origin: Origin): void {
    this.#tracked.add(origin);
  }

  /** Stops counting changes of `origin` as this user's. */
  removeTrackedOrigin(origin: Origin): void {
    this.#tracked.delete(origin);
  }

  /** Listens for `stack` (see `UndoManagerEvents`). */
  on<K extends keyof UndoManagerEvents>(event: K, listener: Listener<UndoManagerEvents[K]>): void {
    checkChoice(event, EVENTS, "event");
    checkFunction(listener, "listener");
    this.#events.on(event, listener);
  }

  /** Stops listening. */
  off<K extends keyof UndoManagerEvents>(event: K, listener: Listener<UndoManagerEvents[K]>): void {
    this.#events.off(event, listener);
  }

  /** Stops following the document and frees the stacks; later calls throw `UNDO_MANAGER_DESTROYED`. */
  destroy(): void {
    if (!this.#raw) return;
    this.#stopObserving();
    this.#stopEnd();
    this.#raw.free();
    this.#raw = undefined;
    this.#events.clear();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  #open(): RawUndoManager {
    if (this.#raw) return this.#raw;
    throw withCode(new Error("the undo manager was destroyed (destroy(), or its document was freed or broke)"), "UNDO_MANAGER_DESTROYED");
  }

  /** The selection now, checked; undefined without one (or a bad one, reported). */
  #currentSelection(): Selection | undefined {
    const s = this.#selection?.();
    if (s === null || s === undefined) return undefined;
    if (Number.isInteger(s.anchor) && Number.isInteger(s.head) && s.anchor >= 0 && s.head >= 0) return s;
    console.error("weft: UndoManager's selection option returned an invalid selection (ignored):", s);
    return undefined;
  }

  #begin(origin: Origin): void {
    if (!this.#tracked.has(origin)) return;
    const s = this.#currentSelection();
    if (!s) return;
    const raw = this.#open();
    try {
      docInternals.use(this.#doc, (doc) => raw.selectionBefore(doc, s.anchor, s.head));
    } catch (err) {
      // Out of range for this document: the step keeps no selection.
      if (!isCoded(err)) throw err;
    }
  }

  #end(origin: Origin): void {
    const raw = this.#open();
    if (origin !== this && this.#tracked.has(origin)) {
      if (docInternals.use(this.#doc, (doc) => raw.record(doc, performance.now()))) this.#emit("add");
    } else {
      docInternals.use(this.#doc, (doc) => raw.skip(doc));
    }
  }

  #apply(type: "undo" | "redo"): UndoResult | null {
    const raw = this.#open();
    const now = this.#currentSelection();
    let undone: RawUndone | undefined;
    docInternals.edit(
      this.#doc,
      (doc) => {
        undone = type === "undo" ? raw.undo(doc, now?.anchor, now?.head) : raw.redo(doc, now?.anchor, now?.head);
        return undone?.patches ?? [];
      },
      this,
    );
    if (!undone) return null;
    this.#emit(type);
    const { anchor, head } = undone;
    return anchor === undefined || head === undefined ? {} : { selection: { anchor, head } };
  }

  #emit(type: UndoStackEvent["type"]): void {
    if (this.#events.has("stack")) this.#events.emit("stack", { type, canUndo: this.canUndo, canRedo: this.canRedo });
  }
}
