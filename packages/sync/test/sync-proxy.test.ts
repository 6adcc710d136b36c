/** The synchronous form of the @managers/sync proxies: `syncProxy(lock).acquire()` blocks. */
import { join } from 'node:path';
import { createWorker, ErrorCode, isSyncProxy, release, syncProxy } from '@managers/core';
import { SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, syncManager } from './helpers';

function thrown(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a throw, but it returned');
}

test('a synchronous Lock: acquire with a timeout blocks, then gives false, as Python', async () => {
  await using manager = await syncManager();
  {
    await using lock = await manager.Lock();
    const sync = syncProxy(lock);
    expect(isSyncProxy(sync)).toBe(false); // a custom proxy's own synchronous form
    expect(sync.acquire()).toBe(true);
    expect(sync.locked()).toBe(true);
    expect(sync.owned()).toBe(true);
    expect(sync.acquire({ blocking: false })).toBe(false);
    const started = Date.now();
    expect(sync.acquire({ timeout: 150 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    sync.release();
    expect(thrown(() => sync.release()).code).toBe(SyncErrorCode.NotHeld);
    {
      using held = sync.hold();
      expect(await lock.locked()).toBe(true);
      void held;
    }
    expect(sync.locked()).toBe(false);
    // a lock held by another thread
    await using other = new Agent(lock);
    expect(await other.call(0, 'acquire')).toBe(true);
    expect(sync.acquire({ timeout: 50 })).toBe(false);
    expect(thrown(() => sync.hold({ timeout: 50 })).code).toBe(SyncErrorCode.Timeout);
    await other.call(0, 'release');
    expect(sync.acquire({ timeout: 1000 })).toBe(true);
    sync.release();
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('a thread blocked in a synchronous acquire() wakes when another thread releases', async () => {
  await using manager = await syncManager();
  {
    await using lock = await manager.Lock();
    expect(await lock.acquire()).toBe(true);
    const worker = createWorker(join(__dirname, 'fixtures', 'sync-lock-worker.ts'), {
      workerData: { lock },
      execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    });
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const done = new Promise<{ got: boolean; owned: boolean; waited: number }>((resolve) =>
      worker.on(
        'message',
        (message: { t: string; got: boolean; owned: boolean; waited: number }) => {
          if (message.t === 'waiting') waiting();
          if (message.t === 'done') resolve(message);
        },
      ),
    );
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await isWaiting;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await lock.release();
    const result = await done;
    expect(result).not.toHaveProperty('error');
    expect(result.got).toBe(true);
    expect(result.owned).toBe(true);
    expect(result.waited).toBeGreaterThanOrEqual(150);
    await exited;
    expect(await lock.locked()).toBe(false);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('synchronous Event, Queue and Map, sharing the proxy reference', async () => {
  await using manager = await syncManager();
  const event = await manager.Event();
  const queue = await manager.Queue();
  const map = await manager.Map();
  const syncEvent = syncProxy(event);
  expect(syncEvent.wait({ timeout: 50 })).toBe(false);
  syncEvent.set();
  expect(syncEvent.wait()).toBe(true);
  const syncQueue = syncProxy(queue);
  syncQueue.put('a');
  syncQueue.put('b');
  expect(syncQueue.qsize()).toBe(2);
  expect(syncQueue.get()).toBe('a');
  expect(await queue.get()).toBe('b');
  expect(thrown(() => syncQueue.get({ timeout: 30 })).code).toBe(SyncErrorCode.QueueEmpty);
  const syncMap = syncProxy(map);
  syncMap.set('k', 1);
  expect(syncMap.get('k')).toBe(1);
  expect(syncMap.size()).toBe(1);
  expect(await manager.numberOfObjects()).toBe(3);
  release(syncEvent);
  expect(event.released).toBe(true);
  expect(thrown(() => syncEvent.isSet()).code).toBe(ErrorCode.ProxyReleased);
  release(queue);
  syncMap[Symbol.dispose]();
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});
