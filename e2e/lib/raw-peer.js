// A hostile peer for tests, injected into a page with addScriptTag: it
// speaks the signaling protocol (docs/format.md) and offers a data channel to
// everyone in a room, then sends whatever frames it is given.

/**
 * Joins `room` at `signalingUrl` as the peer that offers to everyone
 * (smallest id) and sends `frames` (arrays of bytes, or strings) on every
 * data channel; resolves with the number of channels. With `token`, it
 * joins with that token.
 */
window.rawPeer = (signalingUrl, room, frames, token) =>
  new Promise((resolve) => {
    const me = "0".repeat(32);
    const ws = new WebSocket(signalingUrl);
    const pcs = new Map();
    let sent = 0;
    const dial = (peer) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pcs.set(peer, pc);
      pc.onicecandidate = (e) =>
        e.candidate && ws.send(JSON.stringify({ type: "signal", room, to: peer, data: { kind: "candidate", candidate: e.candidate.toJSON() } }));
      const ch = pc.createDataChannel("weft");
      ch.onopen = () => {
        for (const f of frames) ch.send(typeof f === "string" ? f : new Uint8Array(f));
        if (++sent === pcs.size) resolve(sent);
      };
      pc.setLocalDescription().then(() =>
        ws.send(JSON.stringify({ type: "signal", room, to: peer, data: { kind: "offer", sdp: pc.localDescription.sdp } })),
      );
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, peer: me, ...(token ? { token } : {}) }));
    ws.onmessage = async (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "joined") m.peers.forEach((p) => dial(p.peer));
      if (m.type === "signal" && m.data.kind === "answer") await pcs.get(m.from).setRemoteDescription({ type: "answer", sdp: m.data.sdp });
      if (m.type === "signal" && m.data.kind === "candidate") await pcs.get(m.from)?.addIceCandidate(m.data.candidate);
    };
  });

/**
 * Joins `room` with `token` and sync, sends `frames` to the server's replica
 * of the room, and resolves with how the server closed the connection.
 */
window.rawServerPeer = (signalingUrl, room, frames, token) =>
  new Promise((resolve) => {
    const ws = new WebSocket(signalingUrl);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, peer: "1".repeat(32), sync: true, token }));
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      const m = JSON.parse(e.data);
      if (m.type === "joined") for (const f of frames) ws.send(new Uint8Array([m.channel, ...f]));
    };
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });

/** A sync message in one frame (docs/format.md): version 1, first and last, its length, its bytes. */
window.syncFrame = (kind, body) => {
  const message = [kind, ...body];
  const length = [];
  for (let n = message.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return [1, 3, ...length, ...message];
};
