/** A pool task that is not a defineTask() task: a clear error, and no reference left behind. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isManagerError } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { startManager } from './fixtures/managers';
import { TASKS } from './helpers';

installRefcountMatchers();

const PLAIN = join(__dirname, 'fixtures', 'plain-tasks.ts');

async function failure(promise: Promise<unknown>): Promise<Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, any>;
  }
  throw new Error('expected a rejection');
}

test('a plain function as the default export → ERR_INVALID_OPTION naming defineTask; the task’s proxies are released', async () => {
  await using manager = await startManager(1000);
  await using pool = new ManagedPool({ filename: PLAIN, maxThreads: 1 });
  {
    using counter = await manager.Counter();
    for (let run = 0; run < 3; run++) {
      const error = await failure(pool.run({ counter }));
      expect(error.name).toBe('ManagerError');
      expect(error.code).toBe('ERR_INVALID_OPTION');
      expect(isManagerError(error, 'ERR_INVALID_OPTION')).toBe(true);
      expect(error.message).toBe(
        `the pool's task file ${PLAIN} exports a plain function (plain) as 'default', not a task: ` +
          'wrap the function with defineTask() from @managers/piscina (export default defineTask(fn))',
      );
    }
    expect(await counter.value()).toBe(0); // the plain function never ran
    // No reference left behind by the refused tasks: only this thread's.
    await expect(manager).toHaveRefcount(counter, 1);
  }
  await expect(manager).toHaveNoLiveObjects();
});

test('an export that is not a function, named per run → the same error naming the export', async () => {
  await using manager = await startManager(1000);
  await using pool = new ManagedPool({ filename: pathToFileURL(TASKS), maxThreads: 1 });
  const error = await failure(pool.run({}, { name: 'nope', filename: PLAIN }));
  expect(error.code).toBe('ERR_INVALID_OPTION');
  expect(error.message).toContain(`exports nothing as 'nope', not a task`);
  const other = await failure(pool.run({}, { name: 'notAFunction', filename: PLAIN }));
  expect(other.message).toContain(`exports a number as 'notAFunction', not a task`);
  await expect(manager).toHaveNoLiveObjects();
});
