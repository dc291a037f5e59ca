// Names and colours of author ids: this window's person and everyone whose
// presence arrived in this session (the editor shares `{ id, name, color }`
// with the selection). Anyone else, such as someone who wrote before this page
// was opened, gets a colour derived from the id and a short label.

const known = new Map();
const listeners = new Set();

/** Only colours of the form #rgb to #rrggbbaa are taken from peers (nothing `url(…)`-like reaches CSS). */
const HEX_COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;

/** Remembers the name and colour of a presence state (or this window's identity) that has an `id`. */
export function learn(state) {
  const id = state?.id;
  if (typeof id !== "string" || id === "") return;
  const name = typeof state.name === "string" && state.name.trim() ? state.name.trim().slice(0, 40) : undefined;
  const color = typeof state.color === "string" && HEX_COLOR.test(state.color) ? state.color : undefined;
  const before = known.get(id);
  if (before && before.name === name && before.color === color) return;
  known.set(id, { name, color });
  for (const listener of listeners) listener();
}

/** Calls `listener` when a name or colour was learnt. */
export function onPeopleChange(listener) {
  listeners.add(listener);
}

/** `{ name, color }` to show for an author id (`null`/`undefined`: text written without one). */
export function personOf(id) {
  if (id === null || id === undefined) return { name: "unknown author", color: "#888888" };
  const person = known.get(id);
  return {
    name: person?.name ?? `author ${id.length > 8 ? `${id.slice(0, 6)}…` : id}`,
    color: person?.color ?? colorOf(id),
  };
}

/** A colour from a hash of the id (FNV-1a): the same for an author at every peer and every visit. */
function colorOf(id) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return `hsl(${(hash >>> 0) % 360} 60% 42%)`;
}
