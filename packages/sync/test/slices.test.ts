import { SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, syncManager } from './helpers';

/** What CPython 3.11's list did with each slice of list(range(10)) (fixtures/python-slices.py). */
interface Outcome {
  list?: number[];
  result?: number[] | null;
  error?: string;
}
interface Case {
  slice: [number | null, number | null, number | null];
  get: Outcome;
  set: Outcome & { values: number[] };
  setWrong: Outcome & { values: number[] };
  delete: Outcome;
}
const PYTHON = require('./fixtures/python-slices.json') as { python: string; cases: Case[] };

const RANGE = Array.from({ length: 10 }, (_, i) => i);

describe('slices of List and Array (CPython _TestContainers.test_list, _TestArray.test_array)', () => {
  test(`_TestContainers.test_list: getSlice/setSlice/deleteSlice match CPython ${PYTHON.python} for ${PYTHON.cases.length} slices of range(10)`, async () => {
    await using manager = await syncManager();
    {
      await using list = await manager.List<number>(RANGE);
      const mismatches: string[] = [];
      const check = (what: string, expected: unknown, actual: unknown) => {
        if (JSON.stringify(expected) !== JSON.stringify(actual)) {
          mismatches.push(
            `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
          );
        }
      };
      const reset = () => list.setSlice(null, null, RANGE);
      for (const c of PYTHON.cases) {
        const [start, stop, step] = c.slice;
        const name = `[${start ?? ''}:${stop ?? ''}:${step ?? ''}]`;
        await reset();
        check(`get ${name}`, c.get.result, await list.getSlice(start, stop, step));

        for (const [kind, outcome] of [
          ['set', c.set],
          ['set (wrong size)', c.setWrong],
        ] as const) {
          await reset();
          if (outcome.error !== undefined) {
            const error = await rejection(list.setSlice(start, stop, outcome.values, step));
            check(`${kind} ${name} code`, SyncErrorCode.SliceSize, error.code);
            check(`${kind} ${name} message`, `setSlice(): ${outcome.error}`, error.message);
            check(`${kind} ${name} unchanged`, RANGE, await list.copy());
          } else {
            await list.setSlice(start, stop, outcome.values, step);
            check(`${kind} ${name}`, outcome.list, await list.copy());
          }
        }

        await reset();
        await list.deleteSlice(start, stop, step);
        check(`delete ${name}`, c.delete.list, await list.copy());
      }
      expect(mismatches).toEqual([]);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('_TestContainers.test_list: the CPython test body with slices (b[2:10], a[:], del b[2:4], b[::-1])', async () => {
    await using manager = await syncManager();
    {
      await using a = await manager.List<number>(RANGE);
      expect(await a.getSlice()).toEqual(RANGE); // a[:]
      await using b = await manager.List<number>();
      await b.extend([0, 1, 2, 3, 4]);
      expect(await b.getSlice()).toEqual([0, 1, 2, 3, 4]);
      expect(await b.get(2)).toBe(2);
      expect(await b.getSlice(2, 10)).toEqual([2, 3, 4]); // b[2:10]
      await b.repeat(2); // b *= 2
      expect(await b.getSlice()).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
      expect(await b.getSlice(null, null, -1)).toEqual([4, 3, 2, 1, 0, 4, 3, 2, 1, 0]); // b[::-1]
      await b.deleteSlice(2, 4); // del b[2:4]
      expect(await b.copy()).toEqual([0, 1, 4, 0, 1, 2, 3, 4]);
      await b.setSlice(1, 1, [9, 9]); // b[1:1] = [9, 9]: insertion
      expect(await b.copy()).toEqual([0, 9, 9, 1, 4, 0, 1, 2, 3, 4]);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('bad slice bounds and steps reject naming the problem (Python: TypeError / ValueError)', async () => {
    await using manager = await syncManager();
    {
      await using list = await manager.List([1, 2, 3]);
      await using array = await manager.Array('i', [1, 2, 3]);
      for (const proxy of [list, array]) {
        const zero = await rejection(proxy.getSlice(null, null, 0));
        expect(zero).toMatchObject({ name: 'ManagerError', code: SyncErrorCode.InvalidOption });
        expect(zero.message).toBe('getSlice(): slice step cannot be zero');
        const float = await rejection(proxy.getSlice(1.5));
        expect(float.code).toBe(SyncErrorCode.InvalidOption);
        expect(float.message).toBe(
          'getSlice(): slice start must be an integer, null or undefined, got 1.5',
        );
        expect((await rejection(proxy.getSlice(0, '2' as never))).message).toBe(
          "getSlice(): slice stop must be an integer, null or undefined, got '2'",
        );
      }
      expect((await rejection(list.deleteSlice(0, 3, 0))).message).toBe(
        'deleteSlice(): slice step cannot be zero',
      );
      expect((await rejection(list.setSlice(0, 1, [1], 0))).message).toBe(
        'setSlice(): slice step cannot be zero',
      );
      expect(await list.copy()).toEqual([1, 2, 3]);
      // Python's ArrayProxy has no __delitem__; neither has ours.
      expect((array as unknown as { deleteSlice?: unknown }).deleteSlice).toBeUndefined();
      expect((await rejection(array.callMethod('deleteSlice', [0, 1]))).code).toBe(
        'ERR_NOT_EXPOSED',
      );
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('_TestArray.test_array: slices of a fixed-length Array (arr[1:3] = …, arr[::-2], sizes and typecodes checked)', async () => {
    await using manager = await syncManager();
    {
      await using arr = await manager.Array('i', [0, 1, 2, 3, 4]);
      await arr.setSlice(1, 3, [9, 9]); // arr[1:3] = [9, 9]
      expect(await arr.toArray()).toEqual([0, 9, 9, 3, 4]);
      expect(await arr.getSlice(null, null, -2)).toEqual([4, 9, 0]); // arr[::-2]
      expect(await arr.getSlice(-3)).toEqual([9, 3, 4]);
      await arr.setSlice(null, null, [7, 6, 5], -2); // arr[::-2] = [7, 6, 5]
      expect(await arr.toArray()).toEqual([5, 9, 6, 3, 7]);

      // multiprocessing.Array: "Can only assign sequence of same size", for any slice.
      const grow = await rejection(arr.setSlice(0, 2, [1, 2, 3]));
      expect(grow.code).toBe(SyncErrorCode.SliceSize);
      expect(grow.message).toBe(
        'setSlice(): attempt to assign sequence of size 3 to slice of size 2 (an Array has a fixed length)',
      );
      const extended = await rejection(arr.setSlice(0, 4, [1, 2, 3], 2));
      expect(extended.message).toBe(
        'setSlice(): attempt to assign sequence of size 3 to extended slice of size 2',
      );
      // Every element is checked before any is written: nothing changes.
      const typed = await rejection(arr.setSlice(0, 3, [1, 2, 'x'] as never));
      expect(typed.code).toBe(SyncErrorCode.InvalidOption);
      expect(typed.message).toMatch(/typecode 'i' holds integers, got string 'x'/);
      expect(await arr.toArray()).toEqual([5, 9, 6, 3, 7]);

      await using big = await manager.Array('q', [1n, 2n, 3n]);
      await big.setSlice(1, null, [20n, 30n]);
      expect(await big.getSlice(1)).toEqual([20n, 30n]);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a slice assignment is one atomic call: a reader never sees half of a writer in another thread', async () => {
    await using manager = await syncManager();
    {
      await using arr = await manager.Array('i', 64);
      await using list = await manager.List<number>(new Array<number>(64).fill(0));
      await using writer = new Agent(arr, list);
      const rounds = 150;
      const write = (async () => {
        for (let k = 1; k <= rounds; k++) {
          await writer.call(0, 'setSlice', null, null, new Array(64).fill(k));
          // A list slice that changes the length and the contents in one step.
          await writer.call(1, 'setSlice', null, null, new Array(k % 2 === 0 ? 64 : 32).fill(k));
        }
      })();
      const torn: string[] = [];
      let reads = 0;
      let done = false;
      void write.finally(() => (done = true));
      while (!done) {
        const [a, l] = await Promise.all([arr.getSlice(), list.getSlice()]);
        reads++;
        if (new Set(a).size !== 1) torn.push(`array ${JSON.stringify(a)}`);
        if (new Set(l).size !== 1) torn.push(`list ${JSON.stringify(l)}`);
        const k = l[0]!;
        if (k > 0 && l.length !== (k % 2 === 0 ? 64 : 32)) torn.push(`list length ${l.length}`);
      }
      await write;
      expect(reads).toBeGreaterThan(0);
      expect(torn).toEqual([]);
      expect(await arr.getSlice(0, 1)).toEqual([rounds]);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('proxies stored in a list: replaced and deleted by slices are released, kept ones are not', async () => {
    await using manager = await syncManager();
    {
      await using list = await manager.List<unknown>();
      {
        await using v1 = await manager.Value('i', 1);
        await using v2 = await manager.Value('i', 2);
        await using v3 = await manager.Value('i', 3);
        await list.extend([v1, v2, v3, 'plain']);
      }
      expect(await manager.numberOfObjects()).toBe(4);
      {
        await using v4 = await manager.Value('i', 4);
        await list.setSlice(0, 1, [v4, v4]); // v1 replaced: released
      }
      expect(await pollUntil(() => manager.numberOfObjects(), 4)).toBe(4);
      // One proxy sent twice in one call is one server-side proxy stored twice: deleting one
      // copy (and v2) keeps the other alive.
      await list.deleteSlice(1, 3);
      expect(await pollUntil(() => manager.numberOfObjects(), 3)).toBe(3);
      const values = (await list.getSlice()) as { get(): Promise<number> }[];
      expect(await values[0]!.get()).toBe(4);
      expect(await values[1]!.get()).toBe(3);
      for (const value of values.slice(0, 2)) (value as unknown as Disposable)[Symbol.dispose]();
      // A wrong-sized extended assignment changes nothing and releases what it was given.
      {
        await using v5 = await manager.Value('i', 5);
        const error = await rejection(list.setSlice(null, null, [v5], 2));
        expect(error.code).toBe(SyncErrorCode.SliceSize);
      }
      expect(await pollUntil(() => manager.numberOfObjects(), 3)).toBe(3);
      await list.setSlice(null, null, []);
      expect(await pollUntil(() => manager.numberOfObjects(), 1)).toBe(1);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
