// Deltas: a change as retain / insert / delete operations over UTF-16 units,
// as editors (Quill, CodeMirror via a small adapter, ProseMirror) take them.

/** Keep `retain` units unchanged. */
export interface RetainOp { retain: number }
/** Insert `insert` here; in a `diff`, `author` wrote it (when known). */
export interface InsertOp { insert: string; author?: string }
/** Delete `delete` units here; in a `diff`, `author` deleted them (when known). */
export interface DeleteOp { delete: number; author?: string }
/** One step of a delta. */
export type DeltaOp = RetainOp | InsertOp | DeleteOp;
/** A change to a text, read left to right; trailing retains are omitted. */
export type Delta = DeltaOp[];

/** A change at one index, relative to the text after the changes before it. */
export type Patch = ({ index: number; insert: string } | { index: number; delete: number }) & { author?: string };

function push(out: Delta, op: DeltaOp): void {
  const last = out[out.length - 1];
  if ("retain" in op) {
    if (op.retain === 0) return;
    if (last && "retain" in last) { last.retain += op.retain; return; }
  } else if ("insert" in op) {
    if (op.insert === "") return;
    if (last && "insert" in last && last.author === op.author) { last.insert += op.insert; return; }
    // Keep inserts before deletes at one position (a canonical order).
    if (last && "delete" in last) {
      const prev = out[out.length - 2];
      out.splice(out.length - 1, 0, { ...op });
      if (prev && "insert" in prev && prev.author === op.author) { prev.insert += op.insert; out.splice(out.length - 2, 1); }
      return;
    }
  } else {
    if (op.delete === 0) return;
    if (last && "delete" in last && last.author === op.author) { last.delete += op.delete; return; }
  }
  out.push({ ...op });
}

function opLength(op: DeltaOp): number {
  return "retain" in op ? op.retain : "insert" in op ? op.insert.length : op.delete;
}

/** Applies `next` (a delta over the result of `first`) after `first`. */
export function compose(first: Delta, next: Delta): Delta {
  const out: Delta = [];
  const a = first.map((op) => ({ ...op }));
  const b = next.map((op) => ({ ...op }));
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y && "insert" in y) { push(out, y); j++; continue; }
    if (x && "delete" in x) { push(out, x); i++; continue; }
    if (!y) { push(out, x!); i++; continue; }
    if (!x) { push(out, y); j++; continue; }
    const n = Math.min(opLength(x), opLength(y));
    // x is retain or insert; y is retain or delete.
    if ("retain" in y) {
      push(out, "retain" in x ? { retain: n } : { insert: (x as InsertOp).insert.slice(0, n) });
    } else if ("retain" in x) {
      push(out, { delete: n });
    } // an insert deleted again vanishes
    consume(a, i, n) ? i++ : undefined;
    consume(b, j, n) ? j++ : undefined;
  }
  const last = out[out.length - 1];
  if (last && "retain" in last) out.pop();
  return out;
}

/** Shortens `ops[k]` by `n` from the front; true when it is used up. */
function consume(ops: DeltaOp[], k: number, n: number): boolean {
  const op = ops[k]!;
  if (opLength(op) === n) return true;
  if ("retain" in op) op.retain -= n;
  else if ("insert" in op) op.insert = op.insert.slice(n);
  else op.delete -= n;
  return false;
}

/** One patch as a delta. */
export function patchDelta(p: Patch): Delta {
  const out: Delta = [];
  push(out, { retain: p.index });
  push(out, "insert" in p ? { insert: p.insert } : { delete: p.delete });
  return out;
}

/** Sequential patches as one delta over the text before the first. */
export function patchesToDelta(patches: readonly Patch[]): Delta {
  return patches.reduce<Delta>((d, p) => compose(d, patchDelta(p)), []);
}

/**
 * Sequential patches that move left to right, each at or after where the
 * last one ended (a diff's), as one delta: linear, where composing them one
 * by one would be quadratic.
 */
export function forwardPatchesToDelta(patches: readonly Patch[]): Delta {
  const out: Delta = [];
  let at = 0; // where the last patch ended, in the text as patched so far
  for (const p of patches) {
    push(out, { retain: p.index - at });
    const by = p.author === undefined ? {} : { author: p.author };
    if ("insert" in p) {
      push(out, { insert: p.insert, ...by });
      at = p.index + p.insert.length;
    } else {
      push(out, { delete: p.delete, ...by });
      at = p.index;
    }
  }
  return out;
}

/**
 * Many sequential patches as one replaced range: retain the untouched
 * prefix, insert the new middle, delete the old one. Exact like
 * `patchesToDelta` (applying it gives the same text) but coarser, and
 * O(patches + range) where composing thousands of patches one by one would
 * copy the text once per patch. `slice` reads the text after the patches.
 */
export function replacedRange(patches: readonly Patch[], lengthAfter: number, slice: (start: number, end: number) => string): Delta {
  let length = lengthAfter;
  for (const p of patches) length += "insert" in p ? -p.insert.length : p.delete;
  const lengthBefore = length;
  let prefix = Infinity;
  let suffix = Infinity;
  for (const p of patches) {
    prefix = Math.min(prefix, p.index);
    if ("insert" in p) {
      suffix = Math.min(suffix, length - p.index);
      length += p.insert.length;
    } else {
      suffix = Math.min(suffix, length - p.index - p.delete);
      length -= p.delete;
    }
  }
  if (patches.length === 0) return [];
  const out: Delta = [];
  push(out, { retain: prefix });
  push(out, { insert: slice(prefix, lengthAfter - suffix) });
  push(out, { delete: lengthBefore - prefix - suffix });
  return out;
}

/** Applies a delta to a string (for tests and simple bindings). */
export function applyDelta(text: string, delta: Delta): string {
  let out = "";
  let at = 0;
  for (const op of delta) {
    if ("retain" in op) { out += text.slice(at, at + op.retain); at += op.retain; }
    else if ("insert" in op) out += op.insert;
    else at += op.delete;
  }
  return out + text.slice(at);
}
