/**
 * A bounded memory of keys (leases that ended, handoffs spent): past `max` keys remembered, the
 * oldest is forgotten; a key deleted (or forgotten) frees its place, and one added again counts
 * from then. The order is kept in a queue of (key, generation) entries, where an entry whose key
 * was deleted or added again since is stale and skipped, not found by reading the set from its
 * start: a `Set` leaves a hole where a key was deleted until it grows again, so reading its
 * first key after tens of thousands of deletions skips them all (20–30 µs per key at 65,536,
 * once a long-running server has ended that many leases).
 */
export class RecentKeys {
  /** Each key remembered, with the generation of its entry in the queue. */
  readonly #keys = new Map<string, number>();
  /** The queue: keys in the order they came, and each entry's generation (two arrays, no objects). */
  #queueKeys: string[] = [];
  #queueGenerations: number[] = [];
  /** The queue's first entry not yet read (entries before it are done with). */
  #head = 0;
  #generation = 0;

  constructor(readonly max: number) {}

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    if (this.#keys.has(key)) return;
    const generation = ++this.#generation;
    this.#keys.set(key, generation);
    this.#queueKeys.push(key);
    this.#queueGenerations.push(generation);
    while (this.#keys.size > this.max) {
      const oldest = this.#queueKeys[this.#head]!;
      if (this.#keys.get(oldest) === this.#queueGenerations[this.#head]) this.#keys.delete(oldest);
      this.#head++;
    }
    // Dropped from the front now and then, stale entries with it: each add stays O(1) on average.
    if (this.#head > this.max || this.#queueKeys.length - this.#head > 2 * this.max + 16)
      this.#compact();
  }

  /** Forgets `key` now (its place is free); true when it was remembered. */
  delete(key: string): boolean {
    return this.#keys.delete(key);
  }

  get size(): number {
    return this.#keys.size;
  }

  #compact(): void {
    const keys = this.#queueKeys;
    const generations = this.#queueGenerations;
    let kept = 0;
    for (let index = this.#head; index < keys.length; index++) {
      if (this.#keys.get(keys[index]!) !== generations[index]) continue;
      keys[kept] = keys[index]!;
      generations[kept] = generations[index]!;
      kept++;
    }
    keys.length = kept;
    generations.length = kept;
    this.#head = 0;
  }
}
