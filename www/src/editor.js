// Binds a CodeMirror 6 editor to a Weft document: editor changes become
// document edits, document changes (remote, or from the console) become
// editor changes through their deltas. Both use UTF-16 indices, so no
// conversion is needed.

import { EditorState, Annotation } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { remoteCursors } from "./cursors.js";

/** Marks editor transactions that replay document changes. */
const fromDoc = Annotation.define();

/** A delta (retain / insert / delete) as CodeMirror changes over the old text. */
function deltaToChanges(delta) {
  const changes = [];
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

/**
 * Creates the editor in `parent`, showing `doc`. `onSelection` receives the
 * main selection `{ anchor, head }` whenever it moves.
 */
export function bindEditor(parent, doc, { onSelection }) {
  /** The origin of the edits this editor makes: its own changes are not replayed into it. */
  const origin = { editor: "codemirror" };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: doc.toString(),
      extensions: [
        // Only "\n" splits lines, so a "\r" in the text is a character, as in the document.
        EditorState.lineSeparator.of("\n"),
        history(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "data-testid": "editor", "aria-label": "Shared text" }),
        remoteCursors,
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !update.transactions.some((t) => t.annotation(fromDoc))) {
            const edits = [];
            update.changes.iterChanges((fromA, toA, _fromB, _toB, text) => edits.push([fromA, toA, text.toString()]));
            // One transaction: one change, stored and sent together.
            doc.transact(() => {
              // Last first, so earlier positions still hold.
              for (const [from, to, text] of edits.reverse()) {
                if (to > from) doc.delete(from, to - from);
                if (text) doc.insert(from, text);
              }
            }, origin);
          }
          if (update.selectionSet || update.docChanged) {
            const { anchor, head } = update.state.selection.main;
            onSelection({ anchor, head });
          }
        }),
      ],
    }),
  });
  doc.on("change", (event) => {
    if (event.origin === origin) return; // the editor made this change itself
    view.dispatch({ changes: deltaToChanges(event.delta), annotations: fromDoc.of(true) });
  });
  return view;
}
