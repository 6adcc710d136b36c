import { getValue, release, transfer } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { startManager } from './fixtures/managers';
import { eventually, holdersBecome, tableBecomesEmpty, TASKS } from './helpers';

describe('ManagedPool', () => {
  test('a caller that blocks right after run() (Atomics.wait on its task) does not hold the task back', async () => {
    await using manager = await startManager(100);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 1, maxThreads: 1 });
    const counter = await manager.Counter();
    // The first task connects the pool thread; the second one's lease must reach the server
    // before this thread blocks, or the pool thread's first call waits for it.
    await pool.run({ counter, flag: new SharedArrayBuffer(4) }, { name: 'signal' });
    const flag = new SharedArrayBuffer(4);
    const running = pool.run({ counter, flag }, { name: 'signal' });
    await null;
    // 'not-equal': the task signalled before this thread even began to wait (a busy machine).
    expect(['ok', 'not-equal']).toContain(Atomics.wait(new Int32Array(flag), 0, 0, 5000));
    await running;
    expect(await counter.value()).toBe(2);
    release(counter);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
    expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
  });

  test('tasks whose leases end through the caller (calls only) leave no lease and no refusal behind', async () => {
    await using manager = await startManager(10_000);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 2, maxThreads: 2 });
    const counter = await manager.Counter();
    const mag = await manager.Magnifier(3);
    for (let round = 0; round < 5; round++) {
      const runs = Array.from({ length: 40 }, (_, x) => pool.run({ mag, x }, { name: 'scale' }));
      expect(await Promise.all(runs)).toEqual(Array.from({ length: 40 }, (_, x) => 3 * x));
    }
    // Each lease ends once, by the caller's unlend or the pool thread's own give-back,
    // whichever came first; the other is ignored, not refused.
    await holdersBecome(manager, mag.token.id, { main: 1 });
    const trace = await manager.trace();
    expect(trace.filter((event) => event.op === 'reject')).toEqual([]);
    release(counter);
    release(mag);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('a result shaped like the pool thread report comes back as the task returned it', async () => {
    await using manager = await startManager(100);
    await using pool = new ManagedPool({ filename: TASKS, minThreads: 1, maxThreads: 1 });
    const lookalike = {
      '@managers/task-report': { borrowed: ['not-a-lease'], thread: 0, managers: [] },
      value: 'inner',
    };
    // Twice: the second result would go back bare (nothing new to report) if it were not wrapped.
    expect(await pool.run(lookalike, { name: 'echo' })).toEqual(lookalike);
    expect(await pool.run(lookalike, { name: 'echo' })).toEqual(lookalike);
    expect(await pool.run({ plain: 1 }, { name: 'echo' })).toEqual({ plain: 1 });
    expect(await manager.numberOfObjects()).toBe(0);
    expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
  });

  test('two pools of 2 threads run 2,000 tasks on one counter and one list', async () => {
    await using manager = await startManager(100_000);
    await using first = new ManagedPool({ filename: TASKS, minThreads: 2, maxThreads: 2 });
    await using second = new ManagedPool({ filename: TASKS, minThreads: 2, maxThreads: 2 });
    const counter = await manager.Counter();
    const list = await manager.List();
    const runs: Promise<number>[] = [];
    for (let item = 0; item < 2000; item++) {
      const pool = item % 2 === 0 ? first : second;
      runs.push(pool.run({ counter, list, item }));
    }
    const results = await Promise.all(runs);
    expect(results).toEqual([...Array(2000).keys()]);
    expect(await counter.value()).toBe(2000);
    expect(await list.length()).toBe(2000);
    const items = (await getValue<{ items: number[] }>(list)).items;
    expect([...items].sort((a, b) => a - b)).toEqual([...Array(2000).keys()]);

    // Every task released what it received: only the main thread's references are left,
    // although the four pool threads keep their connections.
    await holdersBecome(manager, counter.token.id, { main: 1 });
    await holdersBecome(manager, list.token.id, { main: 1 });

    const trace = await manager.trace();
    // Each task's two proxies were lent to it (no port, no claim): one lease per task.
    const loans = trace.filter((event) => event.op === 'handoff');
    expect(loans.length).toBe(4000);
    expect(loans.every((event) => event.holder.startsWith('lease:main>'))).toBe(true);
    // One connection per pool thread and manager, kept across tasks (a second connection of
    // the same thread would be named `thread-N#2`), and nothing refused.
    expect(trace.filter((event) => event.holder.includes('#'))).toEqual([]);
    expect(trace.some((event) => event.op === 'reject')).toBe(false);

    release(counter);
    release(list);
    await tableBecomesEmpty(manager);
  });

  test('pool threads running 8 tasks at once (concurrentTasksPerWorker) keep every lease and reference exact', async () => {
    await using manager = await startManager(100_000);
    await using pool = new ManagedPool({
      filename: TASKS,
      minThreads: 2,
      maxThreads: 2,
      concurrentTasksPerWorker: 8,
    });
    const counter = await manager.Counter();
    const list = await manager.List();
    const mag = await manager.Magnifier(3);
    const runs: Promise<number>[] = [];
    for (let item = 0; item < 1000; item++) {
      runs.push(
        item % 5 === 0
          ? pool.run({ mag, x: item }, { name: 'scale' }).then((scaled: number) => scaled / 3)
          : pool.run({ counter, list, item }),
      );
    }
    expect(await Promise.all(runs)).toEqual([...Array(1000).keys()]);
    expect(await counter.value()).toBe(800);
    expect(await list.length()).toBe(800);
    await holdersBecome(manager, counter.token.id, { main: 1 });
    await holdersBecome(manager, list.token.id, { main: 1 });
    await holdersBecome(manager, mag.token.id, { main: 1 });
    expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
    release(counter);
    release(list);
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a proxy created in a task and returned works in the main thread, counted once', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    const { mag, scaled } = await pool.run(
      { handle: manager.handle(), coef: 5 },
      { name: 'create' },
    );
    expect(scaled).toBe(5);
    expect(await mag.scale(3)).toBe(15);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    // It can go back into a task, and the count comes back to 1 after it.
    expect(await pool.run({ mag, x: 4 }, { name: 'scale' })).toBe(20);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('a 16 MiB buffer marked with transfer() moves into the task; an unmarked one is copied', async () => {
    await using manager = await startManager();
    await using pool = new ManagedPool({ filename: TASKS, maxThreads: 1 });
    const counter = await manager.Counter();
    const data = new ArrayBuffer(16 * 1024 * 1024);
    const bytes = new Uint8Array(data);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const copy = new ArrayBuffer(1024);
    const result = await pool.run({ data: transfer(data), copy, counter }, { name: 'buffers' });
    expect(result.byteLength).toBe(16 * 1024 * 1024);
    expect(result.sha).toBe(sha);
    expect(result.copyLength).toBe(1024);
    expect(result.counted).toBe(1);
    // The sender's buffer was moved (detached), the unmarked one copied.
    expect(data.byteLength).toBe(0);
    expect(copy.byteLength).toBe(1024);
    // The buffer the task marked came back whole.
    expect(result.back.byteLength).toBe(1024 * 1024);
    expect(result.back[0]).toBe(7);
    await holdersBecome(manager, counter.token.id, { main: 1 });
    release(counter);
    await tableBecomesEmpty(manager);
  });
});
