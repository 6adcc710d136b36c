// managers.js: the registry module, loaded by the server worker and by every client process.
import { BaseManager } from '@managers/core';

export class Counter {
  #value = 0;
  increment(by = 1) {
    this.#value += by;
    return this.#value;
  }
  value() {
    return this.#value;
  }
}

export const AppManager = BaseManager.register('Counter', { callable: Counter });
