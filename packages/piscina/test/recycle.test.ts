import { release } from '@managers/core';
import { defineTask, ManagedPool } from '@managers/piscina';
import { startManager } from './fixtures/managers';
import {
  eventually,
  holdersBecome,
  holdersOf,
  tableBecomesEmpty,
  TASKS,
  threadOf,
} from './helpers';

/** Settles `promise` and returns its rejection (undefined if it resolved). */
function rejectionOf(
  promise: Promise<unknown>,
): Promise<(Error & Record<string, unknown>) | undefined> {
  return promise.then(
    () => undefined,
    (error: Error & Record<string, unknown>) => error,
  );
}

describe('pool threads come and go: what they held is released (R4)', () => {
  test('destroy(): a running task and a proxy kept across tasks (retain) are released', async () => {
    await using manager = await startManager();
    const pool = new ManagedPool({ filename: TASKS, minThreads: 2, maxThreads: 2 });
    try {
      const mag = await manager.Magnifier(2);
      const id = mag.token.id;
      // Two tasks keep their proxy in their thread after they end; a third never ends.
      expect(await pool.run({ mag }, { name: 'keep' })).toBe(1);
      const hanging = rejectionOf(pool.run({ mag }, { name: 'hang' }));
      await eventually(
        async () =>
          Object.values(await holdersOf(manager, id)).reduce((sum, count) => sum + count, 0) === 3,
      );
      expect((await holdersOf(manager, id)).main).toBe(1);
      await pool.destroy();
      expect((await hanging)?.message).toMatch(/terminat/i);
      await holdersBecome(manager, id, { main: 1 });
      const causes = (await manager.trace())
        .filter((event) => event.op === 'release-holder')
        .map((event) => event.cause);
      expect(causes.some((cause) => /connection closed: thread-/.test(cause))).toBe(true);
      expect(await mag.scale(4)).toBe(8);
      release(mag);
      await tableBecomesEmpty(manager);
    } finally {
      await pool.destroy();
    }
  });

  test('defineTask(fn, { release: false }) keeps the proxies a task receives, used or not, past the caller release', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    for (const call of [true, false]) {
      const mag = await manager.Magnifier(2);
      expect(await pool.run({ mag, call }, { name: 'storeUnreleased' })).toBe(call ? 2 : 0);
      expect(await pool.run({ x: 3, drop: false }, { name: 'useUnreleased' })).toBe(6);
      // The caller lets go: the pool thread's own reference keeps the object.
      release(mag);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await manager.numberOfObjects()).toBe(1);
      expect(await pool.run({ x: 4, drop: true }, { name: 'useUnreleased' })).toBe(8);
      await tableBecomesEmpty(manager);
    }
  });

  test('a task calling process.exit: its thread goes, its references with it; the pool goes on', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    const mag = await manager.Magnifier(3);
    const error = await rejectionOf(pool.run({ mag }, { name: 'exit' }));
    expect(error?.message).toMatch(/exit/i);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    // A new thread takes over, with a connection of its own.
    expect(await pool.run({ mag, x: 5 }, { name: 'scale' })).toBe(15);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('idle timeout: a retired thread gives back the proxies it kept', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({
      filename: TASKS,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 200,
    });
    const mag = await manager.Magnifier(2);
    expect(await pool.run({ mag }, { name: 'keep' })).toBe(1);
    const thread = await threadOf(manager, mag.token.id);
    expect(await holdersOf(manager, mag.token.id)).toEqual({ main: 1, [thread]: 1 });
    await eventually(async () => pool.threads.length === 0, 5000);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('resourceLimits: a thread out of memory gives back its references', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({
      filename: TASKS,
      maxThreads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    const mag = await manager.Magnifier(2);
    const error = await rejectionOf(pool.run({ mag }, { name: 'oom' }));
    expect(error?.code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a task that throws releases what it received; its error keeps name, message and code', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    const mag = await manager.Magnifier(2);
    const error = await rejectionOf(pool.run({ mag }, { name: 'fail' }));
    expect(error?.message).toBe('task failed on purpose');
    expect(error?.code).toBe('ERR_TASK');
    expect(error?.name).toBe('Error');
    expect(String((error as { remoteStack?: string })?.remoteStack)).toMatch(/tasks\.ts/);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a task aborted while queued is never posted: the references taken for it are dropped', async () => {
    await using manager = await startManager();
    const pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    try {
      const mag = await manager.Magnifier(2);
      const busy = pool.run({ mag }, { name: 'hang' }).catch(() => undefined);
      const controller = new AbortController();
      const queued = pool.run({ mag }, { name: 'scale', signal: controller.signal });
      // Two loans (a task's proxies are lent to it): the running task's and the queued one's.
      await eventually(
        async () => (await manager.trace()).filter((event) => event.op === 'handoff').length === 2,
      );
      controller.abort();
      await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
      // The running task's lease holds one reference; the queued one's lease is gone.
      await eventually(async () => {
        const holders = await holdersOf(manager, mag.token.id);
        const names = Object.keys(holders);
        return (
          holders.main === 1 &&
          names.length === 2 &&
          names.some((name) => name.startsWith('lease:main>'))
        );
      });
      await pool.destroy();
      await busy;
      await holdersBecome(manager, mag.token.id, { main: 1 });
      release(mag);
      await tableBecomesEmpty(manager);
    } finally {
      await pool.destroy();
    }
  });

  test("atomics: 'sync' is refused (idle pool threads could not hear from the server)", () => {
    // A type error too; JavaScript callers get the error at run time.
    // @ts-expect-error 'sync' is not a ManagedPool atomics mode
    expect(() => new ManagedPool({ filename: TASKS, atomics: 'sync' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });

  test('bad constructor options and defineTask arguments name the problem', () => {
    const refused = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error as { code: string; message: string };
      }
      throw new Error('expected a throw');
    };
    expect(refused(() => new ManagedPool(null as never))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'ManagedPool(options): options must be an object, got null',
    });
    expect(refused(() => new ManagedPool({ filename: 42 as never })).message).toBe(
      "ManagedPool(options): options.filename must be the task file's path, a file: URL string or a URL, got 42",
    );
    expect(refused(() => defineTask(42 as never)).message).toBe(
      'defineTask(fn): fn must be the task function, got 42',
    );
    expect(refused(() => defineTask(() => 1, { relase: false } as never)).message).toContain(
      "unknown option 'relase'",
    );
    expect(refused(() => defineTask(() => 1, { release: 'no' } as never)).message).toContain(
      'options.release must be a boolean',
    );
  });
});
