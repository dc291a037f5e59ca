// The demo: a CodeMirror editor on a Weft document that is stored in
// IndexedDB and synced peer to peer with everyone in the same room.

import { Doc, Store, connect } from "weft";
import { setProvider, undoManagerOf } from "weft/codemirror";
import { createEditor } from "./editor.js";
import { historyPanel } from "./history.js";
import { identity, roomFromUrl } from "./identity.js";
import { learn } from "./people.js";
import { clearErrors, showError, showFacts, showPeople, showRoom, showServerStorage, showStorage, showSync, showUnreachable } from "./panel.js";

const room = roomFromUrl();
// `#room=NAME&signal=ws://host:port/signal` points the demo at another signaling server.
const signalingUrl =
  new URLSearchParams(location.hash.slice(1)).get("signal") ??
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/signal`;
const me = identity();
learn(me);
showRoom(room);

// Storage first, so a reload shows the text at once, even offline. Without
// IndexedDB (private mode, blocked storage) the editor still works in memory.
// The author id goes with this person's edits: the history says who did what.
let store;
let doc;
try {
  store = await Store.open(`demo:${room}`, { author: me.id });
  doc = store.doc;
  showStorage("saved");
  store.on("durable", () => showStorage("saved"));
  store.on("error", (e) => {
    showStorage("error");
    showError(e);
  });
  store.on("corruption", (e) => showError(Object.assign(new Error(`a damaged ${e.kind} (key ${e.key}) was skipped`), { code: "CORRUPTION" })));
  for (const p of store.problems) showError(Object.assign(new Error(`a damaged ${p.kind} (key ${p.key}) was skipped`), { code: "CORRUPTION" }));
} catch (e) {
  doc = new Doc({ author: me.id });
  showStorage("error");
  showError(Object.assign(new Error(`storage unavailable, changes are kept in memory only: ${e.message}`), { code: e.code ?? "STORAGE_UNAVAILABLE" }));
}

let provider;
// `me` (id, name, colour) is shared as presence with the selection: others learn whose id is whose.
const view = createEditor(document.getElementById("editor-host"), doc, me);

// Restoring a version is an edit of this person's that Ctrl+Z in the editor
// takes back: the editor's undo manager tracks the panel's origin too, and
// the restore is a step of its own.
const restoring = { name: "history restore" };
const undo = undoManagerOf(view);
undo?.addTrackedOrigin(restoring);
historyPanel({
  doc,
  me,
  undoable: undo !== undefined,
  restore(version) {
    undo?.stopCapturing();
    doc.transact(() => doc.restore(version), restoring);
    undo?.stopCapturing();
  },
});

function refresh() {
  const others = provider ? [...provider.presence.values()] : [];
  for (const state of others) learn(state);
  showPeople(me, others);
  const peers = provider ? provider.peers : [];
  showSync(provider ? provider.status : "offline", peers.filter((p) => p.via !== "server").length, provider?.server);
  showServerStorage(provider);
  showUnreachable(provider ? provider.unreachable : []);
  showFacts(doc, store);
}

function goOnline() {
  provider = connect(doc, { room, signalingUrl });
  // The editor shares this person's name, color and selection, and shows the others'.
  setProvider(view, provider);
  provider.on("status", (s) => {
    if (s === "synced") clearErrors(["SIGNALING_UNAVAILABLE"]);
    refresh();
  });
  provider.on("peerJoin", refresh);
  provider.on("peerLeave", refresh);
  provider.on("presence", refresh);
  provider.on("serverDurable", refresh);
  provider.on("error", (e) => {
    showError(e);
    refresh();
  });
  window.weft.provider = provider;
}

doc.on("change", () => {
  if (store) showStorage("saving");
  // After the editor has applied the change, so cursors resolve against it.
  queueMicrotask(refresh);
});

document.getElementById("offline").addEventListener("change", (e) => {
  if (e.target.checked) {
    provider?.disconnect();
    provider = undefined;
    setProvider(view, undefined);
    window.weft.provider = undefined;
  } else goOnline();
  refresh();
});

document.getElementById("invite").addEventListener("click", async (e) => {
  try {
    await navigator.clipboard.writeText(location.href);
    e.target.textContent = "Link copied";
  } catch {
    // No clipboard permission: let the user copy it.
    prompt("Copy this link to invite someone:", location.href);
  }
  setTimeout(() => (e.target.textContent = "Copy invite link"), 2000);
});

// For the curious: the live objects, from the browser console.
window.weft = { doc, store, provider: undefined, me, Doc, Store, connect };
goOnline();
refresh();
window.weftReady = true;
