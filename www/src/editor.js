// The demo's editor: CodeMirror 6 bound to the document with weft/codemirror
// (changes both ways, other people's carets, undo of this user's changes).

import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { defaultKeymap } from "@codemirror/commands";
import { weftEditor } from "weft/codemirror";

/**
 * Creates the editor in `parent`, showing `doc`; `user` (`{ id, name, color }`)
 * is shared as presence: the name and colour label this person's caret for
 * others, the id tells them whose edits the history attributes to that name.
 */
export function createEditor(parent, doc, user) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: doc.toString(),
      extensions: [
        // Only "\n" splits lines, so a "\r" in the text is a character, as in the document.
        EditorState.lineSeparator.of("\n"),
        weftEditor(doc, { user }),
        keymap.of(defaultKeymap),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "data-testid": "editor", "aria-label": "Shared text" }),
      ],
    }),
  });
}
