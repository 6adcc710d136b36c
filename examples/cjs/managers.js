// managers.js: the registry module. The server worker loads it too (as Python's spawn
// re-imports __main__), so it only defines things.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { BaseManager } = require('@managers/core');

const words = readFileSync(join(__dirname, 'words.txt'), 'utf8').split(/\s+/);

class Tally {
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

const AppManager = BaseManager.register('Tally', { callable: Tally });

module.exports = { Tally, AppManager };
