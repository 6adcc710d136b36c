/**
 * Options objects are checked. A Python-style positional argument (`lock.acquire(false)`,
 * `event.wait(200)`) read as an options object means "no options", and the call blocks for
 * ever; an unknown key (`{ blockng: false }`) or a value of the wrong type (`reverse: 'yes'`)
 * was ignored the same way. Each is refused with ERR_INVALID_OPTION naming the method.
 */
import { syncProxy, type BaseProxy } from '@managers/core';
import { SyncErrorCode, ShareableList } from '@managers/sync';
import { pollUntil, syncManager } from './helpers';

interface Refusal {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Expects `promise` to reject within `ms` (a call whose options were ignored would resolve, or
 * wait for ever); returns the error.
 */
async function refused(promise: Promise<unknown>, ms = 2000): Promise<Refusal> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    pending,
  ]);
  clearTimeout(timer);
  if (outcome === 'pending') throw new Error(`still waiting after ${ms} ms: the call blocks`);
  if ('value' in outcome) throw new Error(`resolved with ${String(outcome.value)}`);
  return outcome.error as Refusal;
}

function thrown(run: () => unknown): Refusal {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return error as Refusal;
  }
  throw new Error(`expected a throw, but it returned ${String(result)}`);
}

/** Calls with a type the signature refuses (what JavaScript or a cast passes). */
const as = <T>(value: unknown): T => value as T;

