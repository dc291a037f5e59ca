// Presence states on the wire: JSON, with the selection as sticky indices
// (base64) so it stays on the same characters while the text changes.

import type { Doc } from "../doc.js";

/** What a peer shares about itself. Any other JSON fields are kept as they are. */
export interface PresenceState {
  name?: string;
  color?: string;
  /** The selection as UTF-16 indices (`anchor === head` for a caret), or null. */
  selection?: { anchor: number; head: number } | null;
  [field: string]: unknown;
}

interface WireSelection {
  anchor: string;
  head: string;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Encodes `state` with its selection anchored in `doc`. */
export function encodePresence(doc: Doc, state: PresenceState): Uint8Array {
  const { selection, ...rest } = state;
  const wire: Record<string, unknown> = { ...rest };
  if (selection) {
    wire.selection = {
      anchor: toBase64(doc.stickyIndex(selection.anchor).bytes),
      head: toBase64(doc.stickyIndex(selection.head).bytes),
    } satisfies WireSelection;
  } else if (selection === null) wire.selection = null;
  return new TextEncoder().encode(JSON.stringify(wire));
}

/** A peer's presence as received: resolve it against the document when read. */
export class RemotePresence {
  private constructor(
    readonly fields: Record<string, unknown>,
    readonly selection: { anchor: Uint8Array; head: Uint8Array } | null,
  ) {}

  /** Decodes presence bytes; throws on anything that is not a presence state. */
  static decode(bytes: Uint8Array): RemotePresence {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError("presence must be a JSON object");
    const { selection, ...fields } = value as Record<string, unknown>;
    let anchors = null;
    if (selection) {
      const s = selection as WireSelection;
      if (typeof s.anchor !== "string" || typeof s.head !== "string") throw new TypeError("presence selection must hold two sticky indices");
      anchors = { anchor: fromBase64(s.anchor), head: fromBase64(s.head) };
    }
    return new RemotePresence(fields, anchors);
  }

  /** The state with its selection where it is now in `doc` (null if its text has not arrived yet). */
  resolve(doc: Doc): PresenceState {
    const state: PresenceState = { ...this.fields, selection: null };
    if (this.selection) {
      try {
        state.selection = { anchor: doc.resolveSticky(this.selection.anchor), head: doc.resolveSticky(this.selection.head) };
      } catch {
        // Not resolvable (yet): the characters it is anchored to have not arrived.
      }
    }
    return state;
  }
}
