// An encrypted room kept on the server, which cannot read it: each change
// goes up sealed with the room key as an opaque record, what others stored
// comes down sealed and is opened and merged here, and from time to time a
// sealed snapshot replaces the records (docs/format.md, "Sealed rooms").
// The bookkeeping is the core's (`RawSealedClient`); the key stays here.

import { RawSealedClient } from "../../wasm/weft_wasm.js";
import { docInternals, type Doc, type Origin } from "../doc.js";
import { withCode } from "../errors.js";
import { open, seal } from "./secret.js";

export interface SealedSyncEvents {
  /** Everything stored was received on this connection. */
  caughtUp(): void;
  /** The server stored `version` (encoded). */
  stored(version: Uint8Array): void;
  /** A stored record could not be used (it is skipped; the rest goes on). */
  error(err: Error & { code: string }): void;
  /** The connection broke the protocol: the owner closes it. */
  failed(err: unknown): void;
}

export class SealedSync {
  readonly client = new RawSealedClient();
  #send: ((frame: Uint8Array) => void) | undefined;
  /** Messages, uploads and checkpoints run one after another (sealing is asynchronous). */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    readonly doc: Doc,
    readonly key: CryptoKey,
    /** The origin of the changes merged from the server. */
    readonly origin: Origin,
    readonly events: SealedSyncEvents,
  ) {}

  /** Whether a connection to the server is open. */
  get connected(): boolean {
    return this.#send !== undefined;
  }

  /** Whether everything stored arrived on the current connection. */
  get caughtUp(): boolean {
    return this.#send !== undefined && this.client.caughtUp;
  }

  /** A new connection: the room is opened on it, past what was merged already. */
  connect(send: (frame: Uint8Array) => void): void {
    this.#send = send;
    this.#enqueue(async () => {
      if (this.#send === send) for (const f of this.client.open()) send(f);
    });
  }

  /** The connection is gone: uploads wait for the next (unacknowledged ones are sent again). */
  disconnect(): void {
    this.#send = undefined;
  }

  /** A frame from the server. */
  message(frame: Uint8Array): void {
    this.#enqueue(() => this.#receive(frame));
  }

  /** Uploads what changed here, once caught up. */
  flush(): void {
    this.#enqueue(() => this.#upload());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#send = undefined;
    // Freed once what is running is done with it.
    this.#chain = this.#chain.then(() => this.client.free());
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(() => (this.#closed ? undefined : task())).catch((err) => this.events.failed(err));
  }

  async #receive(frame: Uint8Array): Promise<void> {
    if (!this.#send) return;
    const event = this.client.receive(frame);
    if (!event) return;
    switch (event.kind) {
      case "sealed": {
        let update: Uint8Array;
        try {
          update = await open(this.key, event.body);
        } catch {
          this.events.error(
            withCode(new Error(`stored record ${event.seq} of this room could not be decrypted (written with another secret?): skipped`), "SEALED_UNREADABLE"),
          );
          return;
        }
        if (this.#closed) return;
        try {
          docInternals.merge(this.doc, (raw) => this.client.merge(raw, event.seq, update), this.origin);
        } catch (err) {
          if ((err as { code?: string }).code === "DOCUMENT_FREED" || (err as { code?: string }).code === "DOCUMENT_BROKEN") throw err;
          this.events.error(withCode(new Error(`stored record ${event.seq} of this room is not a valid update: skipped (${String(err)})`, { cause: err }), "SEALED_UNREADABLE"));
        }
        break;
      }
      case "caughtUp":
        this.events.caughtUp();
        await this.#upload();
        break;
      case "stored":
        this.events.stored(event.version);
        break;
      case "compacted":
        break;
    }
    if (this.client.wantsCheckpoint) await this.#checkpoint();
  }

  async #upload(): Promise<void> {
    const send = this.#send;
    if (!send || !this.client.caughtUp) return;
    const update = docInternals.use(this.doc, (raw) => this.client.outgoing(raw));
    if (!update) return;
    const sealed = await seal(this.key, update);
    // Reconnected meanwhile: opening again resends whatever is unacknowledged.
    if (this.#send !== send || this.#closed) return;
    for (const f of this.client.append(sealed)) send(f);
  }

  async #checkpoint(): Promise<void> {
    const send = this.#send;
    if (!send) return;
    const snapshot = docInternals.use(this.doc, (raw) => raw.encodeState());
    const sealed = await seal(this.key, snapshot);
    if (this.#send !== send || this.#closed) return;
    for (const f of this.client.compact(sealed)) send(f);
  }
}
