import { SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, sleep, syncManager } from './helpers';

describe('Queue / JoinableQueue (14_queue.py)', () => {
  test('14_queue: qsize/empty/get, Empty after the timeout, get_nowait, Full', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<unknown>();
      await q.put('a');
      await q.put({ b: [1, 2] });
      expect([await q.qsize(), await q.empty()]).toEqual([2, false]);
      expect([await q.get(), await q.get()]).toEqual(['a', { b: [1, 2] }]);
      const started = Date.now();
      const empty = await rejection(q.get({ timeout: 300 }));
      expect(empty.code).toBe(SyncErrorCode.QueueEmpty);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect((await rejection(q.getNowait())).code).toBe(SyncErrorCode.QueueEmpty);
      await using small = await manager.Queue<number>(1);
      await small.put(1);
      expect(await small.full()).toBe(true);
      expect((await rejection(small.put(2, { block: false }))).code).toBe(SyncErrorCode.QueueFull);
      expect((await rejection(small.put(2, { timeout: 50 }))).code).toBe(SyncErrorCode.QueueFull);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('14_queue: a worker puts 0..4, the main thread receives them; join() after taskDone() x4', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<number>();
      await using producer = new Agent(q);
      for (let i = 0; i < 5; i++) await producer.call(0, 'put', i);
      const received: number[] = [];
      for (let i = 0; i < 5; i++) received.push(await q.get());
      expect(received).toEqual([0, 1, 2, 3, 4]);

      await using jq = await manager.JoinableQueue<string>();
      for (const item of ['a', 'b', 'c', 'd']) await jq.put(item);
      await using consumer = new Agent(jq);
      const joined = jq.join();
      for (let i = 0; i < 4; i++) {
        await consumer.call(0, 'get');
        await consumer.call(0, 'taskDone');
      }
      expect(await joined).toBe(true);
      expect(await jq.unfinishedTasks()).toBe(0);
      expect((await rejection(jq.taskDone())).code).toBe(SyncErrorCode.TaskDone);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('14_queue: a proxy put through a queue comes out as a live, counted proxy in another thread', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<unknown>();
      {
        await using lst = await manager.List([1]);
        await q.put(lst);
      }
      expect(await pollUntil(() => manager.numberOfObjects(), 2)).toBe(2);
      await using worker = new Agent(q);
      const [slot, raw, typed] = (await worker.run({
        cmd: 'take',
        slot: 0,
        method: 'get',
        args: [],
      })) as [number, string, string];
      // The token names its proxy class and the worker loaded @managers/sync: it is a ListProxy.
      expect([raw, typed]).toEqual(['ListProxy', 'ListProxy']);
      expect(await worker.call(slot, 'copy')).toEqual([1]);
      // The queue dropped its reference; the worker's connection holds the only one.
      const list = (await manager.entries()).find((entry) => entry.typeid === 'List');
      expect(list?.refcount).toBe(1);
      expect(Object.keys(list?.holders ?? {})).toEqual([expect.stringMatching(/^thread-/)]);
    }
    // Terminating the worker released its reference.
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('one thread blocked in Queue.get while another thread’s calls complete', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<string>();
      await using counter = await manager.Value('i', 0);
      await using blocked = new Agent(q);
      await using busy = new Agent(counter);
      await blocked.start('get', 0, 'get');
      await sleep(50);
      // The worker waits in get(); the server keeps serving everyone else.
      for (let i = 0; i < 20; i++) await busy.call(0, 'add', 1);
      expect(await counter.get()).toBe(20);
      expect(await q.qsize()).toBe(0);
      await q.put('wake up');
      expect(await blocked.outcome('get')).toEqual({ event: 'get', ok: true, value: 'wake up' });
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('AbortSignal cancels a waiting get in the server; no item is lost', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<number>();
      const controller = new AbortController();
      const waiting = q.get({ signal: controller.signal });
      await sleep(20);
      controller.abort();
      expect((await rejection(waiting)).code).toBe(SyncErrorCode.Aborted);
      await q.put(1);
      expect(await q.get({ timeout: 100 })).toBe(1);
      expect((await rejection(q.get({ signal: AbortSignal.abort() }))).code).toBe(
        SyncErrorCode.Aborted,
      );
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('for await takes items until shutdown(); waiters of a dead thread are removed', async () => {
    await using manager = await syncManager();
    {
      await using q = await manager.Queue<number>();
      {
        await using doomed = new Agent(q);
        await doomed.start('get', 0, 'get');
        await sleep(50);
      } // terminated while waiting in get()
      await sleep(50);
      await using producer = new Agent(q);
      for (let i = 0; i < 3; i++) await producer.call(0, 'put', i);
      await producer.call(0, 'shutdown');
      const seen: number[] = [];
      for await (const item of q) seen.push(item);
      // The dead thread's get() did not swallow item 0.
      expect(seen).toEqual([0, 1, 2]);
      expect((await rejection(q.put(9))).code).toBe(SyncErrorCode.QueueShutDown);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
