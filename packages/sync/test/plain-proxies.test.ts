/**
 * Owner-aware methods (acquire, release, wait, get, put, …) take a call context first, which
 * the @managers/sync proxies send. A plain proxy (an AutoProxy: a proxy decoded in a thread that
 * did not import @managers/sync) sends the caller's arguments without it: such a call is
 * refused, naming the method, rather than misread (`put({ job: 1 })` queueing undefined).
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { createWorker, withCallOptions, type BaseProxy } from '@managers/core';
import { SyncErrorCode } from '@managers/sync';
import { pollUntil, rejection, syncManager } from './helpers';

test('an owner-aware call without the call context is refused, naming Typeid.method() and asSyncProxy; it keeps nothing', async () => {
  await using manager = await syncManager();
  {
    await using queue = await manager.Queue();
    await using joinable = await manager.JoinableQueue();
    await using lock = await manager.Lock();
    await using rlock = await manager.RLock();
    await using semaphore = await manager.BoundedSemaphore(1);
    await using event = await manager.Event();
    await using condition = await manager.Condition();
    await using barrier = await manager.Barrier(1);
    await joinable.put('unfinished');
    {
      await using carried = await manager.List([1]);
      // What a plain proxy sends: the caller's own arguments, no context before them.
      const calls: [BaseProxy, string, string, unknown[]][] = [
        [queue, 'Queue', 'put', [{ job: 1 }]],
        [queue, 'Queue', 'put', [carried]],
        [queue, 'Queue', 'putNowait', [{ wait: 'an item with a wait field' }]],
        [queue, 'Queue', 'get', [{ block: false }]],
        [queue, 'Queue', 'getNowait', []],
        [joinable, 'JoinableQueue', 'join', [{ timeout: 1 }]],
        [lock, 'Lock', 'acquire', [{ blocking: false }]],
        [lock, 'Lock', 'release', []],
        [rlock, 'RLock', 'owned', [carried]],
        [semaphore, 'BoundedSemaphore', 'acquire', [{ blocking: false }]],
        [event, 'Event', 'wait', [{ timeout: 1 }]],
        [condition, 'Condition', 'acquire', [{}]],
        [condition, 'Condition', 'wait', [null]],
        [condition, 'Condition', 'notify', [1]],
        [condition, 'Condition', 'notifyAll', ['x']],
        [condition, 'Condition', 'release', []],
        [barrier, 'Barrier', 'wait', [{ timeout: 1 }]],
      ];
      for (const [proxy, typeid, method, args] of calls) {
        const refused = await rejection(proxy.callMethod(method, args));
        expect(refused.code).toBe(SyncErrorCode.InvalidOption);
        expect(refused.message).toContain(`${typeid}.${method}() needs the call context`);
        expect(refused.message).toContain('asSyncProxy(proxy)');
      }
    }
    expect(await queue.qsize()).toBe(0);
    expect(await joinable.unfinishedTasks()).toBe(1);
    expect(await lock.locked()).toBe(false);
    expect(await semaphore.value()).toBe(1);
    // The List passed where the context goes was released with the refused calls.
    expect(await pollUntil(() => manager.numberOfObjects(), 8)).toBe(8);
    // The proxies' own calls send the context.
    await queue.put({ job: 1 });
    expect(await queue.get()).toEqual({ job: 1 });
    expect(await barrier.wait()).toBe(0);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('in a thread that did not import @managers/sync, queue.put({ job }) and lock.acquire({ blocking: false }) fail clearly', async () => {
  await using manager = await syncManager();
  {
    await using queue = await manager.Queue();
    await using lock = await manager.Lock();
    await using map = await manager.Map();
    expect(await lock.acquire()).toBe(true);
    const worker = createWorker(join(__dirname, 'fixtures', 'plain-worker.ts'), {
      workerData: { queue, lock, map },
      execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    });
    const [result] = (await once(worker, 'message')) as [Record<string, Record<string, string>>];
    await worker.terminate();
    expect(result.proxy).toMatch(/^<AutoProxy\[Queue\]/);
    expect(result.put).toMatchObject({ code: SyncErrorCode.InvalidOption });
    expect(result.put!.message).toMatch(
      /^Queue\.put\(\) needs the call context a @managers\/sync proxy sends first, got an object: .*asSyncProxy\(proxy\), or import '@managers\/sync' in that thread; instead of withCallOptions\(\), give the method its own options/,
    );
    expect(result.acquire).toMatchObject({ code: SyncErrorCode.InvalidOption });
    expect(result.acquire!.message).toMatch(/^Lock\.acquire\(\) needs the call context/);
    expect(result.set).toEqual({ value: undefined });
    expect(await queue.qsize()).toBe(0);
    expect(await map.get('from')).toBe('worker');
    await lock.release();
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('withCallOptions() of a Queue: its owner-aware methods are refused naming the method’s own options; plain ones work', async () => {
  await using manager = await syncManager();
  {
    await using queue = await manager.Queue();
    await queue.put('item');
    const timed = withCallOptions(queue, { timeout: 1000 });
    const refused = await rejection(timed.get());
    expect(refused.code).toBe(SyncErrorCode.InvalidOption);
    expect(refused.message).toContain(
      'instead of withCallOptions(), give the method its own options',
    );
    expect(await timed.qsize()).toBe(1); // a plain method goes through
    expect(await queue.get({ timeout: 1000 })).toBe('item'); // the way to time a wait
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});
