// Listeners by event name, delivered so that one failing listener stops
// neither the others nor the code that emitted: what it threw is reported
// on the console at once. (Rethrowing it later, from a microtask, would end
// a Node process over an error in someone's listener; and the change it was
// told about has happened either way.)

export type Listener<T> = (event: T) => void;

export class Emitter<Events> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Whether anyone listens to `event` (so an event costly to build can be skipped). */
  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(value);
      } catch (err) {
        console.error(`weft: a "${String(event)}" listener threw (the other listeners are still called):`, err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
