import {
  ErrorCode,
  ObjectTable,
  SERVER_HOLDER,
  formatDebugInfo,
  isManagerError,
  reprOf,
} from '../src';
import { inspect } from 'node:util';
import { Res, T, catchManagerError, expectRefused, typeInfo } from './helpers';

let table: ObjectTable;

beforeEach(() => {
  table = new ObjectTable({ name: 'test', traceBufferSize: 100 });
});

afterEach(() => {
  table.assertConsistent();
});

describe('register', () => {
  it('returns a new id per object, from 1, with one reference for the holder', () => {
    const a = {};
    const b = {};
    const idA = table.register(a, T, 'main');
    const idB = table.register(b, T, 'main');
    expect(idA).toBe(1);
    expect(idB).toBe(2);
    expect(table.refcount(idA)).toBe(1);
    expect(table.holders(idA)).toEqual({ main: 1 });
    expect(table.idOf(a)).toBe(idA);
    expect(table.has(idA)).toBe(true);
    const info = table.get(idA)!;
    expect([info.id, info.typeid, info.object, info.type, info.refcount]).toEqual([
      idA,
      'Thing',
      a,
      T,
      1,
    ]);
    expect(table.get(999)).toBeUndefined();
    expect(table.numberOfObjects()).toBe(2);
    table.decref(idA, 'main');
    table.decref(idB, 'main');
    expect(table.numberOfObjects()).toBe(0);
  });

  it('R7: the same object again is the same id and its count grows (never resets)', () => {
    const mag = new Res('mag');
    const id = table.register(mag, T, 'main');
    expect(table.register(mag, T, 'main')).toBe(id);
    expect(table.register(mag, T, 'worker')).toBe(id);
    expect(table.refcount(id)).toBe(3);
    expect(table.holders(id)).toEqual({ main: 2, worker: 1 });
    expect(table.numberOfObjects()).toBe(1);
    expect(table.trace().map((e) => [e.op, e.refcount])).toEqual([
      ['create', 1],
      ['incref', 2],
      ['incref', 3],
    ]);
    table.releaseHolder('main');
    table.releaseHolder('worker');
    expect(mag.disposed).toBe(1);
  });

  it('accepts functions; refuses primitives and null with ERR_INVALID_OPTION', () => {
    const fn = () => 1;
    const id = table.register(fn, T, 'main');
    expect(table.idOf(fn)).toBe(id);
    for (const bad of [1, 'x', null, undefined, true]) {
      expectRefused(
        table,
        () => table.register(bad as unknown as object, T, 'main'),
        ErrorCode.InvalidOption,
        'Thing',
      );
    }
    table.decref(id, 'main');
  });

  it('an object disposed earlier can be registered again: a new entry under its old id (a cached object)', () => {
    const cached = new Res('cached');
    const first = table.register(cached, T, 'main');
    table.decref(first, 'main');
    expect(cached.disposed).toBe(1);
    const other = table.register(new Res('other'), T, 'main');
    const second = table.register(cached, T, 'main');
    // As Python's id(obj): the returning object gets its id back; other objects never do.
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(table.refcount(second)).toBe(1);
    expect(table.entries().map((row) => row.id)).toEqual([first, other]);
    table.decref(other, 'main');
    table.assertConsistent();
    table.decref(second, 'main');
    expect(cached.disposed).toBe(2);
  });
});

describe('incref / decref per holder', () => {
  it('counts per holder; refcount is the sum', () => {
    const id = table.register({}, T, 'a');
    expect(table.incref(id, 'a')).toBe(2);
    expect(table.incref(id, 'b', 'because', 3)).toBe(5);
    expect(table.holders(id)).toEqual({ a: 2, b: 3 });
    expect(table.heldBy('b')).toEqual(new Map([[id, 3]]));
    expect(table.decref(id, 'b', 'x', 2)).toBe(3);
    expect(table.holders(id)).toEqual({ a: 2, b: 1 });
    expect(table.decref(id, 'b')).toBe(2);
    expect(table.holders(id)).toEqual({ a: 2 });
    expect(table.heldBy('b')).toEqual(new Map());
    expect(table.decref(id, 'a')).toBe(1);
    expect(table.decref(id, 'a')).toBe(0);
    expect(table.has(id)).toBe(false);
    expect(table.holders(id)).toEqual({});
    expect(table.refcount(id)).toBe(0);
  });

  it('holders(id) of an unknown id is empty; heldBy returns a copy', () => {
    expect(table.holders(42)).toEqual({});
    const id = table.register({}, T, 'a');
    const held = table.heldBy('a');
    held.set(id, 100);
    expect(table.refcount(id)).toBe(1);
    expect(table.heldBy('a').get(id)).toBe(1);
    table.releaseHolder('a');
  });
});

