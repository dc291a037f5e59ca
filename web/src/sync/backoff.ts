// Exponential backoff with jitter, for reconnecting to the signaling server
// and to peers.

export class Backoff {
  #next: number;
  constructor(
    readonly firstMs = 250,
    readonly maxMs = 10_000,
  ) {
    this.#next = firstMs;
  }

  /** The delay before the next attempt (and doubles the one after). */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.maxMs);
    // Jitter keeps peers that lost the same server from retrying in lockstep.
    return delay / 2 + Math.random() * (delay / 2);
  }

  /** After a success: start from the first delay again. */
  reset(): void {
    this.#next = this.firstMs;
  }
}
