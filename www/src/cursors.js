// Other people's carets and selections, drawn as CodeMirror decorations.

import { StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, WidgetType } from "@codemirror/view";

class CaretWidget extends WidgetType {
  constructor(name, color) {
    super();
    this.name = name;
    this.color = color;
  }
  eq(other) {
    return other.name === this.name && other.color === this.color;
  }
  toDOM() {
    const caret = document.createElement("span");
    caret.className = "cm-remote-caret";
    caret.style.borderColor = this.color;
    const label = caret.appendChild(document.createElement("span"));
    label.className = "cm-remote-name";
    label.style.background = this.color;
    label.textContent = this.name;
    return caret;
  }
  ignoreEvent() {
    return true;
  }
}

/** Replaces the drawn cursors: `[{ name, color, anchor, head }]`. */
export const setCursors = StateEffect.define();

export const remoteCursors = StateField.define({
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
        if (from < to) {
          ranges.push(Decoration.mark({ attributes: { style: `background-color: ${c.color}40` } }).range(from, to));
        }
        ranges.push(Decoration.widget({ widget: new CaretWidget(c.name, c.color), side: 1 }).range(head));
      }
      cursors = Decoration.set(ranges, true);
    }
    return cursors;
  },
  provide: (field) => EditorView.decorations.from(field),
});
