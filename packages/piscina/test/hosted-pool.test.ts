/** manager.Pool(): a ManagedPool hosted by the manager, run from any thread (CPython test_pool). */
import { once } from 'node:events';
import { join } from 'node:path';
import { createWorker, release, typeScriptExecArgv } from '@managers/core';
import type { PoolProxy } from '@managers/piscina';
import { startHostingManager } from './fixtures/hosting-managers';
import { holdersBecome, tableBecomesEmpty, TASKS } from './helpers';

async function rejection(
  promise: Promise<unknown>,
): Promise<{ name: string; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a rejection');
}

describe('manager.Pool() (CPython test_pool: a pool hosted by the manager)', () => {
  test('test_pool: tasks run from the creating thread and from another thread, on one hosted pool', async () => {
    await using manager = await startHostingManager();
    {
      await using pool = await manager.Pool({ filename: TASKS, maxThreads: 2 });
      expect(pool.proxyTypeName).toBe('PoolProxy');
      await using counter = await manager.Counter();
      await using list = await manager.List();
      // Python: pool.apply / pool.map through the manager's proxy.
      expect(await pool.run({ counter, list, item: 0 })).toBe(0);
      expect(await pool.map([1, 2, 3].map((item) => ({ counter, list, item })))).toEqual([1, 2, 3]);

      // Another thread gets the pool proxy and submits to the same pool.
      const worker = createWorker(join(__dirname, 'fixtures', 'pool-user-worker.ts'), {
        workerData: { pool, counter, list, from: 100, count: 20 },
        execArgv: typeScriptExecArgv(),
      });
      const [results] = (await once(worker, 'message')) as [unknown];
      await worker.terminate();
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
      expect(await counter.value()).toBe(24);
      expect(await list.length()).toBe(24);
      const stats = await pool.stats();
      expect(stats.completed).toBe(24);
      expect(stats.threads).toBeGreaterThanOrEqual(1);
      expect(stats.threads).toBeLessThanOrEqual(2);
      // Every task released what it received; the other thread released its copies.
      await holdersBecome(manager, counter.token.id, { main: 1 });
      await holdersBecome(manager, list.token.id, { main: 1 });
      await holdersBecome(manager, pool.token.id, { main: 1 });
    }
    await tableBecomesEmpty(manager);
  });

  test('test_pool: a task returns a proxy it created; task errors keep their code; close()', async () => {
    await using manager = await startHostingManager();
    {
      await using pool = await manager.Pool({ filename: TASKS, maxThreads: 1 });
      const { mag, scaled } = await pool.run<{
        mag: { scale(x: number): Promise<number> } & Disposable;
        scaled: number;
      }>({ handle: manager.handle(), coef: 5 }, { name: 'create' });
      expect(scaled).toBe(5);
      expect(await mag.scale(3)).toBe(15);
      const magId = (mag as unknown as PoolProxy).token.id;
      await holdersBecome(manager, magId, { main: 1 });

      const failed = await rejection(pool.run({ mag }, { name: 'fail' }));
      expect(failed).toMatchObject({
        name: 'Error',
        code: 'ERR_TASK',
        message: 'task failed on purpose',
      });
      await holdersBecome(manager, magId, { main: 1 });
      release(mag);

      await pool.close();
      expect((await pool.stats()).closed).toBe(true);
      const closed = await rejection(pool.run({ x: 1 }, { name: 'scale' }));
      expect(closed.code).toBe('ERR_MANAGER_CLOSED');
      expect(closed.message).toBe('the pool is closed');
    }
    await tableBecomesEmpty(manager);
  });

  test('bad options name the option; a released pool proxy cannot run', async () => {
    await using manager = await startHostingManager();
    const missing = await rejection(manager.Pool({} as never));
    expect(missing.code).toBe('ERR_INVALID_OPTION');
    expect(missing.message).toMatch(
      /options\.filename must be the task file's path \(absolute, or relative to the current directory\) or a file: URL string, got undefined/,
    );
    const unknown = await rejection(manager.Pool({ filename: TASKS, atomics: 'sync' } as never));
    expect(unknown.message).toMatch(/^Pool\(options\): unknown option options\.atomics/);
    // Piscina's own checks come back as option errors too, not as a remote TypeError.
    const zero = await rejection(manager.Pool({ filename: TASKS, maxThreads: 0 }));
    expect(zero.code).toBe('ERR_INVALID_OPTION');
    expect(zero.message).toMatch(/^Pool\(options\): options\.maxThreads must be/);
    const pool = await manager.Pool({ filename: TASKS, maxThreads: 1 });
    const mag = await manager.Magnifier(2);
    expect(await pool.run({ mag, x: 4 }, { name: 'scale' })).toBe(8);
    release(mag);
    release(pool);
    const released = await rejection(pool.run({}));
    expect(released.code).toBe('ERR_PROXY_RELEASED');
    // The pool went with its last proxy (its threads ended).
    await tableBecomesEmpty(manager);
  });

  test('test_pool_initializer: the initializer runs once in each pool thread, before its first task', async () => {
    await using manager = await startHostingManager();
    {
      await using counter = await manager.Counter();
      await using mag = await manager.Magnifier(3);
      await using pool = await manager.Pool({
        filename: TASKS,
        minThreads: 2,
        maxThreads: 2,
        initializer: 'countThread',
        initializerArgs: [counter],
      });
      const results = await pool.map(
        Array.from({ length: 40 }, (_, x) => ({ mag, x })),
        { name: 'scale' },
      );
      expect(results).toEqual(Array.from({ length: 40 }, (_, x) => 3 * x));
      // One increment per thread that ran a task (two threads at most), not one per task.
      const initialized = await counter.value();
      expect(initialized).toBeGreaterThanOrEqual(1);
      expect(initialized).toBeLessThanOrEqual(2);
      expect(await pool.run({ mag, x: 1 }, { name: 'scale' })).toBe(3);
      expect(await counter.value()).toBe(initialized);
      await holdersBecome(manager, mag.token.id, { main: 1 });

      // A failing initializer fails the task (and is tried again by the next one).
      await using failing = await manager.Pool({
        filename: TASKS,
        maxThreads: 1,
        initializer: 'failingInitializer',
      });
      const error = await rejection(failing.run({ mag, x: 1 }, { name: 'scale' }));
      expect(error).toMatchObject({
        name: 'TypeError',
        code: 'ERR_INIT',
        message: 'initializer failed on purpose',
      });
      await holdersBecome(manager, mag.token.id, { main: 1 });
      await using missing = await manager.Pool({
        filename: TASKS,
        maxThreads: 1,
        initializer: 'nope',
      });
      const named = await rejection(missing.run({ mag, x: 1 }, { name: 'scale' }));
      expect(named.code).toBe('ERR_INVALID_OPTION');
      expect(named.message).toMatch(
        /^options\.initializer: 'nope' is not a function exported by the pool's task file /,
      );
      expect(
        (await rejection(manager.Pool({ filename: TASKS, initializer: 3 } as never))).message,
      ).toBe('options.initializer must be the name of a function the task file exports');
    }
    await tableBecomesEmpty(manager);
  });
});
