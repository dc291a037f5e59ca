// A document kept in step with the other tabs of this browser that hold the
// same document: a sync connection to each over the tab hub, with durable
// reports. Stores run one per database, so a tab that opens gets edits the
// others have not written yet, and a tab learns which edits another stored.

import type { RawReceived } from "../../wasm/weft_wasm.js";
import type { Doc, Origin } from "../doc.js";
import { Connection } from "./connection.js";
import { randomId } from "./random-id.js";
import { TabHub } from "./tabs.js";

/** What the tab sync reports to its owner. */
export interface TabSyncEvents {
  /** A tab reported everything in `version` (encoded) stored on disk. */
  durable(version: Uint8Array): void;
  /** What to report durable to a tab that joins (undefined: nothing yet). */
  stored(): Uint8Array | undefined;
  /** A tab's message could not be handled (that link is closed; a new one may follow). */
  error(err: unknown): void;
}

export class TabSync {
  #hub: TabHub | undefined;
  #connections = new Set<Connection>();
  #flushQueued = false;

  /** Tabs meet on the BroadcastChannel `channel`; merges have `origin`. */
  constructor(
    channel: string,
    readonly doc: Doc,
    readonly origin: Origin,
    readonly events: TabSyncEvents,
  ) {
    if (typeof BroadcastChannel !== "function") return;
    this.#hub = new TabHub(channel, randomId(), {
      accept: (peer, link) => {
        const c = new Connection(peer, link, doc, origin, undefined, {
          received: (received) => this.#received(received),
          failed: (err) => {
            events.error(err);
            link.close("failed");
          },
        });
        this.#connections.add(c);
        return {
          open: () => {
            c.open = true;
            c.hello();
            const stored = events.stored();
            if (stored) c.durable(stored);
          },
          message: (frame) => c.message(frame),
          close: () => {
            this.#connections.delete(c);
            c.close();
          },
        };
      },
      error: (err) => events.error(err),
    });
  }

  /** Sends the other tabs what they may lack, once per task however many changes. */
  flush(): void {
    if (this.#flushQueued || this.#connections.size === 0) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      for (const c of this.#connections) this.#guard(c, () => c.flush());
    });
  }

  /** Tells the other tabs everything in `version` (encoded) is stored. */
  durable(version: Uint8Array): void {
    for (const c of this.#connections) this.#guard(c, () => c.durable(version));
  }

  /** Leaves the other tabs. */
  close(): void {
    this.#hub?.close();
    this.#hub = undefined;
  }

  #received(received: RawReceived): void {
    if (received.durable) this.events.durable(received.durable);
  }

  #guard(c: Connection, f: () => void): void {
    try {
      f();
    } catch (err) {
      c.events.failed(err);
    }
  }
}