describe('dispose at zero (R6)', () => {
  it('runs [Symbol.dispose] once when the entry leaves the table', () => {
    const res = new Res('r');
    const id = table.register(res, T, 'a');
    table.incref(id, 'b');
    table.decref(id, 'a');
    expect(res.disposed).toBe(0);
    table.decref(id, 'b');
    expect(res.disposed).toBe(1);
    expect(table.idOf(res)).toBeUndefined();
    expect(table.trace().at(-1)).toMatchObject({ op: 'dispose', id, refcount: 0, typeid: 'Thing' });
  });

  it('prefers [Symbol.asyncDispose] when both exist, and settled() awaits it', async () => {
    const calls: string[] = [];
    let finish!: () => void;
    const both = {
      [Symbol.dispose]() {
        calls.push('sync');
      },
      [Symbol.asyncDispose]() {
        calls.push('async start');
        return new Promise<void>((resolve) => {
          finish = () => {
            calls.push('async end');
            resolve();
          };
        });
      },
    };
    const id = table.register(both, T, 'a');
    table.decref(id, 'a');
    expect(calls).toEqual(['async start']);
    let settled = false;
    const done = table.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    finish();
    await done;
    expect(calls).toEqual(['async start', 'async end']);
  });

  it('an object without hooks just leaves the table', () => {
    const id = table.register({}, T, 'a');
    expect(table.decref(id, 'a')).toBe(0);
    expect(table.numberOfObjects()).toBe(0);
  });

  it('a throwing dispose becomes a dispose-error event, never thrown to the caller', () => {
    const id = table.register(
      {
        [Symbol.dispose]() {
          throw new TypeError('boom');
        },
      },
      T,
      'a',
    );
    expect(() => table.decref(id, 'a')).not.toThrow();
    expect(table.trace().slice(-2)).toMatchObject([
      { op: 'dispose', id },
      { op: 'dispose-error', id, cause: 'TypeError: boom', typeid: 'Thing' },
    ]);
    expect(table.numberOfObjects()).toBe(0);
  });

  it('a rejecting async dispose becomes a dispose-error event after settled()', async () => {
    const id = table.register(
      {
        async [Symbol.asyncDispose]() {
          await new Promise((r) => setImmediate(r));
          throw new Error('late boom');
        },
      },
      T,
      'a',
    );
    table.decref(id, 'a');
    await table.settled();
    expect(table.trace().at(-1)).toMatchObject({
      op: 'dispose-error',
      id,
      cause: 'Error: late boom',
    });
    // a thrown non-Error is described too
    const id2 = table.register(
      {
        [Symbol.dispose]() {
          throw 'just a string';
        },
      },
      T,
      'a',
    );
    table.decref(id2, 'a');
    expect(table.trace().at(-1)).toMatchObject({
      op: 'dispose-error',
      id: id2,
      cause: 'just a string',
    });
  });
});

describe('releaseHolder (R4)', () => {
  it('drops every reference of the holder, disposing what reaches zero', () => {
    const shared = new Res('shared');
    const own1 = new Res('own1');
    const own2 = new Res('own2');
    const s = table.register(shared, T, 'dead');
    table.incref(s, 'dead', 'x', 2);
    table.incref(s, 'alive');
    const o1 = table.register(own1, T, 'dead');
    const o2 = table.register(own2, T, 'dead');
    table.incref(o2, 'dead');
    expect(table.releaseHolder('dead', 'thread exited')).toBe(6);
    expect(table.refcount(s)).toBe(1);
    expect(table.holders(s)).toEqual({ alive: 1 });
    expect(table.has(o1)).toBe(false);
    expect(table.has(o2)).toBe(false);
    expect([shared.disposed, own1.disposed, own2.disposed]).toEqual([0, 1, 1]);
    expect(table.trace().filter((e) => e.op === 'release-holder')).toMatchObject([
      { id: s, holder: 'dead', delta: -3, refcount: 1, cause: 'thread exited' },
      { id: o1, holder: 'dead', delta: -1, refcount: 0 },
      { id: o2, holder: 'dead', delta: -2, refcount: 0 },
    ]);
    expect(table.releaseHolder('dead')).toBe(0);
    expect(table.releaseHolder('never-seen')).toBe(0);
    table.releaseHolder('alive');
    expect(shared.disposed).toBe(1);
  });
});

