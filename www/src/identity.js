// Who this window is: a name and a colour, kept in sessionStorage, so a
// reload keeps them and a second window of the same browser is someone else.

const NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus"];
const COLORS = ["#d1495b", "#2e86ab", "#3b8c3a", "#8e5bd6", "#e07a1f", "#1c9c8c", "#c2477f", "#5c6bc0"];

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

export function identity() {
  try {
    const saved = JSON.parse(sessionStorage.getItem("weft-demo:identity") ?? "null");
    if (saved?.name && saved?.color) return saved;
  } catch {
    // unreadable: make a new one
  }
  const me = { name: pick(NAMES), color: pick(COLORS) };
  try {
    sessionStorage.setItem("weft-demo:identity", JSON.stringify(me));
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
