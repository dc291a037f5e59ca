// A link over a WebRTC data channel: negotiation through the signaling
// server, and sends that respect the channel's buffer (bufferedAmount) so a
// large document never overflows it.

import type { Link, LinkEvents } from "./link.js";

/** Stop sending while this much is buffered; resume below LOW. */
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;
/** A connection that does not open in this time is given up (and retried). */
export const OPEN_TIMEOUT_MS = 15_000;
/** How long a connection may stay `disconnected` before it counts as lost. */
const DISCONNECTED_GRACE_MS = 5_000;

/** Negotiation messages, relayed by the signaling server. */
export type RtcSignal =
  | { kind: "offer" | "answer"; sdp: string }
  | { kind: "candidate"; candidate: RTCIceCandidateInit };

export class RtcLink implements Link {
  readonly via = "webrtc";
  #pc: RTCPeerConnection;
  #channel: RTCDataChannel | undefined;
  #queue: Uint8Array[] = [];
  #candidates: RTCIceCandidateInit[] = [];
  #closed = false;
  #opened = false;
  #openTimer: ReturnType<typeof setTimeout>;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  /** The side with the smaller peer id is the `initiator`: it offers. */
  constructor(
    readonly initiator: boolean,
    iceServers: RTCIceServer[],
    readonly sendSignal: (data: RtcSignal) => void,
    readonly events: LinkEvents,
  ) {
    const pc = (this.#pc = new RTCPeerConnection({ iceServers }));
    pc.addEventListener("icecandidate", (e) => {
      if (e.candidate) sendSignal({ kind: "candidate", candidate: e.candidate.toJSON() });
    });
    pc.addEventListener("connectionstatechange", () => this.#stateChanged());
    if (initiator) {
      this.#setup(pc.createDataChannel("weft", { ordered: true }));
      void this.#negotiate(async () => {
        await pc.setLocalDescription();
        sendSignal({ kind: "offer", sdp: pc.localDescription!.sdp });
      });
    } else {
      pc.addEventListener("datachannel", (e) => this.#setup(e.channel));
    }
    this.#openTimer = setTimeout(() => this.close("connection timed out"), OPEN_TIMEOUT_MS);
  }

  /** Handles a negotiation message from the peer. */
  handleSignal(data: RtcSignal): void {
    const pc = this.#pc;
    void this.#negotiate(async () => {
      if (data.kind === "offer") {
        await pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
        await this.#addCandidates();
        await pc.setLocalDescription();
        this.sendSignal({ kind: "answer", sdp: pc.localDescription!.sdp });
      } else if (data.kind === "answer") {
        await pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        await this.#addCandidates();
      } else if (data.kind === "candidate") {
        // Candidates may arrive before the description they belong to.
        this.#candidates.push(data.candidate);
        if (pc.remoteDescription) await this.#addCandidates();
      }
    });
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    this.#flush();
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#openTimer);
    clearTimeout(this.#graceTimer);
    this.#queue = [];
    this.#channel?.close();
    this.#pc.close();
    this.events.close(reason);
  }

  async #negotiate(step: () => Promise<void>): Promise<void> {
    try {
      if (!this.#closed) await step();
    } catch (err) {
      this.close(`negotiation failed: ${String(err)}`);
    }
  }

  async #addCandidates(): Promise<void> {
    for (const c of this.#candidates.splice(0)) await this.#pc.addIceCandidate(c);
  }

  #setup(channel: RTCDataChannel): void {
    this.#channel = channel;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    const opened = () => {
      if (this.#opened || this.#closed) return;
      this.#opened = true;
      clearTimeout(this.#openTimer);
      this.events.open();
      this.#flush();
    };
    channel.addEventListener("open", opened);
    channel.addEventListener("message", (e: MessageEvent) => {
      if (this.#closed) return;
      if (e.data instanceof ArrayBuffer) this.events.message(new Uint8Array(e.data));
      else this.close("the peer sent a text message; the protocol is binary");
    });
    channel.addEventListener("bufferedamountlow", () => this.#flush());
    channel.addEventListener("close", () => this.close("the peer closed the connection"));
  }

  #flush(): void {
    const channel = this.#channel;
    if (!channel || channel.readyState !== "open") return;
    while (this.#queue.length > 0 && channel.bufferedAmount < HIGH_WATER) {
      try {
        channel.send(this.#queue[0]! as Uint8Array<ArrayBuffer>);
      } catch (err) {
        // Never swallowed: the link closes and the session starts over.
        this.close(`send failed: ${String(err)}`);
        return;
      }
      this.#queue.shift();
    }
  }

  #stateChanged(): void {
    const state = this.#pc.connectionState;
    clearTimeout(this.#graceTimer);
    if (state === "failed" || state === "closed") this.close(`connection ${state}`);
    else if (state === "disconnected") {
      // Often recovers by itself; a peer that vanished does not.
      this.#graceTimer = setTimeout(() => this.close("connection lost"), DISCONNECTED_GRACE_MS);
    }
  }
}