describe('adopt (handoff)', () => {
  it('moves every reference from one holder to another without changing refcounts', () => {
    const a = table.register({}, T, 'inflight');
    const b = table.register({}, T, 'inflight');
    table.incref(b, 'inflight');
    table.incref(a, 'receiver');
    expect(table.adopt('inflight', 'receiver', 'received')).toBe(3);
    expect(table.holders(a)).toEqual({ receiver: 2 });
    expect(table.holders(b)).toEqual({ receiver: 2 });
    expect(table.refcount(a)).toBe(2);
    expect(table.trace().filter((e) => e.op === 'adopt')).toMatchObject([
      { id: a, holder: 'receiver', delta: 0, refcount: 2, cause: 'received (from inflight)' },
      { id: b, holder: 'receiver', delta: 0, refcount: 2 },
    ]);
    expect(table.adopt('inflight', 'receiver')).toBe(0);
    expect(table.adopt('receiver', 'receiver')).toBe(0);
    expect(table.holders(a)).toEqual({ receiver: 2 });
    table.releaseHolder('receiver');
    expect(table.numberOfObjects()).toBe(0);
  });
});

describe('bad use throws a ManagerError and leaves the table unchanged', () => {
  let id: number;
  beforeEach(() => {
    id = table.register(new Res('x'), T, 'a');
    table.incref(id, 'b');
  });
  afterEach(() => {
    table.releaseHolder('a');
    table.releaseHolder('b');
    expect(table.numberOfObjects()).toBe(0);
  });

  it('decref below zero', () => {
    expectRefused(
      table,
      () => table.decref(id, 'a', 'x', 2),
      ErrorCode.InvalidOption,
      `id ${id}`,
      "'a'",
      'below zero',
    );
  });

  it('decref by a holder that holds nothing', () => {
    expectRefused(table, () => table.decref(id, 'c'), ErrorCode.UnknownHolder, `id ${id}`, "'c'");
    table.decref(id, 'b');
    expectRefused(table, () => table.decref(id, 'b'), ErrorCode.UnknownHolder, `id ${id}`, "'b'");
    table.incref(id, 'b');
  });

  it('unknown id on incref and decref', () => {
    expectRefused(
      table,
      () => table.decref(99, 'a'),
      ErrorCode.UnknownId,
      'id 99',
      "'a'",
      "'test'",
    );
    expectRefused(table, () => table.incref(99, 'a'), ErrorCode.UnknownId, 'id 99', "'a'");
    // a disposed id is unknown
    const gone = table.register({}, T, 'a');
    table.decref(gone, 'a');
    expectRefused(table, () => table.decref(gone, 'a'), ErrorCode.UnknownId, `id ${gone}`);
  });

  it('a bad holder string', () => {
    for (const bad of ['', 42, undefined, null]) {
      const holder = bad as unknown as string;
      expectRefused(
        table,
        () => table.incref(id, holder),
        ErrorCode.InvalidOption,
        `id ${id}`,
        'holder',
      );
      expectRefused(
        table,
        () => table.decref(id, holder),
        ErrorCode.InvalidOption,
        `id ${id}`,
        'holder',
      );
      expectRefused(table, () => table.register({}, T, holder), ErrorCode.InvalidOption, 'holder');
      expectRefused(table, () => table.releaseHolder(holder), ErrorCode.InvalidOption, 'holder');
      expectRefused(table, () => table.adopt(holder, 'a'), ErrorCode.InvalidOption, 'holder');
      expectRefused(table, () => table.adopt('a', holder), ErrorCode.InvalidOption, 'holder');
    }
  });

  it('a bad count', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      expectRefused(
        table,
        () => table.incref(id, 'a', 'x', bad),
        ErrorCode.InvalidOption,
        `id ${id}`,
        "'a'",
        'count',
      );
      expectRefused(
        table,
        () => table.decref(id, 'a', 'x', bad),
        ErrorCode.InvalidOption,
        `id ${id}`,
        "'a'",
        'count',
      );
    }
  });

  it('errors carry code, name, details and are recognised by isManagerError', () => {
    const error = catchManagerError(() => table.decref(99, 'a'));
    expect(isManagerError(error)).toBe(true);
    expect(isManagerError(error, ErrorCode.UnknownId)).toBe(true);
    expect(isManagerError(error, ErrorCode.UnknownHolder)).toBe(false);
    expect((error as unknown as { details: unknown }).details).toEqual({ id: 99, holder: 'a' });
  });

  it('bad trace buffer sizes', () => {
    for (const bad of [-1, 1.5, NaN]) {
      expect(catchManagerError(() => new ObjectTable({ traceBufferSize: bad })).code).toBe(
        ErrorCode.InvalidOption,
      );
      expect(catchManagerError(() => table.setTraceBufferSize(bad)).code).toBe(
        ErrorCode.InvalidOption,
      );
    }
  });
});

