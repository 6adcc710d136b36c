/**
 * Dispose hooks that release other entries of the same table (R6): a managed map of managed
 * lists, chains, hooks that run while releaseHolder is iterating, and shutdown (clear).
 */
import { ObjectTable, SERVER_HOLDER } from '../src';
import { T, typeInfo } from './helpers';

const ListT = typeInfo('List');
const MapT = typeInfo('Dict');

/** A hosted object holding server-side references to other entries, released at dispose. */
class Holder {
  disposed = 0;
  readonly held: number[] = [];
  constructor(
    readonly table: ObjectTable,
    readonly name: string,
  ) {}
  hold(id: number): void {
    this.table.incref(id, SERVER_HOLDER, `held by ${this.name}`);
    this.held.push(id);
  }
  [Symbol.dispose](): void {
    this.disposed++;
    for (const id of this.held.splice(0))
      this.table.decref(id, SERVER_HOLDER, `${this.name} disposed`);
  }
}

let table: ObjectTable;
beforeEach(() => {
  table = new ObjectTable({ name: 'reentrancy', traceBufferSize: 1000 });
});
afterEach(() => {
  table.assertConsistent();
  expect(table.trace().filter((e) => e.op === 'dispose-error')).toEqual([]);
});

function disposeCounts(): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of table.trace())
    if (e.op === 'dispose') counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
}

it('a map holding lists: releasing the map disposes each list exactly once', () => {
  const map = new Holder(table, 'map');
  const mapId = table.register(map, MapT, 'main');
  const lists = [0, 1, 2].map((i) => new Holder(table, `list${i}`));
  const listIds = lists.map((list) => {
    const id = table.register(list, ListT, 'main'); // the creating proxy
    map.hold(id); // stored in the map
    table.decref(id, 'main'); // the creating proxy released
    return id;
  });
  // one list is also held by a proxy elsewhere
  table.incref(listIds[1]!, 'worker');
  table.decref(mapId, 'main');
  expect(map.disposed).toBe(1);
  expect(lists.map((l) => l.disposed)).toEqual([1, 0, 1]);
  expect(table.numberOfObjects()).toBe(1);
  expect(table.holders(listIds[1]!)).toEqual({ worker: 1 });
  table.releaseHolder('worker');
  expect(lists.map((l) => l.disposed)).toEqual([1, 1, 1]);
  expect([...disposeCounts().values()].every((n) => n === 1)).toBe(true);
  expect(table.numberOfObjects()).toBe(0);
});

it('a chain: each link holds the next; dropping the head disposes all, in order, each once', () => {
  const links = Array.from({ length: 50 }, (_, i) => new Holder(table, `link${i}`));
  const ids = links.map((link) => table.register(link, T, 'main'));
  for (let i = 0; i < links.length - 1; i++) {
    links[i]!.hold(ids[i + 1]!);
    table.decref(ids[i + 1]!, 'main');
  }
  table.decref(ids[0]!, 'main');
  expect(links.every((l) => l.disposed === 1)).toBe(true);
  expect(
    table
      .trace()
      .filter((e) => e.op === 'dispose')
      .map((e) => e.id),
  ).toEqual(ids);
  expect(table.numberOfObjects()).toBe(0);
});

it('a hook that releases during releaseHolder iteration (the same holder and another)', () => {
  const a = new Holder(table, 'a');
  const b = new Holder(table, 'b');
  const c = new Holder(table, 'c');
  const idA = table.register(a, T, 'conn');
  const idB = table.register(b, T, 'conn');
  const idC = table.register(c, T, 'other');
  a.hold(idB);
  a.hold(idC);
  table.decref(idC, 'other');
  // while 'conn' is released, a's hook releases b (also held by 'conn') and c, and the hook of b
  // releases the 'conn' holder again (already gone: a no-op)
  const bHook = b[Symbol.dispose].bind(b);
  b[Symbol.dispose] = () => {
    bHook();
    expect(table.releaseHolder('conn')).toBe(0);
  };
  expect(table.releaseHolder('conn')).toBe(2);
  expect([a.disposed, b.disposed, c.disposed]).toEqual([1, 1, 1]);
  expect(disposeCounts()).toEqual(
    new Map([
      [idA, 1],
      [idB, 1],
      [idC, 1],
    ]),
  );
  expect(table.numberOfObjects()).toBe(0);
});

