// A page the WebRTC tests drive: the package as a user imports it.
import { Doc, Store, connect } from "weft";

window.weft = { Doc, Store, connect };
window.signalingUrl = `ws://${location.host}/signal`;

/** A document synced with `room`; events are recorded for the test to read. */
window.join = (room, options = {}) => {
  const doc = new Doc();
  const provider = connect(doc, { room, signalingUrl: window.signalingUrl, ...options });
  const log = { status: [], errors: [], joined: [], left: [], presence: [], timeline: [] };
  // What happened when (ms since the page started), for a failing test to print.
  const at = (what) => log.timeline.push(`${Math.round(performance.now())} ${what}`);
  provider.on("status", (s) => log.status.push(s));
  provider.on("error", (e) => {
    log.errors.push({ code: e.code, peer: e.peer, message: e.message });
    at(`error ${e.code}: ${e.message}`);
  });
  provider.on("peerJoin", (e) => {
    log.joined.push(e);
    at(`joined ${e.peer} via ${e.via}`);
  });
  provider.on("peerLeave", (e) => {
    log.left.push(e);
    at(`left ${e.peer} via ${e.via}: ${e.reason}`);
  });
  provider.on("presence", (e) => log.presence.push(e));
  // The latest state the server reported wholly stored, and the latest
  // version each server (of several) reported stored.
  log.durableOn = {};
  provider.on("serverDurable", (e) => {
    if (e.saved) log.savedOnServer = doc.encodeState();
    log.durableOn[provider.serverUrl] = e.version;
  });
  window.peer = { doc, provider, log };
  return provider.peer;
};

/**
 * Types `count` copies of the one-character `tag` at random places, one per
 * `delayMs`, deleting one of its own every seventh time (so that the
 * expected final count of each tag is exact despite concurrency).
 */
window.typeRandomly = async (count, delayMs, tag) => {
  const { doc } = window.peer;
  for (let i = 0; i < count; i++) {
    doc.insert(Math.floor(Math.random() * (doc.length + 1)), tag);
    if (i % 7 === 6) {
      const own = [...doc.toString().matchAll(tag)].map((m) => m.index);
      doc.delete(own[Math.floor(Math.random() * own.length)], 1);
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
};

/**
 * Types `count` tokens `[tag:i]`, one per `delayMs`, each at a random place
 * between tokens (never inside one, so each stays whole in the merged text
 * whoever typed around it). `window.typed` counts those typed so far.
 */
window.typeTokens = async (count, delayMs, tag) => {
  const { doc } = window.peer;
  window.typed = 0;
  for (let i = 0; i < count; i++) {
    const ends = [0, ...[...doc.toString().matchAll(/\]/g)].map((m) => m.index + 1)];
    doc.insert(ends[Math.floor(Math.random() * ends.length)], `[${tag}:${i}]`);
    window.typed = i + 1;
    await new Promise((r) => setTimeout(r, delayMs));
  }
};

/** The people connected: peers but the server's replica. */
window.people = () => window.peer.provider.peers.filter((p) => p.via !== "server");

window.ready = true;
