// managers.ts: the registry module. The server worker loads it too (as Python's spawn
// re-imports __main__), so it only defines things.
import { readFileSync } from 'node:fs';
import { BaseManager, type ProxyFor } from '@managers/core';

const words = readFileSync(new URL('./words.txt', import.meta.url), 'utf8').split(/\s+/);

export class Tally {
  #counts = new Map<string, number>();
  add(word: string): number {
    const count = (this.#counts.get(word) ?? 0) + 1;
    this.#counts.set(word, count);
    return count;
  }
  total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }
  known(): string[] {
    return words.filter(Boolean);
  }
}

export const AppManager = BaseManager.register('Tally', { callable: Tally });

/** The proxy type of a Tally: `add`, `total` and `known`, each returning a Promise. */
export type TallyProxy = ProxyFor<typeof AppManager, 'Tally'>;
