// Who this window is: a name, a colour and a random author id, kept in
// sessionStorage, so a reload keeps them and a second window of the same
// browser is someone else. The id is what the document records as the author
// of this person's edits (names and colours are only shared as presence).

const NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus"];
const COLORS = ["#d1495b", "#2e86ab", "#3b8c3a", "#8e5bd6", "#e07a1f", "#1c9c8c", "#c2477f", "#5c6bc0"];
const KEY = "weft-demo:identity";

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

/** 64 random bits as hex (crypto.getRandomValues works on plain http too, randomUUID does not). */
function newId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An id the document takes as an author id (at most 128 bytes): anything else is replaced. */
const validId = (id) => typeof id === "string" && /^[\w-]{1,64}$/.test(id);

/** `{ id, name, color }` of this window's person. */
export function identity() {
  let me;
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (saved?.name && saved?.color) {
      if (validId(saved.id)) return saved;
      // Saved before identities had ids: the same person, with an id from now on.
      me = { ...saved, id: newId() };
    }
  } catch {
    // unreadable: make a new one
  }
  me ??= { id: newId(), name: pick(NAMES), color: pick(COLORS) };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(me));
  } catch {
    // storage blocked: a new identity each visit
  }
  return me;
}

/** The room from `#room=NAME`; a new random one is put in the URL if there is none. */
export function roomFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  let room = params.get("room");
  if (!room) {
    room = `room-${Math.random().toString(36).slice(2, 8)}`;
    params.set("room", room);
    history.replaceState(null, "", `#${params}`);
  }
  return room;
}
