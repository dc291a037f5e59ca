// Links between tabs of one browser over a BroadcastChannel: messages carry
// sender and addressee, so each pair of tabs gets its own ordered link.
// A tab that goes away (even by crashing) is noticed through Web Locks: each
// tab holds a lock named after itself until it leaves, and its peers queue
// for that lock.

import type { Link, LinkEvents } from "./link.js";

/** What a hub reports to its owner. */
export interface TabHubEvents {
  /** A new tab appeared: returns what its link reports to. */
  accept(peer: string, link: Link): LinkEvents;
  /** Handling a message failed (it is dropped; the hub keeps listening). */
  error(err: unknown): void;
}

type TabMessage =
  | { t: "hello"; from: string; to?: string; again?: true }
  | { t: "frame"; from: string; to: string; bytes: Uint8Array }
  | { t: "bye"; from: string; to?: string };

class TabLink implements Link {
  readonly via = "tab";
  events: LinkEvents | undefined;
  #closed = false;
  constructor(
    readonly hub: TabHub,
    readonly peer: string,
    readonly gone: AbortController,
  ) {}

  send(frame: Uint8Array): void {
    if (!this.#closed) this.hub.post({ t: "frame", from: this.hub.me, to: this.peer, bytes: frame });
  }

  close(reason = "closed"): void {
    this.end(reason);
    // Closed by this side (its session failed): the other tab ends its
    // side too, then both start over with fresh sessions, Hello first.
    this.hub.restart(this.peer);
  }

  /** Ends the link without a word to the peer (it left, or said bye). */
  end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.gone.abort();
    this.hub.forget(this.peer, this);
    this.events?.close(reason);
  }
}

export class TabHub {
  #channel: BroadcastChannel;
  #links = new Map<string, TabLink>();
  #release: (() => void) | undefined;
  #closed = false;

  constructor(
    name: string,
    readonly me: string,
    readonly events: TabHubEvents,
  ) {
    this.#channel = new BroadcastChannel(name);
    // Any page of this origin can post on the channel: nothing it sends may
    // throw out of this handler (in Node that ends the process).
    this.#channel.addEventListener("message", (e: MessageEvent) => {
      try {
        this.#message(e.data as TabMessage);
      } catch (err) {
        events.error(err);
      }
    });
    let said = false;
    const hello = () => {
      said = true;
      this.post({ t: "hello", from: me });
    };
    const locks = globalThis.navigator?.locks;
    if (!locks) {
      hello();
      return;
    }
    // Hold our lock before anyone can learn our id, so a peer that queues
    // for it is granted it only once we are gone.
    locks
      .request(lockName(me), () => {
        if (this.#closed) return;
        hello();
        return new Promise<void>((resolve) => (this.#release = resolve));
      })
      .catch(() => {
        // Locks refused (an opaque origin): meet the others anyway; they
        // notice this tab leaving by its bye alone.
        if (!said) hello();
      });
  }

  post(message: TabMessage): void {
    if (!this.#closed) this.#channel.postMessage(message);
  }

  forget(peer: string, link: TabLink): void {
    if (this.#links.get(peer) === link) this.#links.delete(peer);
  }

  /** After this side closed the link to `peer`: both sides start over. */
  restart(peer: string): void {
    if (this.#closed) return;
    this.post({ t: "bye", from: this.me, to: peer });
    this.post({ t: "hello", from: this.me, to: peer, again: true });
  }

  close(): void {
    if (this.#closed) return;
    this.post({ t: "bye", from: this.me });
    this.#closed = true;
    for (const link of [...this.#links.values()]) link.end("disconnected");
    this.#channel.close();
    this.#release?.();
  }

  #message(m: TabMessage): void {
    if (this.#closed || !m || typeof m.from !== "string" || m.from === this.me) return;
    if ("to" in m && m.to !== undefined && m.to !== this.me) return;
    if (m.t === "bye") {
      this.#links.get(m.from)?.end(m.to === undefined ? "the tab left" : "the tab started over");
      return;
    }
    let link = this.#links.get(m.from);
    if (link && m.t === "hello" && m.again === true) {
      // The peer started over (its bye may have been lost): so does this side.
      link.end("the tab started over");
      link = undefined;
    }
    if (!link) {
      link = this.#open(m.from);
      if (m.t === "hello" && m.to === undefined) this.post({ t: "hello", from: this.me, to: m.from });
    }
    if (m.t === "frame" && m.bytes instanceof Uint8Array) link.events?.message(m.bytes);
  }

  #open(peer: string): TabLink {
    const gone = new AbortController();
    const link = new TabLink(this, peer, gone);
    this.#links.set(peer, link);
    try {
      link.events = this.events.accept(peer, link);
    } catch (err) {
      this.#links.delete(peer); // not left half open: its next message tries again
      throw err;
    }
    globalThis.navigator?.locks
      ?.request(lockName(peer), { signal: gone.signal }, () => link.end("the tab went away"))
      .catch(() => {}); // aborted: the link closed first
    link.events.open();
    return link;
  }
}

function lockName(peer: string): string {
  return `weft-tab:${peer}`;
}
