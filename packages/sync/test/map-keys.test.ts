import { SyncErrorCode, type MapKey } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, syncManager } from './helpers';

describe('Map keys beyond primitives (Python dict keys: tuples, frozensets)', () => {
  test('_TestContainers.test_dict with tuple and frozenset keys: arrays and Sets compared by value', async () => {
    await using manager = await syncManager();
    {
      await using d = await manager.Map<MapKey, string>();
      // CPython's test_dict body, over tuple keys (i, chr(i)).
      const indices = [65, 66, 67, 68, 69];
      for (const i of indices) await d.set([i, String.fromCharCode(i)], String.fromCharCode(i));
      expect(await d.get([66, 'B'])).toBe('B');
      expect(await d.getItem([67, 'C'])).toBe('C');
      expect(await d.keys()).toEqual(indices.map((i) => [i, String.fromCharCode(i)]));
      expect(await d.size()).toBe(5);
      await d.set([65, 'A'], 'again'); // the same tuple: replaced, not added
      expect(await d.size()).toBe(5);
      expect(await d.getItem([65, 'A'])).toBe('again');

      // frozenset: order does not matter; nested tuples; SameValueZero inside.
      await d.set(new Set([1, 2]), 'frozen');
      expect(await d.get(new Set([2, 1]))).toBe('frozen');
      await d.set([1, [2, 3]], 'nested');
      expect(await d.get([1, [2, 3]])).toBe('nested');
      expect(await d.has([1, [2, 4]])).toBe(false);
      await d.set([-0, NaN], 'zero');
      expect(await d.get([0, NaN])).toBe('zero');
      // Types stay apart, as JS Map keys do: 1, '1', [1], [[1]], new Set([1]) are five keys.
      const kinds: [MapKey, string][] = [
        [1, 'number'],
        ['1', 'string'],
        [[1], 'tuple'],
        [[[1]], 'nested tuple'],
        [new Set([1]), 'frozenset'],
      ];
      for (const [key, label] of kinds) await d.set(key, label);
      expect(await d.size()).toBe(13);
      for (const [key, label] of kinds) expect(await d.get(key)).toBe(label);

      // One insertion order across kinds; pop, popitem, delete, setdefault, copy.
      expect((await d.keys()).slice(-5)).toEqual([1, '1', [1], [[1]], new Set([1])]);
      expect(await d.popitem()).toEqual([new Set([1]), 'frozenset']);
      expect(await d.pop([[1]])).toBe('nested tuple');
      expect(await d.delete([1])).toBe(true);
      expect(await d.delete([1])).toBe(false);
      expect(await d.setdefault([7, 7], 'default')).toBe('default');
      expect(await d.setdefault([7, 7], 'other')).toBe('default');
      const copy = await d.copy();
      expect(copy.get(1)).toBe('number');
      expect([...copy.keys()]).toContainEqual([7, 7]);
      await d.update([[['u', 1], 'updated']]);
      expect(await d.get(['u', 1])).toBe('updated');

      // Python: KeyError: (9, 9); TypeError: unhashable type for dicts and objects.
      const missing = await rejection(d.getItem([9, 9]));
      expect(missing.code).toBe(SyncErrorCode.KeyNotFound);
      expect(missing.message).toBe('key not found: [9, 9]');
      expect((await rejection(d.pop(new Set(['x'])))).message).toBe("key not found: {'x'}");
      for (const bad of [{}, [1, {}], new Set([new Map()])]) {
        const error = await rejection(d.set(bad as never, 'x'));
        expect(error.code).toBe(SyncErrorCode.InvalidOption);
        expect(error.message).toMatch(
          /^Map keys must be primitives \(string, number, bigint, boolean, null\), arrays \(tuples\) or Sets \(frozensets\) of them, got \[object (Object|Map)\]$/,
        );
      }
      expect((await rejection(d.get({} as never))).code).toBe(SyncErrorCode.InvalidOption);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a frozenset holds equal elements once; a hole in a tuple is an undefined element', async () => {
    await using manager = await syncManager();
    {
      await using d = await manager.Map<MapKey, string>();
      // Python: frozenset({(1,), (1,)}) == frozenset({(1,)}); a JS Set can hold two equal arrays.
      await d.set(new Set([[1], [1]]), 'A');
      await d.set(new Set([[1]]), 'B');
      expect(await d.size()).toBe(1);
      expect(await d.get(new Set([[1]]))).toBe('B');
      await d.set(new Set([new Set([1]), new Set([1])]), 'C');
      expect(await d.get(new Set([new Set([1])]))).toBe('C');
      // [,] has one element (a hole, read as undefined): it is not the empty tuple.
      await d.set([], 'empty');
      expect(await d.has(new Array(1) as MapKey[])).toBe(false);
      const holed: MapKey[] = [1, 2, 3];
      delete holed[1];
      await d.set(holed, 'hole');
      expect(await d.get([1, undefined, 3])).toBe('hole');
      expect(await d.size()).toBe(4);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a tuple key written in one thread is found by another; proxy values under tuple keys are released', async () => {
    await using manager = await syncManager();
    {
      await using d = await manager.Map<MapKey, unknown>();
      await using agent = new Agent(d);
      await agent.call(0, 'set', ['job', 1], 'from the worker');
      expect(await d.get(['job', 1])).toBe('from the worker');
      {
        await using q = await manager.Queue();
        await d.set(['queue', new Set(['a', 'b'])], q);
      }
      expect(await manager.numberOfObjects()).toBe(2);
      expect(await agent.call(0, 'has', ['queue', new Set(['b', 'a'])])).toBe(true);
      await agent.call(0, 'delete', ['queue', new Set(['b', 'a'])]);
      expect(await pollUntil(() => manager.numberOfObjects(), 1)).toBe(1);
      // One proxy sent twice in one call is one server-side proxy stored under two keys:
      // deleting one key keeps the other's value alive.
      {
        await using shared = await manager.Value('i', 7);
        await d.update([
          [[1, 'a'], shared],
          [[2, 'b'], shared],
        ]);
      }
      await d.delete([1, 'a']);
      const kept = (await d.get([2, 'b'])) as { get(): Promise<number> } & Disposable;
      expect(await kept.get()).toBe(7);
      kept[Symbol.dispose]();
      await d.delete([2, 'b']);
      expect(await pollUntil(() => manager.numberOfObjects(), 1)).toBe(1);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
