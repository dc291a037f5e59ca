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
/**
 * An offer not answered in this time is sent again, with this side's
 * candidates; a repeated offer is answered again. Signals relayed between
 * servers may be lost (a server restarting, a stream trimmed), and without
 * this a lost offer or answer would cost the whole open timeout.
 */
const RESEND_MS = 3_000;

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
  #resendTimer: ReturnType<typeof setInterval> | undefined;
  /** This side's candidates, sent again with a repeated offer or answer. */
  #localCandidates: RTCIceCandidateInit[] = [];
  /** The peer's description this side took: its offer, or its answer. */
  #taken: string | undefined;

  /** The side with the smaller peer id is the `initiator`: it offers. */
  constructor(
    readonly initiator: boolean,
    iceServers: RTCIceServer[],
    readonly sendSignal: (data: RtcSignal) => void,
    readonly events: LinkEvents,
  ) {
    const pc = (this.#pc = new RTCPeerConnection({ iceServers }));
    pc.addEventListener("icecandidate", (e) => {
      if (!e.candidate) return;
      const candidate = e.candidate.toJSON();
      this.#localCandidates.push(candidate);
      sendSignal({ kind: "candidate", candidate });
    });
    pc.addEventListener("connectionstatechange", () => this.#stateChanged());
    if (initiator) {
      this.#setup(pc.createDataChannel("weft", { ordered: true }));
      void this.#negotiate(async () => {
        await pc.setLocalDescription();
        const offer = pc.localDescription!.sdp;
        sendSignal({ kind: "offer", sdp: offer });
        this.#resendTimer = setInterval(() => {
          if (pc.signalingState === "have-local-offer") this.#sendAgain({ kind: "offer", sdp: offer });
          else clearInterval(this.#resendTimer);
        }, RESEND_MS);
      });
    } else {
      pc.addEventListener("datachannel", (e) => this.#setup(e.channel));
    }
    this.#openTimer = setTimeout(() => this.close("connection timed out"), OPEN_TIMEOUT_MS);
  }

  /**
   * Whether `data` is the offer this (answering) side already took: sent
   * again because the answer did not arrive. `handleSignal` answers it
   * again.
   */
  isOfferTaken(data: RtcSignal): boolean {
    return data.kind === "offer" && data.sdp === this.#taken;
  }

  /** Handles a negotiation message from the peer. */
  handleSignal(data: RtcSignal): void {
    const pc = this.#pc;
    if (this.isOfferTaken(data)) {
      // Answered already (unless still answering: the answer goes out then).
      const answer = pc.localDescription;
      if (answer?.type === "answer") this.#sendAgain({ kind: "answer", sdp: answer.sdp });
      return;
    }
    if (data.kind === "answer" && data.sdp === this.#taken) return; // sent again: taken already
    if (data.kind !== "candidate") this.#taken = data.sdp;
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
    clearInterval(this.#resendTimer);
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

  /** Sends `description` again, then this side's candidates so far. */
  #sendAgain(description: RtcSignal): void {
    if (this.#closed) return;
    this.sendSignal(description);
    for (const candidate of this.#localCandidates) this.sendSignal({ kind: "candidate", candidate });
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
      clearInterval(this.#resendTimer);
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
