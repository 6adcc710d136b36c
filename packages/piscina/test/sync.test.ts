/** Synchronous proxies in pool tasks. */
import { join } from 'node:path';
import { release } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { startManager } from './fixtures/managers';
import { tableBecomesEmpty } from './helpers';

const SYNC_TASKS = join(__dirname, 'fixtures', 'sync-tasks.ts');

test('a pool task calls a managed object synchronously; the task releases what it received', async () => {
  await using manager = await startManager();
  await using pool = new ManagedPool({ filename: SYNC_TASKS, minThreads: 2, maxThreads: 2 });
  const counter = await manager.Counter();
  const results = await Promise.all(
    Array.from({ length: 20 }, () => pool.run({ counter, times: 50 })),
  );
  // every task saw its own increments, 1,000 in all, none lost
  expect(Math.max(...results)).toBe(1000);
  expect(new Set(results).size).toBe(20);
  expect(await counter.value()).toBe(1000);
  release(counter);
  await tableBecomesEmpty(manager);
});