it('a hook that releases a whole other holder and registers new objects', () => {
  const late = {
    disposed: 0,
    [Symbol.dispose]() {
      this.disposed++;
    },
  };
  let lateId = 0;
  const first = {
    [Symbol.dispose]: () => {
      table.releaseHolder('peer');
      lateId = table.register(late, T, 'main');
    },
  };
  const id1 = table.register(first, T, 'main');
  const peerObjs = [new Holder(table, 'p0'), new Holder(table, 'p1')];
  peerObjs.forEach((o) => table.register(o, T, 'peer'));
  table.decref(id1, 'main');
  expect(peerObjs.map((o) => o.disposed)).toEqual([1, 1]);
  expect(table.refcount(lateId)).toBe(1);
  table.decref(lateId, 'main');
  expect(late.disposed).toBe(1);
  expect(table.numberOfObjects()).toBe(0);
});

it('no hook runs while the table is half-updated: a hook sees its own entry gone and the rest consistent', () => {
  const seen: string[] = [];
  const objs = [0, 1, 2].map((i) => ({
    [Symbol.dispose]: () => {
      table.assertConsistent();
      seen.push(`${i}:${table.numberOfObjects()}`);
    },
  }));
  objs.forEach((o) => table.register(o, T, 'h'));
  table.releaseHolder('h');
  // all three were dropped before any hook ran
  expect(seen).toEqual(['0:0', '1:0', '2:0']);
});

it('clear(): a map holding lists at shutdown disposes each once, with no dispose-error', async () => {
  const lists = [0, 1, 2].map((i) => new Holder(table, `list${i}`));
  const map = new Holder(table, 'map');
  const listIds = lists.map((l) => table.register(l, ListT, 'main'));
  table.register(map, MapT, 'main');
  for (const id of listIds) map.hold(id);
  // an async one too, which releases a list after an await
  const asyncHolder = {
    disposed: 0,
    async [Symbol.asyncDispose]() {
      this.disposed++;
      await Promise.resolve();
    },
  };
  table.register(asyncHolder, T, 'main');
  await table.clear();
  expect(map.disposed).toBe(1);
  expect(lists.map((l) => l.disposed)).toEqual([1, 1, 1]);
  expect(asyncHolder.disposed).toBe(1);
  expect([...disposeCounts().values()]).toEqual([1, 1, 1, 1, 1]);
  expect(table.numberOfObjects()).toBe(0);
  expect(table.heldBy(SERVER_HOLDER).size).toBe(0);
  // the map (after the lists) released lists clear() had already dropped: ignored, traced as reject
  expect(table.trace().filter((e) => e.op === 'reject')).toMatchObject(
    listIds.map((id) => ({
      id,
      holder: SERVER_HOLDER,
      cause: 'map disposed: id already dropped by clear()',
    })),
  );
  // after clear(), such a decref is an error again
  expect(() => table.decref(listIds[0]!, SERVER_HOLDER)).toThrow(
    expect.objectContaining({ code: 'ERR_UNKNOWN_ID' }),
  );
});

it('clear(): the map registered first still releases lists that come after it', async () => {
  const map = new Holder(table, 'map');
  table.register(map, MapT, 'main');
  const lists = [0, 1].map((i) => new Holder(table, `list${i}`));
  for (const l of lists) {
    const id = table.register(l, ListT, 'main');
    map.hold(id);
  }
  await table.clear();
  expect(lists.map((l) => l.disposed)).toEqual([1, 1]);
  expect(table.trace().filter((e) => e.op === 'decref' && e.holder === SERVER_HOLDER)).toHaveLength(
    2,
  );
  expect(table.numberOfObjects()).toBe(0);
});
