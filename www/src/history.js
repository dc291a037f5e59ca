// The history panel: a slider over every version this document went through
// (one step per character inserted or deleted, `doc.versionAtOperation`), the
// text at the chosen version marked with what changed between it and now
// (`doc.at`, `doc.diff`: added since highlighted, deleted since struck through,
// each in its author's colour), a legend of authors, and "Restore this version".
// The text is rendered as text nodes and elements, never as HTML.

import { onPeopleChange, personOf } from "./people.js";

const $ = (id) => document.getElementById(id);

/** About this many characters (whole lines) go in one block of the view. */
const CHUNK = 4096;

/**
 * The view's content: blocks of whole lines (`content-visibility: auto`, so
 * the browser lays out only those in sight of a long text), each holding
 * text nodes and `ins`/`del` elements in the author's colour.
 */
class Chunks {
  #fragment = document.createDocumentFragment();
  #chunk = null;
  #size = 0;
  #lines = 0;

  /** Appends `text`, marked as `tag` (`"ins"`, `"del"`) by `author` if given. */
  add(text, tag, author) {
    let start = 0;
    while (start < text.length) {
      if (!this.#chunk) {
        this.#chunk = this.#fragment.appendChild(document.createElement("div"));
        this.#chunk.className = "history-chunk";
        this.#size = 0;
        this.#lines = 1;
      }
      // Full: up to the next line break, then a new block.
      let end = text.length;
      const newline = this.#size + (end - start) > CHUNK ? text.indexOf("\n", start + Math.max(0, CHUNK - this.#size - 1)) : -1;
      if (newline !== -1) end = newline + 1;
      const part = text.slice(start, end);
      this.#chunk.append(tag ? mark(tag, part, author) : part);
      this.#size += part.length;
      for (let i = part.indexOf("\n"); i !== -1; i = part.indexOf("\n", i + 1)) this.#lines++;
      if (newline !== -1) this.#close();
      start = end;
    }
  }

  /** The blocks, once everything is added. */
  finish() {
    this.#close();
    return this.#fragment;
  }

  #close() {
    if (!this.#chunk) return;
    // Its height until laid out: one line per line break (more if lines wrap).
    this.#chunk.style.containIntrinsicBlockSize = `auto ${this.#lines}lh`;
    this.#chunk = null;
  }
}

/** Text added or deleted since, by `author`, in their colour. */
function mark(tag, text, author) {
  const el = document.createElement(tag);
  el.textContent = text;
  const person = personOf(author);
  if (author !== undefined) el.dataset.author = author;
  el.style.setProperty("--author", person.color);
  el.title = `${tag === "ins" ? "added" : "deleted"} since by ${person.name}`;
  return el;
}

/**
 * Wires the panel in index.html to `doc`. `me` is this window's identity;
 * `restore(version)` makes the text that version's (an undoable edit);
 * `undoable` says whether the editor's Ctrl+Z takes a restore back.
 */
export function historyPanel({ doc, me, restore, undoable }) {
  const toggle = $("history-toggle");
  const panel = $("history");
  const slider = $("history-slider");
  const position = $("history-position");
  const view = $("history-view");
  const legend = $("history-authors");
  const restoreButton = $("history-restore");
  const status = $("history-status");

  let open = false;
  /** Whether the slider follows the latest version as the document changes. */
  let atNow = true;
  let frame = 0;

  function schedule() {
    if (!open || frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (open) render();
    });
  }

  function setOpen(value) {
    open = value;
    panel.hidden = !open;
    document.querySelector("main").classList.toggle("history-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Hide version history" : "Show version history";
    if (open) {
      atNow = true;
      status.textContent = "";
      render();
    } else {
      cancelAnimationFrame(frame);
      frame = 0;
      // Nothing of a long document stays in the DOM while the panel is closed.
      view.replaceChildren();
    }
  }

  function render() {
    const count = doc.operationCount;
    slider.max = String(count);
    if (atNow) slider.value = String(count);
    const n = Math.min(slider.valueAsNumber, count);
    const label = n === count ? `now, after all ${count.toLocaleString()} character edits` : `after ${n.toLocaleString()} of ${count.toLocaleString()} character edits`;
    position.textContent = label.charAt(0).toUpperCase() + label.slice(1);
    slider.setAttribute("aria-valuetext", label);

    let text;
    let delta;
    try {
      const version = doc.versionAtOperation(n);
      text = doc.at(version).toString();
      delta = doc.diff(version);
    } catch (e) {
      // DELETED_TEXT_UNKNOWN: a document stored before deleted text was kept.
      if (!e?.code) throw e;
      const note = document.createElement("em");
      note.textContent = `This version cannot be shown here (${e.code}: ${e.message}).`;
      view.replaceChildren(note);
      showAuthors(doc.authors());
      restoreButton.disabled = true;
      return;
    }

    const chunks = new Chunks();
    const changedBy = [];
    let pos = 0;
    for (const op of delta) {
      if ("retain" in op) {
        chunks.add(text.slice(pos, pos + op.retain));
        pos += op.retain;
      } else if ("delete" in op) {
        chunks.add(text.slice(pos, pos + op.delete), "del", op.author);
        changedBy.push(op.author ?? null);
        pos += op.delete;
      } else {
        chunks.add(op.insert, "ins", op.author);
        changedBy.push(op.author ?? null);
      }
    }
    if (pos < text.length) chunks.add(text.slice(pos)); // trailing retains are left out
    view.replaceChildren(chunks.finish());
    view.dataset.version = String(n);
    // Who wrote the text now, then who changed it since the chosen version.
    showAuthors([...doc.authors(), ...changedBy]);
    restoreButton.disabled = n === count || delta.length === 0;
  }

  function showAuthors(ids) {
    legend.replaceChildren(
      ...[...new Set(ids)].map((id) => {
        const person = personOf(id);
        const li = document.createElement("li");
        if (id !== null) li.dataset.author = id;
        const swatch = li.appendChild(document.createElement("span"));
        swatch.className = "swatch";
        swatch.style.background = person.color;
        li.append(`${person.name}${id === me.id ? " (you)" : ""}`);
        return li;
      }),
    );
  }

  toggle.addEventListener("click", () => setOpen(!open));
  slider.addEventListener("input", () => {
    atNow = slider.valueAsNumber >= Number(slider.max);
    status.textContent = "";
    schedule();
  });
  restoreButton.addEventListener("click", () => {
    const n = slider.valueAsNumber;
    try {
      restore(doc.versionAtOperation(n));
    } catch (e) {
      if (!e?.code) throw e;
      status.textContent = `Not restored (${e.code}: ${e.message})`;
      return;
    }
    // The restored text is the latest version now: show it.
    atNow = true;
    status.textContent = `Restored the version after ${n.toLocaleString()} character edits.${undoable ? " Ctrl+Z in the editor undoes it." : ""}`;
    render();
  });
  doc.on("change", schedule);
  onPeopleChange(schedule);
}
