// managers.js: the registry module. The server worker imports it too (as Python's spawn
// re-imports __main__), so it only defines things. Top-level await works here.
import { readFile } from 'node:fs/promises';
import { BaseManager } from '@managers/core';

const words = (await readFile(new URL('./words.txt', import.meta.url), 'utf8')).split(/\s+/);

export class Tally {
  #counts = new Map();
  add(word) {
    const count = (this.#counts.get(word) ?? 0) + 1;
    this.#counts.set(word, count);
    return count;
  }
  total() {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }
  known() {
    return words.filter(Boolean);
  }
}

export const AppManager = BaseManager.register('Tally', { callable: Tally });