describe('a Python-style positional argument where options go is refused, naming the Node form', () => {
  test('Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Queue, JoinableQueue, List', async () => {
    await using manager = await syncManager();
    {
      await using lock = await manager.Lock();
      await using rlock = await manager.RLock();
      await using semaphore = await manager.Semaphore(1);
      await using bounded = await manager.BoundedSemaphore(1);
      await using condition = await manager.Condition();
      await using event = await manager.Event();
      await using barrier = await manager.Barrier(1);
      await using queue = await manager.Queue<string>();
      await using joinable = await manager.JoinableQueue<string>();
      await using list = await manager.List([3, 1, 2]);
      await event.set(); // so that an ignored option would resolve, not wait
      await queue.put('item');

      const acquire = await refused(lock.acquire(as(false)));
      expect(acquire.code).toBe(SyncErrorCode.InvalidOption);
      expect(acquire.message).toBe(
        "Lock.acquire(options): options must be an object such as { blocking: false } or { timeout: 200 }, got false (Python's acquire(False) is acquire({ blocking: false }))",
      );
      expect(acquire.details).toMatchObject({ option: 'options' });

      const cases: [string, Promise<unknown>, string][] = [
        ['RLock.acquire(options)', rlock.acquire(as(false)), "Python's acquire(False)"],
        [
          'Semaphore.acquire(options)',
          semaphore.acquire(as(200)),
          "Python's acquire(timeout=0.2) is acquire({ timeout: 200 })",
        ],
        ['BoundedSemaphore.acquire(options)', bounded.acquire(as(null)), 'got null'],
        ['Lock.hold(options)', lock.hold(as(false)), "Python's acquire(False) is hold("],
        ['Condition.acquire(options)', condition.acquire(as(true)), "Python's acquire(True)"],
        [
          'Event.wait(options)',
          event.wait(as(200)),
          "got 200 (Python's wait(0.2) is wait({ timeout: 200 }): timeouts are in milliseconds)",
        ],
        ['Barrier.wait(options)', barrier.wait(as(200)), "Python's wait(0.2) is wait("],
        [
          'Queue.get(options)',
          queue.get(as(false)),
          "got false (Python's get(False) is get({ block: false }))",
        ],
        [
          'Queue.put(item, options)',
          queue.put('x', as(false)),
          "Python's put(item, False) is put(item, { block: false })",
        ],
        ['JoinableQueue.get(options)', joinable.get(as(200)), "Python's get(timeout=0.2)"],
        ['JoinableQueue.join(options)', joinable.join(as(200)), 'such as { timeout: 200 }'],
        [
          'Queue.shutdown(options)',
          queue.shutdown(as(true)),
          "Python's shutdown(True) is shutdown({ immediate: true })",
        ],
        [
          'List.sort(options)',
          list.sort(as(true)),
          "Python's sort(reverse=True) is sort({ reverse: true })",
        ],
        ['Queue.get(options)', queue.get(as(new AbortController().signal)), 'got an AbortSignal'],
        ['Queue.iterate(options)', queue.iterate(as(false)).next(), 'such as { signal }'],
      ];
      for (const [call, promise, text] of cases) {
        const error = await refused(promise);
        expect(error.code).toBe(SyncErrorCode.InvalidOption);
        expect(error.message).toContain(`${call}: options must be`);
        expect(error.message).toContain(text);
      }

      // A Condition's wait and waitFor with the lock held (an ignored timeout waits for ever).
      expect(await condition.acquire()).toBe(true);
      expect((await refused(condition.wait(as(200)))).message).toContain(
        "Condition.wait(options): options must be an object such as { timeout: 200 }, got 200 (Python's wait(0.2) is wait({ timeout: 200 })",
      );
      expect((await refused(condition.waitFor(() => false, as(200)))).message).toContain(
        "Condition.waitFor(predicate, options): options must be an object such as { timeout: 200 }, got 200 (Python's wait_for(predicate, 0.2) is waitFor(predicate, { timeout: 200 })",
      );
      expect((await refused(condition.waitFor(as(200)))).message).toBe(
        'Condition.waitFor(predicate, options): predicate must be a function (it runs in the caller), got 200',
      );
      await condition.release();

      // Nothing happened: no lock taken, no item moved, the queue still open, the list as it was.
      expect([await lock.locked(), await rlock.locked()]).toEqual([false, false]);
      expect([await semaphore.value(), await bounded.value()]).toEqual([1, 1]);
      expect([await queue.qsize(), await queue.isShutdown()]).toEqual([1, false]);
      expect(await list.copy()).toEqual([3, 1, 2]);
      expect(await barrier.broken()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('the synchronous form throws at once: syncProxy(lock).acquire(false) does not block', async () => {
    await using manager = await syncManager();
    {
      await using lock = await manager.Lock();
      await using queue = await manager.Queue<string>();
      await using condition = await manager.Condition();
      await using event = await manager.Event();
      await event.set();
      await queue.put('item');
      const sync = syncProxy(lock);
      const acquire = thrown(() => sync.acquire(as(false)));
      expect(acquire.code).toBe(SyncErrorCode.InvalidOption);
      expect(acquire.message).toContain(
        "Lock.acquire(options): options must be an object such as { blocking: false } or { timeout: 200 }, got false (Python's acquire(False) is acquire({ blocking: false }))",
      );
      expect(thrown(() => sync.acquire(as({ blockng: false }))).message).toBe(
        "Lock.acquire(options): unknown option 'blockng' (did you mean 'blocking'?)",
      );
      expect(thrown(() => sync.hold(as(false))).message).toContain('Lock.hold(options)');
      expect(thrown(() => syncProxy(queue).get(as(false))).message).toContain(
        "Python's get(False) is get({ block: false })",
      );
      expect(thrown(() => syncProxy(event).wait(as(200))).message).toContain(
        'Event.wait(options): options must be an object',
      );
      const syncCondition = syncProxy(condition);
      expect(syncCondition.acquire()).toBe(true);
      expect(thrown(() => syncCondition.waitFor(() => false, as(200))).message).toContain(
        'Condition.waitFor(predicate, options): options must be an object',
      );
      syncCondition.release();
      expect(await lock.locked()).toBe(false);
      expect(await queue.qsize()).toBe(1);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});

describe('unknown option keys and values of the wrong type are refused', () => {
  test('a suggestion for a misspelt key; the option named for a wrong type; nothing done', async () => {
    await using manager = await syncManager();
    {
      await using lock = await manager.Lock();
      await using queue = await manager.Queue<string>();
      await using list = await manager.List([3, 1, 2]);
      await using event = await manager.Event();
      await event.set();
      await queue.put('item');

      const blockng = await refused(lock.acquire(as({ blockng: false })));
      expect(blockng.code).toBe(SyncErrorCode.InvalidOption);
      expect(blockng.message).toBe(
        "Lock.acquire(options): unknown option 'blockng' (did you mean 'blocking'?)",
      );
      expect(blockng.details).toMatchObject({ option: 'blockng', suggestion: 'blocking' });
      expect((await refused(queue.get(as({ timeout: 100, blok: false })))).message).toBe(
        "Queue.get(options): unknown option 'blok' (did you mean 'block'?)",
      );
      // Python's name of the other method's flag.
      expect((await refused(queue.get(as({ blocking: false })))).message).toBe(
        "Queue.get(options): unknown option 'blocking' (did you mean 'block'?)",
      );
      expect((await refused(list.sort(as({ revers: true })))).message).toBe(
        "List.sort(options): unknown option 'revers' (did you mean 'reverse'?)",
      );
      expect((await refused(event.wait(as({ timeot: 5, x: 1 })))).message).toBe(
        "Event.wait(options): unknown options 'timeot' (did you mean 'timeout'?), 'x'",
      );

      const reverse = await refused(list.sort(as({ reverse: 'yes' })));
      expect(reverse.message).toBe(
        "List.sort(options): options.reverse must be a boolean, got 'yes'",
      );
      expect(reverse.details).toMatchObject({ option: 'reverse' });
      expect((await refused(lock.acquire(as({ blocking: 0 })))).message).toBe(
        'Lock.acquire(options): options.blocking must be a boolean, got 0',
      );
      expect((await refused(queue.get(as({ timeout: '100' })))).message).toBe(
        "Queue.get(options): options.timeout must be a non-negative number of milliseconds or null, got '100'",
      );
      expect((await refused(queue.get(as({ signal: 'stop' })))).message).toBe(
        "Queue.get(options): options.signal must be an AbortSignal, got 'stop'",
      );
      expect((await refused(queue.shutdown(as({ immediate: 1 })))).message).toBe(
        'Queue.shutdown(options): options.immediate must be a boolean, got 1',
      );

      // A key function cannot cross to the server.
      const key = await refused(list.sort(as({ key: (x: number) => -x })));
      expect(key.code).toBe(SyncErrorCode.InvalidOption);
      expect(key.message).toContain(
        "List.sort(options): options.key is not supported: a key function cannot cross to the server; sort the items on the caller's side",
      );
      expect(key.details).toMatchObject({ option: 'key' });
      // Python's default (key=None), and undefined values, count as omitted.
      await list.sort({ key: null, reverse: undefined } as never);
      expect(await list.copy()).toEqual([1, 2, 3]);

      expect(await lock.locked()).toBe(false);
      expect([await queue.qsize(), await queue.isShutdown()]).toEqual([1, false]);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('the server checks what a plain proxy sends: sort({ key }), sort(flag), shutdown(flag), notify(n)', async () => {
    await using manager = await syncManager();
    {
      await using list = await manager.List([1, 3, 2]);
      await using queue = await manager.Queue<string>();
      await using condition = await manager.Condition();
      const plain = (proxy: BaseProxy, method: string, ...args: unknown[]) =>
        proxy.callMethod(method, args);
      // A plain proxy sends a JS options object as it stands: checked as the proxies' are.
      expect((await refused(plain(list, 'sort', { key: 'negate' }))).message).toContain(
        'List.sort(options): options.key is not supported: a key function cannot cross to the server',
      );
      expect((await refused(plain(list, 'sort', { revers: true }))).message).toBe(
        "List.sort(options): unknown option 'revers' (did you mean 'reverse'?)",
      );
      expect((await refused(plain(list, 'sort', 'yes'))).message).toBe(
        "List.sort(reverse): reverse must be a boolean, got 'yes'",
      );
      await plain(list, 'sort', { reverse: true });
      expect(await list.copy()).toEqual([3, 2, 1]);
      expect((await refused(plain(queue, 'shutdown', 'now'))).message).toBe(
        "Queue.shutdown(immediate): immediate must be a boolean, got 'now'",
      );
      expect(await queue.isShutdown()).toBe(false);
      // Condition.notify(n): an integer >= 0 (Python: TypeError / ValueError); { n: 2 } woke nobody.
      expect(await condition.acquire()).toBe(true);
      for (const n of [{ n: 2 }, -1, 1.5, '2']) {
        const error = await refused(condition.notify(as(n)));
        expect(error.code).toBe(SyncErrorCode.InvalidOption);
        expect(error.message).toMatch(/^Condition\.notify\(n\): n must be an integer >= 0, got /);
      }
      await condition.notify(0);
      await condition.release();
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('constructors: SharedMemory, Barrier and ShareableList.create options use the same checks', async () => {
    await using manager = await syncManager();
    {
      expect((await refused(manager.SharedMemory(as({ nmae: 'x' })))).message).toBe(
        "SharedMemory(options): unknown option 'nmae' (did you mean 'name'?)",
      );
      expect((await refused(manager.SharedMemory(as({ create: 'yes', size: 8 })))).message).toBe(
        "SharedMemory(options): options.create must be a boolean, got 'yes'",
      );
      expect((await refused(manager.Barrier(2, as({ timout: 5 })))).message).toBe(
        "Barrier(parties, options): unknown option 'timout' (did you mean 'timeout'?)",
      );
      expect((await refused(manager.Barrier(2, as(true)))).message).toContain(
        'Barrier(parties, options): options must be a timeout in ms, null, or an object',
      );
      const named = await refused(ShareableList.create(manager, [1], as('my-list')));
      expect(named.message).toBe(
        "ShareableList.create(manager, items, options): options must be an object such as { name: 'my-list' }, got 'my-list'",
      );
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
