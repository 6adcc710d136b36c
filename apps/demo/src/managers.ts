/**
 * The demo's registry module: the manager class and the types it hosts. The server worker
 * loads this module too (as Python's spawn re-imports `__main__`), so it must have no side
 * effects beyond defining things.
 */
import { BaseManager, isProxy, release } from '@managers/core';

/** The article's Magnifier. */
export class Magnifier {
  constructor(private readonly coef = 2) {}

  scale(x: number): number {
    return x * this.coef;
  }

  clone(): Magnifier {
    return new Magnifier(this.coef);
  }

  spawn(coef: number): number {
    return coef;
  }

  toString(): string {
    return `Magnifier(coef=${this.coef})`;
  }
}

const mags = new Map<number, Magnifier>();

/** mag.py's cached factory: `Mag(2)` twice is the same object, so the same id (R7). */
export function Mag(coef: number): Magnifier {
  let mag = mags.get(coef);
  if (mag === undefined) mags.set(coef, (mag = new Magnifier(coef)));
  return mag;
}

/** A counter shared by threads. */
export class Counter {
  #value = 0;

  increment(by = 1): number {
    this.#value += by;
    return this.#value;
  }

  value(): number {
    return this.#value;
  }

  toString(): string {
    return `Counter(${this.#value})`;
  }
}

/**
 * A shelf of named things: the proxies put on it become server-side proxies (their references
 * belong to the `server` holder), which the inspector draws as the object graph.
 */
export class Shelf {
  readonly items = new Map<string, unknown>();

  constructor(private readonly label = 'shelf') {}

  put(name: string, value: unknown): number {
    const old = this.items.get(name);
    this.items.set(name, value);
    if (old !== value && isProxy(old)) release(old);
    return this.items.size;
  }

  remove(name: string): boolean {
    const old = this.items.get(name);
    const removed = this.items.delete(name);
    if (isProxy(old)) release(old);
    return removed;
  }

  toString(): string {
    return `Shelf(${this.label}: ${[...this.items.keys()].join(', ')})`;
  }
}

export const DemoManager = BaseManager.register('Magnifier', {
  callable: Magnifier,
  methodToTypeid: { spawn: 'Magnifier', clone: 'ClonedMagnifier' },
})
  .register('ClonedMagnifier', {
    callable: null,
    exposed: ['scale', 'clone', 'spawn'],
    methodToTypeid: { spawn: 'Magnifier', clone: 'ClonedMagnifier' },
    createMethod: false,
  })
  .register('Mag', { callable: Mag })
  .register('Counter', { callable: Counter })
  .register('Shelf', { callable: Shelf });
