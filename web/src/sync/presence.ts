// Presence states on the wire: JSON, with the selection as sticky indices
// (base64) so it stays on the same characters while the text changes.

import type { Doc } from "../doc.js";
import { typeError } from "../errors.js";

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

/**
 * Encodes `state` for peers, once, when it is set: the selection becomes
 * sticky indices into `doc` as it is now, so it follows its characters
 * through later edits (as a relative position in y-protocols' awareness
 * does) and can never fall out of range however the text shrinks. Refused
 * at once, with a code: a selection index past the end or inside a
 * character (`INDEX_OUT_OF_BOUNDS`, `NOT_CHAR_BOUNDARY`, as `stickyIndex`),
 * and fields JSON cannot carry (a bigint, a cycle: `INVALID_ARGUMENT`).
 */
export function encodePresence(doc: Doc, state: PresenceState): Uint8Array {
  const { selection, ...rest } = state;
  const wire: Record<string, unknown> = { ...rest };
  if (selection) {
    wire.selection = {
      anchor: toBase64(doc.stickyIndex(selection.anchor).bytes),
      head: toBase64(doc.stickyIndex(selection.head).bytes),
    } satisfies WireSelection;
  } else if (selection === null) wire.selection = null;
  let json: string;
  try {
    json = JSON.stringify(wire);
  } catch (err) {
    throw typeError(`a presence state must be JSON: ${(err as Error).message}`);
  }
  // A `toJSON` field could make it something else, which peers refuse.
  if (!json.startsWith("{")) throw typeError("a presence state must be JSON: its toJSON made it something other than an object");
  return new TextEncoder().encode(json);
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
