/**
 * A ManagedPool sends a spare port with a task only when the thread Piscina gives it to has no
 * connection to the task's manager yet: a burst of tasks on a cold pool makes a port per
 * thread, not one per task.
 */
import { MessagePort } from 'node:worker_threads';
import { ArrayTaskQueue } from 'piscina';
import { release } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { startManager } from './fixtures/managers';
import { holdersBecome, tableBecomesEmpty, TASKS } from './helpers';

/**
 * Counts the Piscina task messages posted (`posted`), and those with a MessagePort in their
 * transfer list (`count`: a task carrying a spare port), until disposed.
 */
function countTasksWithPorts(): { readonly count: number; readonly posted: number } & Disposable {
  const spy = jest.spyOn(MessagePort.prototype, 'postMessage');
  const tasks = () =>
    spy.mock.calls.filter(
      ([message]) => typeof message === 'object' && message !== null && 'task' in message,
    );
  return {
    get count() {
      return tasks().filter(
        ([, transfer]) =>
          Array.isArray(transfer) && transfer.some((item) => item instanceof MessagePort),
      ).length;
    },
    get posted() {
      return tasks().length;
    },
    [Symbol.dispose]: () => spy.mockRestore(),
  };
}

/** `count` tasks `{ mag, x }` at once, checked. */
async function scaleAll(pool: ManagedPool, mag: object, count: number): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, x) => pool.run({ mag, x }, { name: 'scale' })),
  );
  expect(results).toEqual(Array.from({ length: count }, (_, x) => 3 * x));
}

describe('ManagedPool: ports go only to threads with no connection yet', () => {
  test('300 tasks at once on a cold pool of 2 threads: a port with the first task of each thread', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 2, maxThreads: 2 });
    const mag = await manager.Magnifier(3);
    {
      using tasksWithPorts = countTasksWithPorts();
      await scaleAll(pool, mag, 300);
      expect(tasksWithPorts.posted).toBe(300);
      expect(tasksWithPorts.count).toBeGreaterThanOrEqual(1);
      expect(tasksWithPorts.count).toBeLessThanOrEqual(2);
    }
    await holdersBecome(manager, mag.token.id, { main: 1 });
    expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('eight tasks per thread at once: a port with each task a thread gets before its first report', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({
      filename: TASKS,
      minThreads: 2,
      maxThreads: 2,
      concurrentTasksPerWorker: 8,
    });
    const mag = await manager.Magnifier(3);
    {
      using tasksWithPorts = countTasksWithPorts();
      await scaleAll(pool, mag, 300);
      expect(tasksWithPorts.posted).toBe(300);
      expect(tasksWithPorts.count).toBeGreaterThanOrEqual(1);
      // Each thread's first eight, and the one Piscina sends it as its first task ends (before
      // the caller reads that task's report): a thread running several tasks at once may start
      // a later one before the one that brought the port (it awaits each task's handler).
      expect(tasksWithPorts.count).toBeLessThanOrEqual(2 * (8 + 1));
    }
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a thread that replaces one that exited gets its port with the first task it is given', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 1, maxThreads: 1 });
    const mag = await manager.Magnifier(3);
    await scaleAll(pool, mag, 10);
    await expect(pool.run({ mag }, { name: 'exit' })).rejects.toThrow(/exit/i);
    {
      // The tasks were lent with no port (the pool's only thread had reported a connection);
      // the new thread gets one with its first task, when Piscina hands it over.
      using tasksWithPorts = countTasksWithPorts();
      await scaleAll(pool, mag, 100);
      expect(tasksWithPorts.count).toBe(1);
    }
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('abortable tasks waiting aside (Piscina keeps them out of its queue) get their port from the thread that replaces a dead one', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 1, maxThreads: 1 });
    const mag = await manager.Magnifier(3);
    await scaleAll(pool, mag, 5);
    // The only thread is taken by a task that ends it; tasks with a signal wait aside meanwhile,
    // and the thread that replaces it (no connection yet) takes them from there.
    const exiting = pool.run({ mag }, { name: 'exit' });
    using tasksWithPorts = countTasksWithPorts();
    const signal = new AbortController().signal;
    const runs = Array.from({ length: 20 }, (_, x) =>
      pool.run({ mag, x }, { name: 'scale', signal }),
    );
    await expect(exiting).rejects.toThrow(/exit/i);
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 20 }, (_, x) => 3 * x));
    // A task that reached the new thread without the port it needed would have been sent again.
    expect(tasksWithPorts.posted).toBe(20);
    expect(tasksWithPorts.count).toBe(1);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('stricterFIFO: a task Piscina puts back at the head of its queue keeps its port', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({
      filename: TASKS,
      minThreads: 2,
      maxThreads: 2,
      stricterFIFO: true,
    });
    const mag = await manager.Magnifier(3);
    // Both threads up, and busy with tasks carrying no proxy: the next task finds no thread.
    await Promise.all([
      pool.run({ ms: 1 }, { name: 'wait' }),
      pool.run({ ms: 1 }, { name: 'wait' }),
    ]);
    using tasksWithPorts = countTasksWithPorts();
    const busy = [pool.run({ ms: 100 }, { name: 'wait' }), pool.run({ ms: 100 }, { name: 'wait' })];
    expect(await pool.run({ mag, x: 2 }, { name: 'scale' })).toBe(6);
    await Promise.all(busy);
    expect(tasksWithPorts.posted).toBe(3); // not sent again for want of a port
    expect(tasksWithPorts.count).toBe(1);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a task Piscina could not post (a value it cannot clone) leaves its thread still needing a port', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 1, maxThreads: 1 });
    const mag = await manager.Magnifier(3);
    await pool.run({ ms: 1 }, { name: 'wait' }); // the thread is up, not connected
    using tasksWithPorts = countTasksWithPorts();
    await expect(pool.run({ mag, x: 1, f: () => 1 }, { name: 'scale' })).rejects.toThrow(
      /could not be cloned/,
    );
    expect(await pool.run({ mag, x: 2 }, { name: 'scale' })).toBe(6);
    // The second task got the port the first never delivered: it was not sent twice.
    expect(tasksWithPorts.posted).toBe(2);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test("the pool's own loadBalancer and taskQueue are still the ones used", async () => {
    await using manager = await startManager(10_000);
    let balanced = 0;
    const taskQueue = new ArrayTaskQueue();
    const push = jest.spyOn(taskQueue, 'push');
    await using pool = new ManagedPool({
      filename: TASKS,
      minThreads: 2,
      maxThreads: 2,
      taskQueue,
      // The last idle thread, or none (the task waits in the queue).
      loadBalancer: (_task, workers) => {
        balanced++;
        return [...workers].reverse().find((worker) => worker.currentUsage === 0) ?? null;
      },
    });
    const mag = await manager.Magnifier(3);
    {
      using tasksWithPorts = countTasksWithPorts();
      await scaleAll(pool, mag, 200);
      expect(tasksWithPorts.count).toBeLessThanOrEqual(2);
    }
    expect(balanced).toBeGreaterThanOrEqual(200);
    expect(push).toHaveBeenCalled();
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });
});