describe('debugInfo and entries', () => {
  it("is '' when empty", () => {
    expect(table.debugInfo()).toBe('');
    expect(table.entries()).toEqual([]);
    expect(table.numberOfObjects()).toBe(0);
  });

  it("has Python's _debug_info shape, in id order", () => {
    const a = table.register(new Res('a'), T, 'main');
    const b = table.register({ x: 1, y: [1, 2] }, typeInfo('Dict'), 'main');
    table.incref(b, 'worker-1', 'x', 2);
    expect(table.debugInfo()).toBe(
      `  ${a}:       refcount=1\n    Res(a)\n  ${b}:       refcount=3\n    { x: 1, y: [ 1, 2 ] }`,
    );
    expect(table.debugInfo({ holders: true })).toBe(
      `  ${a}:       refcount=1\n    Res(a)\n    holders: main=1\n` +
        `  ${b}:       refcount=3\n    { x: 1, y: [ 1, 2 ] }\n    holders: main=1, worker-1=2`,
    );
    expect(table.entries()).toEqual([
      { id: a, typeid: 'Thing', refcount: 1, holders: { main: 1 }, repr: 'Res(a)' },
      {
        id: b,
        typeid: 'Dict',
        refcount: 3,
        holders: { main: 1, 'worker-1': 2 },
        repr: '{ x: 1, y: [ 1, 2 ] }',
      },
    ]);
    expect(formatDebugInfo(table.entries())).toBe(table.debugInfo());
    table.releaseHolder('main');
    table.releaseHolder('worker-1');
    expect(table.debugInfo()).toBe('');
  });

  it('cuts the repr to 75 characters and survives a throwing toString', () => {
    const long = { toString: () => 'x'.repeat(200) };
    const bad = {
      toString() {
        throw new Error('no repr');
      },
    };
    const id = table.register(long, T, 'a');
    const id2 = table.register(bad, T, 'a');
    expect(table.debugInfo().split('\n')[1]).toBe(`    ${'x'.repeat(75)}`);
    expect(reprOf(long)).toHaveLength(75);
    expect(table.get(id2)).toBeDefined();
    expect(table.entries()[1]!.repr).toBe('<repr failed: Error: no repr>');
    expect(reprOf(() => 1)).toBe('[Function (anonymous)]');
    table.decref(id, 'a');
    table.decref(id2, 'a');
  });
});

describe('assertConsistent', () => {
  it('holds through ordinary use', () => {
    const id = table.register({}, T, 'a');
    table.incref(id, 'b');
    table.assertConsistent();
    table.releaseHolder('a');
    table.assertConsistent();
    table.releaseHolder('b');
  });
});

describe('clear', () => {
  it('disposes everything once, in id order, and awaits async disposes', async () => {
    const order: string[] = [];
    let asyncDone = false;
    const one = new Res('one', () => order.push('one'));
    const two = {
      async [Symbol.asyncDispose]() {
        order.push('two');
        await new Promise((r) => setTimeout(r, 5));
        asyncDone = true;
      },
    };
    const three = new Res('three', () => order.push('three'));
    table.register(one, T, 'a');
    const id2 = table.register(two, T, 'b');
    table.incref(id2, SERVER_HOLDER);
    table.register(three, T, 'a');
    await table.clear();
    expect(asyncDone).toBe(true);
    expect(order).toEqual(['one', 'two', 'three']);
    expect(one.disposed).toBe(1);
    expect(table.numberOfObjects()).toBe(0);
    expect(table.heldBy('a').size).toBe(0);
    expect(table.heldBy(SERVER_HOLDER).size).toBe(0);
    expect(table.trace().filter((e) => e.op === 'release-holder')).toMatchObject([
      { id: 1, delta: -1, cause: 'shutdown' },
      { id: 2, delta: -2 },
      { id: 3, delta: -1 },
    ]);
    await table.clear();
    expect(one.disposed).toBe(1);
  });
});

