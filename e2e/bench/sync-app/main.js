// Sync measurements in the page, for ../sync.mjs: weft's provider against
// yjs with y-webrtc, through their public APIs. Each page is one peer.
import { Doc, connect } from "weft";
import * as Y from "yjs";
import { WebrtcProvider } from "y-webrtc";

const now = () => performance.timeOrigin + performance.now();
const peer = { sends: [], receives: [] };
window.peer = peer;

async function patches() {
  return (await (await fetch("/trace.json")).json()).patches;
}

/** A document of `impl` ("weft" or "yjs"): edit, length, and remote-change hook. */
function open(impl, room, signaling) {
  if (impl === "weft") {
    const doc = new Doc();
    const onRemote = [];
    doc.on("change", (e) => !e.local && onRemote.forEach((f) => f()));
    return {
      insert: (i, s) => doc.insert(i, s),
      remove: (i, n) => doc.delete(i, n),
      length: () => doc.length,
      stateBytes: () => doc.encodeState().length,
      onRemote: (f) => onRemote.push(f),
      connect: () => (peer.provider = connect(doc, { room, signalingUrl: signaling })),
    };
  }
  const ydoc = new Y.Doc();
  const text = ydoc.getText("t");
  const onRemote = [];
  ydoc.on("update", (_u, origin) => origin !== null && onRemote.forEach((f) => f()));
  return {
    insert: (i, s) => text.insert(i, s),
    remove: (i, n) => text.delete(i, n),
    length: () => text.length,
    stateBytes: () => Y.encodeStateAsUpdate(ydoc).length,
    onRemote: (f) => onRemote.push(f),
    connect: () => (peer.provider = new WebrtcProvider(room, ydoc, { signaling: [signaling] })),
  };
}

/** Replays the whole trace, then joins the room; returns the length. */
window.hold = async (impl, room, signaling) => {
  const doc = open(impl, room, signaling);
  for (const [pos, del, ins] of await patches()) {
    if (del) doc.remove(pos, del);
    if (ins) doc.insert(pos, ins);
  }
  doc.connect();
  peer.doc = doc;
  return { length: doc.length(), stateBytes: doc.stateBytes() };
};

/** Loads the snapshot at /large.bin (a large document), then joins the room. */
window.holdSnapshot = async (room, signaling) => {
  const doc = Doc.load(new Uint8Array(await (await fetch("/large.bin")).arrayBuffer()));
  peer.provider = connect(doc, { room, signalingUrl: signaling });
  peer.doc = doc;
  return { length: doc.length, stateBytes: doc.encodeState().length };
};

const longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longTasks.push(e.duration);
}).observe({ type: "longtask", buffered: true });
/** The longest main-thread task so far (0 if none took over 50 ms). */
window.longestTask = () => Math.max(0, ...longTasks);

/**
 * Joins the room empty; resolves with the ms until it holds `length`
 * characters, or null if it does not within `timeoutMs`.
 */
window.lateJoin = (impl, room, signaling, length, timeoutMs) =>
  new Promise((resolve) => {
    const doc = open(impl, room, signaling);
    const started = performance.now();
    doc.onRemote(() => doc.length() === length && resolve(performance.now() - started));
    setTimeout(() => resolve(null), timeoutMs);
    doc.connect();
    peer.doc = doc;
  });

/** Joins the room and records when each remote change arrives. */
window.joinForTyping = (impl, room, signaling) => {
  const doc = open(impl, room, signaling);
  doc.onRemote(() => peer.receives.push(now()));
  doc.connect();
  peer.doc = doc;
};

/** Inserts one character every `intervalMs`, `count` times, recording when. */
window.type = async (count, intervalMs) => {
  for (let i = 0; i < count; i++) {
    peer.sends.push(now());
    peer.doc.insert(Math.floor(Math.random() * (peer.doc.length() + 1)), "x");
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};
