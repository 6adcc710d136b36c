/**
 * Timeouts of 2^31 ms (about 24.9 days) or more wait their full time, as Python's do: Node's
 * setTimeout takes at most 2^31-1 ms and fires a longer one after 1 ms.
 */
import { SERVER_CALLER, WaitList, type WaitEnd } from '../src/objects/owners';
import { pollUntil, sleep, syncManager } from './helpers';

const LONG = 2 ** 31;

test('every wait given a timeout of 2^31 ms or more, or Infinity, still waits until completed', async () => {
  await using manager = await syncManager();
  {
    await using queue = await manager.Queue<string>();
    await using full = await manager.Queue<string>(1);
    await using joinable = await manager.JoinableQueue<string>();
    await using lock = await manager.Lock();
    await using semaphore = await manager.Semaphore(0);
    await using event = await manager.Event();
    await using condition = await manager.Condition();
    await using barrier = await manager.Barrier(2, LONG); // its default timeout
    await full.put('first');
    await joinable.put('job');
    expect(await lock.acquire()).toBe(true);
    expect(await condition.acquire()).toBe(true);
    const settled: string[] = [];
    const track = <T>(name: string, promise: Promise<T>) =>
      promise.finally(() => settled.push(name));
    const waits = {
      get: track('get', queue.get({ timeout: LONG })),
      put: track('put', full.put('second', { timeout: 2 ** 40 })),
      join: track('join', joinable.join({ timeout: LONG })),
      acquire: track('acquire', lock.acquire({ timeout: LONG })),
      semaphore: track('semaphore', semaphore.acquire({ timeout: Number.MAX_SAFE_INTEGER })),
      event: track('event', event.wait({ timeout: LONG })),
      forever: track('forever', event.wait({ timeout: Infinity })),
      condition: track('condition', condition.wait({ timeout: LONG })),
      barrier: track('barrier', barrier.wait()),
    };
    await sleep(300);
    expect(settled).toEqual([]);
    expect(await barrier.broken()).toBe(false);

    await queue.put('item');
    expect(await waits.get).toBe('item');
    expect(await full.get()).toBe('first');
    await waits.put;
    expect(await full.get()).toBe('second');
    expect(await joinable.get()).toBe('job');
    await joinable.taskDone();
    expect(await waits.join).toBe(true);
    await lock.release();
    expect(await waits.acquire).toBe(true);
    await lock.release();
    await semaphore.release();
    expect(await waits.semaphore).toBe(true);
    await event.set();
    expect([await waits.event, await waits.forever]).toEqual([true, true]);
    expect(await condition.acquire()).toBe(true);
    await condition.notify();
    await condition.release();
    expect(await waits.condition).toBe(true);
    await condition.release();
    expect((await Promise.all([waits.barrier, barrier.wait()])).sort()).toEqual([0, 1]);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('a WaitList timeout longer than a timer can hold ends at its deadline, not before', () => {
  jest.useFakeTimers();
  try {
    const waits = new WaitList<boolean>();
    const who = { owner: SERVER_CALLER, wait: undefined, call: undefined };
    const ended: [string, WaitEnd][] = [];
    const add = (name: string, timeout: number) =>
      void waits.add(who, timeout, (why, _reject, resolve) => {
        ended.push([name, why]);
        resolve(false);
      });
    add('2^32 + 5', 2 ** 32 + 5);
    add('2^31 - 1', 2 ** 31 - 1);
    add('Infinity', Infinity);
    jest.advanceTimersByTime(2 ** 31 - 2);
    expect(ended).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ended).toEqual([['2^31 - 1', 'timeout']]);
    jest.advanceTimersByTime(2 ** 31);
    expect(ended).toHaveLength(1);
    jest.advanceTimersByTime(6);
    expect(ended).toEqual([
      ['2^31 - 1', 'timeout'],
      ['2^32 + 5', 'timeout'],
    ]);
    // Infinity: no timer at all.
    expect(jest.getTimerCount()).toBe(0);
    expect(waits.length).toBe(1);
    waits.endAll('disposed');
    expect(ended.at(-1)).toEqual(['Infinity', 'disposed']);
  } finally {
    jest.useRealTimers();
  }
});
