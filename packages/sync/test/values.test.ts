/**
 * Python parity of values: `getValue(proxy)` (Python's `_getvalue()`) gives each container's
 * value, not its private fields; Value converts as Array does (float32 for 'f'); Namespace
 * takes a plain object only; JoinableQueue.join() checks its options.
 */
import { getValue } from '@managers/core';
import { hostedValueSymbol } from '@managers/proxy';
import { SyncErrorCode, type MapKey } from '@managers/sync';
import { pollUntil, rejection, syncManager } from './helpers';

test('getValue(proxy) gives the value of a List, Map, Namespace, Value and Array, as _getvalue()', async () => {
  await using manager = await syncManager();
  {
    await using list = await manager.List([1, 'two', [3]]);
    await using map = await manager.Map<MapKey, unknown>([
      ['a', 1],
      [[1, 'x'], 'tuple key'],
    ]);
    await using ns = await manager.Namespace({ b: 2, a: [1] });
    await using float = await manager.Value('d', 1.5);
    await using big = await manager.Value('q', 2n ** 40n);
    await using char = await manager.Value('c', Uint8Array.of(65));
    await using array = await manager.Array('i', [1, 2, 3]);
    await using bytes = await manager.Array('c', Uint8Array.of(104, 105));

    const items = await getValue<unknown[]>(list);
    expect(items).toEqual([1, 'two', [3]]);
    items.push('local'); // a copy
    expect(await list.length()).toBe(3);
    const entries = await getValue<Map<MapKey, unknown>>(map);
    expect(Object.prototype.toString.call(entries)).toBe('[object Map]'); // from another realm
    expect([...entries]).toEqual([
      ['a', 1],
      [[1, 'x'], 'tuple key'],
    ]);
    expect(await getValue(ns)).toEqual({ a: [1], b: 2 });
    expect(await getValue(float)).toBe(1.5);
    expect(await getValue(big)).toBe(2n ** 40n);
    expect(await getValue(char)).toEqual(Uint8Array.of(65));
    expect(await getValue(array)).toEqual([1, 2, 3]);
    expect(await getValue(bytes)).toEqual(Uint8Array.of(104, 105));
    expect(hostedValueSymbol).toBe(Symbol.for('@managers/hosted-value'));
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('getValue(map) holding a List proxy gives a live, counted proxy, as copy() does', async () => {
  await using manager = await syncManager();
  {
    await using map = await manager.Map<string, unknown>();
    {
      await using inner = await manager.List(['x']);
      await map.set('inner', inner);
    }
    const value =
      await getValue<Map<string, { copy(): Promise<unknown[]> } & AsyncDisposable>>(map);
    const inner = value.get('inner')!;
    expect(await inner.copy()).toEqual(['x']);
    await inner[Symbol.asyncDispose]();
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

/** A value as text that tells -0 from 0 and bytes from numbers. */
function shown(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes ${[...value].join(',')}`;
  if (Object.is(value, -0)) return '-0';
  return `${typeof value} ${String(value)}`;
}

test("Value converts its value as Array does, for every typecode ('f': float32, as Python's ctypes)", async () => {
  await using manager = await syncManager();
  {
    const samples: Record<string, unknown[]> = {
      c: [Uint8Array.of(65), 66],
      b: [-128, 127, -0],
      B: [0, 255],
      h: [-32768, 32767, -0],
      H: [65535],
      i: [-2147483648, 2147483647, -0],
      I: [4294967295],
      l: [-2147483648, -0],
      L: [4294967295],
      q: [-(2n ** 63n), 7, -0],
      Q: [2n ** 64n - 1n],
      f: [0.1, 1e40, -1e40, 1e-50, 16777217, Number.NaN, -0],
      d: [0.1, 1e308, -0, Number.NaN],
    };
    const mismatches: string[] = [];
    for (const [typecode, values] of Object.entries(samples)) {
      for (const value of values) {
        await using single = await manager.Value(typecode, value as number);
        await using array = await manager.Array(typecode, [value as number]);
        const expected = shown(await array.get(0));
        for (const got of [await single.get(), await getValue(single)]) {
          if (shown(got) !== expected)
            mismatches.push(`${typecode} ${shown(value)}: ${shown(got)} (Array: ${expected})`);
        }
        await single.set(value as number);
        if (shown(await single.get()) !== expected)
          mismatches.push(`${typecode} set(${shown(value)}): ${shown(await single.get())}`);
      }
    }
    expect(mismatches).toEqual([]);

    await using f = await manager.Value('f', 0.1);
    expect(await f.get()).toBe(Math.fround(0.1)); // 0.10000000149011612
    expect(await f.add(0.1)).toBe(Math.fround(Math.fround(0.1) + 0.1));
    expect(await f.get()).toBe(Math.fround(Math.fround(0.1) + 0.1));
    await using huge = await manager.Value('f', 1e40);
    expect(await huge.get()).toBe(Infinity);
    await using d = await manager.Value('d', 0.1);
    expect(await d.get()).toBe(0.1);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('Namespace(init) takes a plain object (or nothing); Namespace(5) is refused and keeps nothing', async () => {
  await using manager = await syncManager();
  {
    for (const init of [5, 'ab', true, [1, 2], new Map([['a', 1]])]) {
      const error = await rejection(manager.Namespace(init as never));
      expect(error.code).toBe(SyncErrorCode.InvalidOption);
      expect(error.message).toMatch(
        /^Namespace\(init\): init must be a plain object of attributes such as \{ a: 1 \}, got /,
      );
    }
    expect((await rejection(manager.Namespace({ '': 1 }))).message).toContain(
      'attribute names must be non-empty strings',
    );
    // A proxy carried by a refused init is released with it.
    {
      await using carried = await manager.List([1]);
      await rejection(manager.Namespace([carried] as never));
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await using empty = await manager.Namespace();
    await using none = await manager.Namespace(null as never);
    await using given = await manager.Namespace({ a: 1 });
    expect([await empty.keys(), await none.keys(), await given.toObject()]).toEqual([
      [],
      [],
      { a: 1 },
    ]);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('JoinableQueue.join() options are checked; it resolves true, or false after its timeout', async () => {
  await using manager = await syncManager();
  {
    await using queue = await manager.JoinableQueue<string>();
    expect(await queue.join()).toBe(true); // nothing unfinished
    await queue.put('job');
    expect(await queue.join({ timeout: 50 })).toBe(false);
    expect((await rejection(queue.join(50 as never))).code).toBe('ERR_INVALID_OPTION');
    const joined = queue.join();
    expect(await queue.get()).toBe('job');
    await queue.taskDone();
    expect(await joined).toBe(true);
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test("getValue() of a lock, an event or a queue is refused (Python's _getvalue() cannot pickle one)", async () => {
  await using manager = await syncManager();
  {
    await using lock = await manager.Lock();
    await using event = await manager.Event();
    await using queue = await manager.Queue<number>();
    for (const [proxy, typeid] of [
      [lock, 'Lock'],
      [event, 'Event'],
      [queue, 'Queue'],
    ] as const) {
      const error = await rejection(getValue(proxy));
      expect(error.code).toBe('ERR_UNSERIALIZABLE');
      expect(error.message).toContain(`getValue(): a ${typeid} has no value to copy`);
    }
    // The server goes on.
    expect(await lock.acquire()).toBe(true);
    await lock.release();
  }
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});
