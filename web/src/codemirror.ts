// `weft/codemirror`: binds a CodeMirror 6 editor to a Weft `Doc`. Changes
// go both ways as they are (no diffing), other people's carets and
// selections come from a provider's presence, and undo and redo are Weft's
// (`UndoManager`): they revert this editor's changes only.

import { Annotation, EditorSelection, type Extension, StateEffect, StateField, type Text, Transaction } from "@codemirror/state";
import { Decoration, type DecorationSet, EditorView, type KeyBinding, keymap, ViewPlugin, type ViewUpdate, WidgetType } from "@codemirror/view";
import type { ChangeEvent, Doc } from "./doc.js";
import type { Delta } from "./delta.js";
import type { PresenceState, Provider } from "./provider.js";
import { UndoManager, type UndoManagerOptions } from "./undo.js";

/** Options of `weftEditor`. */
export interface WeftEditorOptions {
  /**
   * Shares this editor's selection and shows other peers' carets and
   * selections (set later, or replaced, with `setProvider`).
   */
  provider?: Provider;
  /**
   * The rest of this user's presence, shared with the selection: `name`
   * and `color` label the caret others see.
   */
  user?: { name?: string; color?: string; [key: string]: unknown };
  /** The undo manager's options (its tracked origin is this editor); `false`: no undo. */
  undo?: Omit<UndoManagerOptions, "selection"> | false;
}

/** Marks editor transactions that replay document changes. */
const fromDoc = Annotation.define<boolean>();

/** Each editor's binding, for the commands. */
const bindings = new WeakMap<EditorView, Binding>();

/** Other peers' carets and selections: `[{ name, color, anchor, head }]`. */
interface Cursor {
  name: string;
  color: string;
  anchor: number;
  head: number;
}

const setCursors = StateEffect.define<Cursor[]>();

/** A delta over the document's text as CodeMirror changes over the editor's. */
function deltaToChanges(delta: Delta): { from: number; to?: number; insert?: string }[] {
  const changes: { from: number; to?: number; insert?: string }[] = [];
  let pos = 0;
  for (const op of delta) {
    if ("retain" in op) pos += op.retain;
    else if ("insert" in op) changes.push({ from: pos, insert: op.insert });
    else {
      const last = changes[changes.length - 1];
      // An insert and a delete at one place are one replacement.
      if (last && last.from === pos && last.to === undefined) last.to = pos + op.delete;
      else changes.push({ from: pos, to: pos + op.delete });
      pos += op.delete;
    }
  }
  return changes;
}

class CaretWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly color: string,
  ) {
    super();
  }
  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color;
  }
  toDOM(): HTMLElement {
    const caret = document.createElement("span");
    caret.className = "cm-weft-caret";
    caret.style.borderLeft = `2px solid ${this.color}`;
    caret.style.marginLeft = "-1px";
    caret.style.position = "relative";
    const label = caret.appendChild(document.createElement("span"));
    label.className = "cm-weft-name";
    label.style.background = this.color;
    label.textContent = this.name;
    return caret;
  }
  override ignoreEvent(): boolean {
    return true;
  }
}

const cursorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(cursors, tr) {
    cursors = cursors.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setCursors)) continue;
      const length = tr.state.doc.length;
      const ranges = [];
      for (const c of effect.value) {
        const anchor = Math.min(c.anchor, length);
        const head = Math.min(c.head, length);
        const [from, to] = anchor < head ? [anchor, head] : [head, anchor];
        if (from < to) ranges.push(Decoration.mark({ attributes: { style: `background-color: ${c.color}40` } }).range(from, to));
        ranges.push(Decoration.widget({ widget: new CaretWidget(c.name, c.color), side: 1 }).range(head));
      }
      cursors = Decoration.set(ranges, true);
    }
    return cursors;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const cursorTheme = EditorView.baseTheme({
  ".cm-weft-name": {
    position: "absolute",
    top: "-1.3em",
    left: "-1px",
    fontSize: "0.7em",
    padding: "0 3px",
    color: "white",
    whiteSpace: "nowrap",
    pointerEvents: "none",
  },
});

/** One editor bound to one document. */
class Binding {
  readonly undo: UndoManager | undefined;
  #view: EditorView;
  #doc: Doc;
  #provider: Provider | undefined;
  #user: Record<string, unknown>;
  /** The selection an editor change started from, while it is made. */
  #before: { anchor: number; head: number } | undefined;

