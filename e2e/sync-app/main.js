// A page the WebRTC tests drive: the package as a user imports it, plus a
// peer that speaks the signaling protocol but sends garbage to everyone.
import { Doc, Store, connect } from "weft";

window.weft = { Doc, Store, connect };
window.signalingUrl = `ws://${location.host}/signal`;

/** A document synced with `room`; events are recorded for the test to read. */
window.join = (room, options = {}) => {
  const doc = new Doc();
  const provider = connect(doc, { room, signalingUrl: window.signalingUrl, ...options });
  const log = { status: [], errors: [], joined: [], left: [], presence: [] };
  provider.on("status", (s) => log.status.push(s));
  provider.on("error", (e) => log.errors.push({ code: e.code, peer: e.peer, message: e.message }));
  provider.on("peerJoin", (e) => log.joined.push(e));
  provider.on("peerLeave", (e) => log.left.push(e));
  provider.on("presence", (e) => log.presence.push(e));
  window.peer = { doc, provider, log };
  return provider.peer;
};

/** Types `count` characters at random places, one per `delayMs`. */
window.typeRandomly = async (count, delayMs, tag) => {
  const { doc } = window.peer;
  for (let i = 0; i < count; i++) {
    doc.insert(Math.floor(Math.random() * (doc.length + 1)), tag);
    if (i % 7 === 6 && doc.length > 2) doc.delete(Math.floor(Math.random() * (doc.length - 1)), 1);
    await new Promise((r) => setTimeout(r, delayMs));
  }
};

/**
 * Joins `room` through the signaling server as the peer that offers to
 * everyone (smallest id), then sends garbage on every data channel it gets.
 */
window.garbagePeer = (room) =>
  new Promise((resolve) => {
    const me = "0".repeat(32);
    const ws = new WebSocket(window.signalingUrl);
    const pcs = new Map();
    let sent = 0;
    const dial = (peer) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pcs.set(peer, pc);
      pc.onicecandidate = (e) => e.candidate && ws.send(JSON.stringify({ type: "signal", room, to: peer, data: { kind: "candidate", candidate: e.candidate.toJSON() } }));
      const ch = pc.createDataChannel("weft");
      ch.binaryType = "arraybuffer";
      ch.onopen = () => {
        ch.send(new Uint8Array([1, 3, 9, 9, 9])); // a frame of an unknown message kind
        ch.send("not binary");
        ch.send(crypto.getRandomValues(new Uint8Array(1000)));
        if (++sent === pcs.size) resolve(sent);
      };
      pc.setLocalDescription().then(() => ws.send(JSON.stringify({ type: "signal", room, to: peer, data: { kind: "offer", sdp: pc.localDescription.sdp } })));
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, peer: me }));
    ws.onmessage = async (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "joined") m.peers.forEach((p) => dial(p.peer));
      if (m.type === "signal" && m.data.kind === "answer") await pcs.get(m.from).setRemoteDescription({ type: "answer", sdp: m.data.sdp });
      if (m.type === "signal" && m.data.kind === "candidate") await pcs.get(m.from)?.addIceCandidate(m.data.candidate);
    };
  });

window.ready = true;
