// One connection to one peer: the core's sync session over a link (a WebRTC
// data channel, or a BroadcastChannel between tabs), its frames sealed with
// the room key when there is one. Providers run one per peer; stores run one
// per tab of their database.

import { checkSnapshot, RawSession, type RawReceived } from "../../wasm/weft_wasm.js";
import { docInternals, type Doc, type Origin } from "../doc.js";
import { withCode } from "../errors.js";
import type { Link } from "./link.js";
import { open, seal } from "./secret.js";
import { checkInWorker, WORKER_FROM_BYTES, workerAvailable, WorkerUnavailable } from "../worker-jobs.js";

/** What a connection reports to its owner. */
export interface ConnectionEvents {
  /** A frame was handled: what it brought (its answer is sent already). */
  received(received: RawReceived): void;
  /**
   * Handling a frame, or sealing one, failed (coded: `PEER_REJECTED` for a
   * frame that cannot be decrypted, the sync error's code otherwise). The
   * owner closes the link.
   */
  failed(err: unknown): void;
}

export class Connection {
  readonly session = new RawSession();
  /** Whether the link is open (frames flow). */
  open = false;
  /** Bytes of frames sent and received, before encryption. */
  bytesSent = 0;
  bytesReceived = 0;
  #closed = false;
  /** Frames are handled one after another (decryption is asynchronous). */
  #inbox: Promise<void> = Promise.resolve();
  #outbox: Promise<void> = Promise.resolve();

  constructor(
    readonly peer: string,
    readonly link: Link,
    readonly doc: Doc,
    /** The origin of the changes this connection merges. */
    readonly origin: Origin,
    readonly key: CryptoKey | undefined,
    readonly events: ConnectionEvents,
  ) {
    // A large snapshot for an empty document (a late joiner's) is checked
    // in the Worker before it is adopted: a second or more for 10 MB.
    if (workerAvailable()) this.session.checkSnapshotsElsewhere(WORKER_FROM_BYTES);
  }

  /** Whether the handshake is done both ways. */
  get synced(): boolean {
    return this.session.synced;
  }

  /** Sends the Hello that starts (or restarts) the handshake. */
  hello(): void {
    this.send(docInternals.use(this.doc, (raw) => this.session.start(raw)));
  }

  /** Sends what the peer may lack after the document changed. */
  flush(): void {
    if (this.open) this.send(docInternals.use(this.doc, (raw) => this.session.outgoing(raw)));
  }

  /** Tells the peer that everything in `version` (encoded) is stored on disk here. */
  durable(version: Uint8Array): void {
    this.send(this.session.durable(version));
  }

  /** Sends this side's presence; false when it is over the 64 KiB limit (nothing sent). */
  sendPresence(state: Uint8Array): boolean {
    const frames = this.session.presence(state);
    if (frames) this.send(frames);
    return frames !== undefined;
  }

  /** A frame from the peer: handled after the ones before it. */
  message(frame: Uint8Array): void {
    this.bytesReceived += frame.length;
    // A failure must not break the chain silently: the frames after it
    // would never be handled.
    this.#inbox = this.#inbox.then(() => this.#receive(frame)).catch((err) => this.events.failed(err));
  }

  async #receive(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    let frame = bytes;
    if (this.key) {
      try {
        frame = await open(this.key, bytes);
      } catch {
        throw withCode(new Error("a frame could not be decrypted: the peer has another room secret, or is not a Weft peer"), "PEER_REJECTED");
      }
      if (this.#closed) return;
    }
    let received!: RawReceived;
    docInternals.merge(this.doc, (raw) => (received = this.session.receive(raw, frame)).patches, this.origin);
    const snapshot = received.toCheck;
    if (snapshot) {
      // The frames after it wait in the inbox meanwhile.
      await checked(snapshot);
      if (this.#closed) return;
      docInternals.merge(this.doc, (raw) => (received = this.session.adoptChecked(raw, snapshot)).patches, this.origin);
    }
    // A change listener may have closed the connection, or freed the
    // document: then there is nothing to answer.
    if (this.#closed) return;
    this.send(received.frames);
    this.events.received(received);
  }

  send(frames: Uint8Array[]): void {
    if (frames.length === 0 || this.#closed) return;
    const key = this.key;
    for (const f of frames) this.bytesSent += f.length;
    if (!key) {
      for (const f of frames) this.link.send(f);
      return;
    }
    // Encryption is asynchronous; the chain keeps frames in order.
    this.#outbox = this.#outbox
      .then(async () => {
        for (const f of frames) this.link.send(await seal(key, f));
      })
      .catch((err) => this.events.failed(err));
  }

  /** Stops: frames still arriving are dropped, the session is freed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.session.free();
    } catch {
      // Left borrowed by a failure inside it (the document broke): unusable, left alone.
    }
  }
}

/** Checks `snapshot` in the Worker, or here where no Worker runs; throws its coded error when invalid. */
async function checked(snapshot: Uint8Array): Promise<void> {
  try {
    await checkInWorker(snapshot);
  } catch (err) {
    if (!(err instanceof WorkerUnavailable)) throw err;
    checkSnapshot(snapshot);
  }
}