  constructor(view: EditorView, doc: Doc, options: WeftEditorOptions) {
    this.#view = view;
    this.#doc = doc;
    this.#user = { ...options.user };
    if (options.undo !== false) {
      this.undo = new UndoManager(doc, {
        ...options.undo,
        trackedOrigins: [this],
        selection: () => this.#before ?? this.#view.state.selection.main,
      });
    }
    doc.on("change", this.#onChange);
    bindings.set(view, this);
    this.#provider = options.provider;
    this.#provider?.on("presence", this.#onPresence);
    // A plugin cannot dispatch while the view is being built: right after
    // (`setProvider` may have been called meanwhile: it did the rest).
    queueMicrotask(() => {
      if (bindings.get(view) !== this) return;
      if (view.state.doc.toString() !== doc.toString()) {
        // Created with other text: show the document's.
        view.dispatch({
          changes: { from: 0, to: view.state.doc.length, insert: doc.toString() },
          annotations: [fromDoc.of(true), Transaction.addToHistory.of(false)],
        });
      }
      this.#sharePresence();
      this.#onPresence();
    });
  }

  setProvider(provider: Provider | undefined): void {
    this.#provider?.off("presence", this.#onPresence);
    this.#provider = provider;
    provider?.on("presence", this.#onPresence);
    this.#sharePresence();
    this.#onPresence();
  }

  update(update: ViewUpdate): void {
    const local = !update.transactions.some((t) => t.annotation(fromDoc));
    if (update.docChanged && local) {
      const edits: [number, number, string][] = [];
      update.changes.iterChanges((fromA, toA, _fromB, _toB, text: Text) => edits.push([fromA, toA, text.toString()]));
      this.#before = update.startState.selection.main;
      try {
        // One transaction: one change, one undo step, stored and sent together.
        this.#doc.transact(() => {
          // Last first, so earlier positions still hold.
          for (const [from, to, text] of edits.reverse()) {
            if (to > from) this.#doc.delete(from, to - from);
            if (text) this.#doc.insert(from, text);
          }
        }, this);
      } finally {
        this.#before = undefined;
      }
    }
    // Peers place the caret through remote changes themselves (presence
    // is anchored to characters): only this user's moves are sent.
    if (update.selectionSet || (update.docChanged && local)) this.#sharePresence();
  }

  destroy(): void {
    this.#doc.off("change", this.#onChange);
    this.#provider?.off("presence", this.#onPresence);
    this.undo?.destroy();
    bindings.delete(this.#view);
  }

  /** Restores a selection an undo or redo returned (within the text). */
  select(selection: { anchor: number; head: number } | undefined): void {
    if (!selection) return;
    const length = this.#view.state.doc.length;
    this.#view.dispatch({
      selection: EditorSelection.single(Math.min(selection.anchor, length), Math.min(selection.head, length)),
      scrollIntoView: true,
    });
  }

  #onChange = (event: ChangeEvent): void => {
    if (event.origin === this) return; // the editor made this change itself
    this.#view.dispatch({
      changes: deltaToChanges(event.delta),
      annotations: [fromDoc.of(true), Transaction.addToHistory.of(false)],
    });
  };

  #sharePresence(): void {
    if (!this.#provider) return;
    const { anchor, head } = this.#view.state.selection.main;
    try {
      this.#provider.setPresence({ ...this.#user, selection: { anchor, head } } as PresenceState);
    } catch (err) {
      // A user field that is not JSON: said once per attempt, editing goes on.
      console.error("weft/codemirror: presence not shared:", err);
    }
  }

  #onPresence = (): void => {
    const cursors: Cursor[] = [];
    for (const state of this.#provider?.presence.values() ?? []) {
      const s = state.selection;
      if (!s) continue;
      const name = typeof state.name === "string" ? state.name : "?";
      const color = typeof state.color === "string" ? state.color : "#888888";
      cursors.push({ name, color, anchor: s.anchor, head: s.head });
    }
    this.#view.dispatch({ effects: setCursors.of(cursors) });
  };
}

/** Undoes this editor's last change (a CodeMirror command). */
export function weftUndo(view: EditorView): boolean {
  const binding = bindings.get(view);
  const result = binding?.undo?.undo();
  if (!result) return false;
  binding!.select(result.selection);
  return true;
}

/** Redoes the change the last undo reverted (a CodeMirror command). */
export function weftRedo(view: EditorView): boolean {
  const binding = bindings.get(view);
  const result = binding?.undo?.redo();
  if (!result) return false;
  binding!.select(result.selection);
  return true;
}

/** Undo and redo keys: Mod-z, Mod-y and Mod-Shift-z. */
export const weftKeymap: readonly KeyBinding[] = [
  { key: "Mod-z", run: weftUndo, preventDefault: true },
  { key: "Mod-y", mac: "Mod-Shift-z", run: weftRedo, preventDefault: true },
  { key: "Mod-Shift-z", run: weftRedo, preventDefault: true },
];

/** The undo manager of an editor bound by `weftEditor` (for toolbar buttons), if any. */
export function undoManagerOf(view: EditorView): UndoManager | undefined {
  return bindings.get(view)?.undo;
}

/** Shows and shares presence through `provider` from now on (undefined: none). */
export function setProvider(view: EditorView, provider: Provider | undefined): void {
  bindings.get(view)?.setProvider(provider);
}

/**
 * The extension binding an editor to `doc`: create the editor with the
 * document's text (`EditorState.create({ doc: doc.toString(), extensions:
 * [weftEditor(doc, options)] })`). Do not add CodeMirror's `history()`: it
 * would record other people's changes as this user's. Includes
 * `weftKeymap` unless `undo` is `false`.
 */
export function weftEditor(doc: Doc, options: WeftEditorOptions = {}): Extension {
  const plugin = ViewPlugin.define((view) => new Binding(view, doc, options));
  return [plugin, cursorField, cursorTheme, options.undo === false ? [] : keymap.of([...weftKeymap])];
}
