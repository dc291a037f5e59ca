// The link to the server's replica of a room: sync frames as binary
// WebSocket messages on the signaling socket, each behind the channel
// number the server gave the room when it was joined.

import type { Link, LinkEvents } from "./link.js";

/** A frame behind its channel number (a uvar). */
export function onChannel(channel: number, frame: Uint8Array): Uint8Array {
  const head: number[] = [];
  let v = channel;
  while (v >= 0x80) {
    head.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  head.push(v);
  const out = new Uint8Array(head.length + frame.length);
  out.set(head);
  out.set(frame, head.length);
  return out;
}

/** The channel and frame of a binary message, or undefined if it has no channel. */
export function splitChannel(message: Uint8Array): { channel: number; frame: Uint8Array } | undefined {
  let channel = 0;
  for (let i = 0; i < Math.min(message.length, 5); i++) {
    channel += (message[i]! & 0x7f) * 2 ** (7 * i);
    if ((message[i]! & 0x80) === 0) return { channel, frame: message.subarray(i + 1) };
  }
  return undefined;
}

export class ServerLink implements Link {
  readonly via = "server";
  events: LinkEvents | undefined;
  #ended = false;

  constructor(
    /** The server this link goes to (one of the provider's `signalingUrl`). */
    readonly url: string,
    readonly channel: number,
    /** Sends one binary message on the socket (dropped while it is not open). */
    readonly sendMessage: (bytes: Uint8Array) => void,
    /** Starts over with a new socket: the session broke. */
    readonly restart: (reason: string) => void,
  ) {}

  send(frame: Uint8Array): void {
    if (!this.#ended) this.sendMessage(onChannel(this.channel, frame));
  }

  /** The owner gives up on this session: the socket starts over. */
  close(reason = "closed"): void {
    if (this.#ended) return;
    this.ended(reason);
    this.restart(reason);
  }

  /** The socket closed (or the room was left): reported once. */
  ended(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.events?.close(reason);
  }
}
