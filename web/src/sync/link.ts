// A connection to one peer, whatever carries it: a WebRTC data channel, a
// BroadcastChannel between tabs, or the socket to the server's replica of
// the room. A sync session runs over it.

/** What a link reports to its owner. */
export interface LinkEvents {
  /** Frames can flow now. */
  open(): void;
  /** One frame arrived (its bytes are the receiver's to keep). */
  message(frame: Uint8Array): void;
  /** The link is gone (closed by either side, failed, or timed out). */
  close(reason: string): void;
}

export interface Link {
  readonly via: "webrtc" | "tab" | "server";
  /** Queues one frame; frames arrive in order or the link closes. */
  send(frame: Uint8Array): void;
  /** Closes the link; `close` is reported once. */
  close(reason?: string): void;
}
