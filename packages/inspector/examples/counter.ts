/**
 * The README's example: a manager with one Counter, inspected until Ctrl-C.
 *
 *   npx tsx --conditions=@managers/source packages/inspector/examples/counter.ts
 */
import { isMainThread } from 'node:worker_threads';
import { BaseManager, release } from '@managers/core';
import { startInspector } from '@managers/inspector';

export class Counter {
  #value = 0;
  increment(): number {
    return ++this.#value;
  }
  toString(): string {
    return `Counter(${this.#value})`;
  }
}

// The server worker loads this module for the registrations (as Python's spawn re-imports __main__).
export const CounterManager = BaseManager.register('Counter', { callable: Counter });

async function main(): Promise<void> {
  // In an ES module (no __filename there): { module: import.meta.url }.
  await using manager = await CounterManager.start({ module: __filename });
  await using inspector = await startInspector(manager); // 127.0.0.1, a free port
  console.log(`open ${inspector.url} (Ctrl-C to stop)`);
  const counter = await manager.Counter();
  const ticks = setInterval(() => void counter.increment(), 1000);
  await new Promise((resolve) => process.once('SIGINT', resolve));
  clearInterval(ticks);
  release(counter);
}

// Only in the main thread: the server worker imports this module too.
if (isMainThread) void main();
