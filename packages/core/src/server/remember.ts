/**
 * A bounded memory of keys (leases that ended, handoffs spent): past `max`, the oldest is
 * forgotten. The oldest is found in a ring of the keys in the order they came, not by reading
 * the set from its start: a `Set` leaves a hole where a key was deleted until it grows again, so
 * reading its first key after tens of thousands of deletions skips them all (20–30 µs per key
 * at 65,536, once a long-running server has ended that many leases).
 */
export class RecentKeys {
  readonly #keys = new Set<string>();
  /** The keys in the order they came; past `max` entries, written over oldest first. */
  readonly #order: string[] = [];
  #next = 0;

  constructor(readonly max: number) {}

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    if (this.#keys.has(key)) return;
    if (this.#order.length < this.max) {
      this.#order.push(key);
    } else {
      // A key deleted since it came is not in the set: deleting it again does nothing.
      this.#keys.delete(this.#order[this.#next]!);
      this.#order[this.#next] = key;
      this.#next = (this.#next + 1) % this.max;
    }
    this.#keys.add(key);
  }

  /** Forgets `key` now; true when it was remembered. */
  delete(key: string): boolean {
    return this.#keys.delete(key);
  }

  get size(): number {
    return this.#keys.size;
  }
}