describe('many entries (ids across pages)', () => {
  it('keeps ids, order and lookups right past page boundaries, and frees emptied pages', async () => {
    const quiet = new ObjectTable({ name: 'big' });
    const n = 5000;
    const objects = Array.from({ length: n }, (_, i) => new Res(String(i)));
    const ids = objects.map((o) => quiet.register(o, T, i2h(o)));
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(quiet.numberOfObjects()).toBe(n);
    // drop every entry of the first two pages and every other one after
    for (const id of ids) if (id <= 2048 || id % 2 === 0) quiet.decref(id, i2h(objects[id - 1]!));
    quiet.assertConsistent();
    const left = ids.filter((id) => !(id <= 2048 || id % 2 === 0));
    expect(quiet.numberOfObjects()).toBe(left.length);
    expect(quiet.entries().map((e) => e.id)).toEqual(left);
    for (const id of [1, 1024, 2048, 2050]) expect(quiet.has(id)).toBe(false);
    expect(quiet.refcount(2049)).toBe(1);
    // new ids keep growing, never reused
    const fresh = quiet.register({}, T, 'late');
    expect(fresh).toBe(n + 1);
    expect(quiet.entries().at(-1)!.id).toBe(fresh);
    expect(quiet.heldBy('odd').size).toBe(left.length);
    expect(quiet.releaseHolder('odd')).toBe(left.length);
    expect(objects.every((o) => o.disposed === 1)).toBe(true);
    await quiet.clear();
    expect(quiet.numberOfObjects()).toBe(0);
    expect(quiet.register({}, T, 'again')).toBe(n + 2);
    await quiet.clear();
  });

  it('ids that are not positive integers are unknown (never rounded to a real id)', () => {
    const id = table.register({}, T, 'a');
    expect(id).toBe(1);
    for (const bad of [1.5, 0.999, -1, 0, NaN, Infinity, '1', 1025]) {
      const badId = bad as number;
      expect(table.has(badId)).toBe(false);
      expect(table.refcount(badId)).toBe(0);
      expect(table.get(badId)).toBeUndefined();
      expectRefused(table, () => table.decref(badId, 'a'), ErrorCode.UnknownId, 'a');
      expectRefused(table, () => table.incref(badId, 'a'), ErrorCode.UnknownId, 'a');
    }
    table.decref(id, 'a');
  });

  it('an entry read after its object left reads zero, and does not follow the id reused', () => {
    const object = {};
    const id = table.register(object, T, 'a');
    table.incref(id, 'b');
    const view = table.get(id)!;
    table.decref(id, 'b');
    table.decref(id, 'a');
    expect([view.refcount, view.countOf('a'), view.countOf('b')]).toEqual([0, 0, 0]);
    // The same object comes back under the same id: a new entry, the old view stays at zero.
    expect(table.register(object, T, 'c')).toBe(id);
    expect(table.get(id)!.refcount).toBe(1);
    expect([view.refcount, view.countOf('c')]).toEqual([0, 0]);
    table.decref(id, 'c');
    expect(table.numberOfObjects()).toBe(0);
  });

  it('a refcount past 2,147,483,647 is refused, for the first holder and the others', () => {
    const id = table.register({}, T, 'a');
    const max = 2 ** 31 - 1;
    for (const holder of ['a', 'b']) {
      expectRefused(
        table,
        () => table.incref(id, holder, 'x', max),
        ErrorCode.InvalidOption,
        `id ${id}`,
        `'${holder}'`,
        'would exceed 2147483647',
      );
    }
    expect(table.incref(id, 'b', 'x', max - 1)).toBe(max);
    expectRefused(table, () => table.incref(id, 'a'), ErrorCode.InvalidOption, 'would exceed');
    expect(table.holders(id)).toEqual({ a: 1, b: max - 1 });
    expect(table.decref(id, 'b', 'x', max - 1)).toBe(1);
    table.decref(id, 'a');
    expect(table.numberOfObjects()).toBe(0);
  });

  it('an entry view shows its counts to JSON.stringify and util.inspect', () => {
    const id = table.register(new Res('shown'), T, 'a');
    table.incref(id, 'b', 'x', 2);
    const view = table.get(id)!;
    expect(JSON.parse(JSON.stringify(view))).toEqual({
      id,
      typeid: 'Thing',
      refcount: 3,
      holders: { a: 1, b: 2 },
      repr: table.entries()[0]!.repr,
    });
    expect(inspect(view)).toContain('refcount: 3');
    table.decref(id, 'b', 'x', 2);
    table.decref(id, 'a');
    expect(table.numberOfObjects()).toBe(0);
  });

  it('incref and decref return the refcount as a trace listener left it', () => {
    let armed = false;
    const traced: ObjectTable = new ObjectTable({
      onTrace: (event) => {
        if (armed && event.holder === 'a' && (event.op === 'incref' || event.op === 'decref')) {
          armed = false;
          traced.incref(event.id, 'b');
        }
      },
    });
    const id = traced.register({}, T, 'a');
    traced.incref(id, 'a');
    armed = true;
    expect(traced.incref(id, 'a')).toBe(4);
    armed = true;
    expect(traced.decref(id, 'a')).toBe(4);
    expect(traced.refcount(id)).toBe(4);
    traced.releaseHolder('a');
    traced.releaseHolder('b');
    expect(traced.numberOfObjects()).toBe(0);
  });

  it('a trace listener that throws leaves the operation whole; its error is thrown on the next tick', () => {
    const disposed: string[] = [];
    const failure = new Error('listener failed');
    const traced = new ObjectTable({
      onTrace: (event) => {
        if (event.op === 'decref' || event.op === 'dispose') throw failure;
      },
    });
    const deferred: (() => void)[] = [];
    const nextTick = jest
      .spyOn(process, 'nextTick')
      .mockImplementation(((callback: () => void) => deferred.push(callback)) as never);
    try {
      const disposable = (name: string) => ({ [Symbol.dispose]: () => disposed.push(name) });
      const x = traced.register(disposable('x'), T, 'h');
      traced.register(disposable('y'), T, 'h');
      expect(traced.decref(x, 'h')).toBe(0);
      traced.releaseHolder('h');
    } finally {
      nextTick.mockRestore();
    }
    // Nothing half done: both objects left the table and were disposed.
    expect(disposed).toEqual(['x', 'y']);
    expect(traced.numberOfObjects()).toBe(0);
    traced.assertConsistent();
    // Each listener error is thrown, on its own, on a later tick (an uncaught exception).
    expect(deferred.length).toBeGreaterThanOrEqual(3);
    for (const callback of deferred) expect(callback).toThrow(failure);
  });

  it('checks its options and the type register() is given, naming the problem', () => {
    expect(() => new ObjectTable({ traceBuffer: 10 } as never)).toThrow(
      "new ObjectTable(options): unknown option 'traceBuffer'",
    );
    expect(() => new ObjectTable(null as never)).toThrow('options must be an object, got null');
    expect(() => new ObjectTable({ name: 42 } as never)).toThrow(
      'options.name must be a string, got 42',
    );
    expect(() => new ObjectTable({ onTrace: 'log' } as never)).toThrow(
      "options.onTrace must be a function, got 'log'",
    );
    expect(() => new ObjectTable({ onDispose: 1 } as never)).toThrow(
      'options.onDispose must be a function, got 1',
    );
    expect(() => new ObjectTable({ traceBufferSize: -1 })).toThrow(
      'options.traceBufferSize must be a non-negative integer, got -1',
    );
    expect(() => table.setTraceListener('log' as never)).toThrow(
      "listener must be a function or undefined, got 'log'",
    );
    expect(() => table.register({}, undefined as never, 'main')).toThrow(
      'register(object, type, holder): type must be',
    );
    expect(() => table.register({}, {} as never, 'main')).toThrow('type must be');
    expect(() => table.debugInfo(null as never)).toThrow('options must be an object');
    expect(catchManagerError(() => table.incref('1' as never, 'main')).message).toContain(
      'an id is a positive integer',
    );
    expect(table.numberOfObjects()).toBe(0);
  });

  it('when the first holder goes, the others keep their counts', () => {
    const id = table.register({}, T, 'first');
    table.incref(id, 'second', 'x', 2);
    table.incref(id, 'third');
    expect(table.releaseHolder('first')).toBe(1);
    expect(table.holders(id)).toEqual({ second: 2, third: 1 });
    table.decref(id, 'second', 'x', 2);
    expect(table.holders(id)).toEqual({ third: 1 });
    table.incref(id, 'first');
    table.adopt('third', 'first');
    expect(table.holders(id)).toEqual({ first: 2 });
    expect(table.heldBy('third').size).toBe(0);
    table.assertConsistent();
    table.decref(id, 'first', 'x', 2);
    expect(table.numberOfObjects()).toBe(0);
  });
});

/** Even ids are held by 'even', odd by 'odd'. */
function i2h(o: Res): string {
  return Number(o.name) % 2 === 0 ? 'odd' : 'even';
}
