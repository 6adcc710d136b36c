import {
  ObjectTable,
  inspectSymbol,
  objectIdSymbol,
  type InspectSnapshot,
  type Inspectable,
} from '../src';
import { installRefcountMatchers, refcountMatchers } from '../src/jest';
import { Res, T } from './helpers';

installRefcountMatchers();

/** Runs `fn` and returns the failure message jest produced. */
function failureOf(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail');
}

async function asyncFailureOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail');
}

/** A fake proxy: carries its id, and answers for its table asynchronously (like a manager). */
function fakeProxy(table: ObjectTable, id: number): Inspectable & { [objectIdSymbol]: number } {
  return {
    [objectIdSymbol]: id,
    [inspectSymbol]: async (): Promise<InspectSnapshot> => {
      await new Promise((r) => setImmediate(r));
      return table[inspectSymbol]();
    },
  };
}

let table: ObjectTable;
beforeEach(() => {
  table = new ObjectTable({ name: 'matched', traceBufferSize: 100 });
});

describe('toHaveRefcount', () => {
  it('passes and fails on a table, with .not; unknown ids have 0', () => {
    const id = table.register(new Res('r'), T, 'main');
    table.incref(id, 'worker');
    expect(table).toHaveRefcount(id, 2);
    expect(table).not.toHaveRefcount(id, 1);
    expect(table).toHaveRefcount(999, 0);
    expect(table).not.toHaveRefcount(999, 1);
    table.releaseHolder('main');
    table.releaseHolder('worker');
    expect(table).toHaveRefcount(id, 0);
    expect(table).toHaveNoLiveObjects();
  });

  it('its failure message prints the table with holders and the trace', () => {
    const id = table.register(new Res('leaky'), T, 'main', 'create Leaky');
    table.incref(id, 'worker-7');
    const message = failureOf(() => expect(table).toHaveRefcount(id, 1));
    expect(message).toContain(
      `Expected id ${id} to have refcount 1, but it has 2 (main=1, worker-7=1)`,
    );
    expect(message).toContain(
      `  ${id}:       refcount=2\n    Res(leaky)\n    holders: main=1, worker-7=1`,
    );
    expect(message).toMatch(/#1 .*create .*holder=main .*create Leaky/);
    expect(message).toMatch(/#2 .*incref .*holder=worker-7/);
    const notMessage = failureOf(() => expect(table).not.toHaveRefcount(id, 2));
    expect(notMessage).toContain(`Expected id ${id} not to have refcount 2`);
    expect(notMessage).toContain('holders: main=1, worker-7=1');
    table.releaseHolder('main');
    table.releaseHolder('worker-7');
  });

  it('shows only the last 20 trace events', () => {
    const id = table.register({}, T, 'main');
    for (let i = 0; i < 30; i++) table.incref(id, 'main');
    const message = failureOf(() => expect(table).toHaveRefcount(id, 5));
    expect(message).toContain('Trace (last 20 events of 31)');
    expect(message).not.toMatch(/#11 /);
    expect(message).toMatch(/#12 /);
    expect(message).toMatch(/#31 /);
    table.releaseHolder('main');
  });

  it('says how to get a trace when the ring buffer is off', () => {
    const quiet = new ObjectTable({ name: 'quiet' });
    const message = failureOf(() => expect(quiet).toHaveRefcount(1, 1));
    expect(message).toContain('but it has 0 (not in the table)');
    expect(message).toContain('(empty)');
    expect(message).toContain('traceBufferSize');
  });

  it('takes a proxy as the id, or as the received with one argument', async () => {
    const id = table.register({}, T, 'main');
    const proxy = fakeProxy(table, id);
    expect(table).toHaveRefcount(proxy, 1);
    expect(table).not.toHaveRefcount(proxy, 2);
    await expect(proxy).toHaveRefcount(1);
    await expect(proxy).not.toHaveRefcount(3);
    await expect(proxy).toHaveRefcount(proxy, 1);
    table.decref(id, 'main');
    await expect(proxy).toHaveRefcount(0);
  });

  it('is asynchronous when the snapshot is a promise, and fails with the same message', async () => {
    const id = table.register(new Res('async'), T, 'main');
    const manager: Inspectable = { [inspectSymbol]: () => Promise.resolve(table[inspectSymbol]()) };
    const result = refcountMatchers.toHaveRefcount.call({ isNot: false }, manager, id, 1);
    expect(result).toBeInstanceOf(Promise);
    expect(refcountMatchers.toHaveRefcount.call({ isNot: false }, table, id, 1)).not.toBeInstanceOf(
      Promise,
    );
    await expect(manager).toHaveRefcount(id, 1);
    const message = await asyncFailureOf(() => expect(manager).toHaveRefcount(id, 4));
    expect(message).toContain(`but it has 1 (main=1)`);
    expect(message).toContain('Res(async)');
    expect(message).toMatch(/#1 .*create/);
    const notMessage = await asyncFailureOf(() => expect(manager).not.toHaveRefcount(id, 1));
    expect(notMessage).toContain('not to have refcount 1');
    table.decref(id, 'main');
    await expect(manager).toHaveNoLiveObjects();
  });

  it('throws a clear error for a value that is not inspectable or a bad id', () => {
    expect(failureOf(() => expect({}).toHaveRefcount(1, 1))).toContain('must be inspectable');
    expect(failureOf(() => expect(table).toHaveRefcount(1))).toContain(
      'toHaveRefcount(refcount) takes the count of a received proxy',
    );
    // The refcount forgotten: said so, not blamed on the received value.
    const proxy = fakeProxy(table, 1);
    expect(failureOf(() => expect(table).toHaveRefcount(proxy as never))).toContain(
      'the expected refcount is missing',
    );
    expect(failureOf(() => expect(table).toHaveRefcount('x' as unknown as number, 1))).toContain(
      'the id must be',
    );
    expect(failureOf(() => expect(table).toHaveRefcount(1, -1))).toContain('non-negative integer');
  });
});

describe('toHaveNoLiveObjects', () => {
  it('passes on an empty table and fails listing the leaks', () => {
    expect(table).toHaveNoLiveObjects();
    const id = table.register(new Res('leak'), T, 'w1');
    expect(table).not.toHaveNoLiveObjects();
    const message = failureOf(() => expect(table).toHaveNoLiveObjects());
    expect(message).toContain('1 is still in the table');
    expect(message).toContain(`  ${id}:       refcount=1\n    Res(leak)\n    holders: w1=1`);
    expect(message).toMatch(/create .*holder=w1/);
    table.releaseHolder('w1');
    expect(failureOf(() => expect(table).not.toHaveNoLiveObjects())).toContain('it is empty');
    expect(table).toHaveNoLiveObjects();
  });
});

describe('toHaveTraced', () => {
  it('matches partial events as an ordered subsequence', () => {
    const id = table.register(new Res('t'), T, 'main');
    table.incref(id, 'w');
    table.releaseHolder('w', 'thread exited');
    table.decref(id, 'main');
    expect(table).toHaveTraced([
      { op: 'create', id },
      { op: 'dispose', id },
    ]);
    expect(table).toHaveTraced([
      { op: 'create', id, holder: 'main', refcount: 1 },
      { op: 'incref', holder: 'w', refcount: 2 },
      { op: 'release-holder', holder: 'w', cause: 'thread exited' },
      { op: 'decref' },
      { op: 'dispose', refcount: 0 },
    ]);
    // asymmetric matchers work through jest's equals
    expect(table).toHaveTraced([
      { op: 'release-holder', cause: expect.stringContaining('exited'), time: expect.any(Number) },
    ]);
    // wrong order
    expect(table).not.toHaveTraced([{ op: 'dispose' }, { op: 'create' }]);
    // one event cannot match two patterns
    expect(table).not.toHaveTraced([{ op: 'create' }, { op: 'create' }]);
    expect(table).toHaveNoLiveObjects();
  });

  it('its failure message shows which pattern is missing and the trace', () => {
    const id = table.register({}, T, 'main');
    const message = failureOf(() =>
      expect(table).toHaveTraced([
        { op: 'create', id },
        { op: 'dispose', id },
      ]),
    );
    expect(message).toContain('matched 1 of 2, the first missing is #2');
    expect(message).toContain(`✓ {op: "create", id: ${id}}`);
    expect(message).toContain(`✗ {op: "dispose", id: ${id}}`);
    expect(message).toMatch(/#1 .*create/);
    expect(message).toContain('holders: main=1');
    const notMessage = failureOf(() => expect(table).not.toHaveTraced([{ op: 'create' }]));
    expect(notMessage).toContain('not to contain these events in order, but it does (at seq 1)');
    table.decref(id, 'main');
  });

  it('works asynchronously', async () => {
    const id = table.register({}, T, 'main');
    const proxy = fakeProxy(table, id);
    await expect(proxy).toHaveTraced([{ op: 'create', id }]);
    await expect(proxy).not.toHaveTraced([{ op: 'dispose', id }]);
    table.decref(id, 'main');
    await expect(proxy).toHaveTraced([{ op: 'dispose', id }]);
  });

  it('.not fails when the trace shows none of the events (ring buffer off); a wrapped ring is checked over what it holds', () => {
    const unbuffered = new ObjectTable({ name: 'unbuffered' });
    const gone = unbuffered.register({}, T, 'main');
    unbuffered.decref(gone, 'main');
    expect(
      failureOf(() => expect(unbuffered).not.toHaveTraced([{ op: 'dispose', id: gone }])),
    ).toContain('Cannot tell: the trace shows none of the 3 events of this table');
    const small = new ObjectTable({ name: 'small', traceBufferSize: 2 });
    const first = small.register({}, T, 'main');
    small.decref(first, 'main');
    small.decref(small.register({}, T, 'main'), 'main');
    // The ring holds the last two events (the second object's decref and dispose).
    expect(small).not.toHaveTraced([{ op: 'create', id: first }]);
    expect(failureOf(() => expect(small).not.toHaveTraced([{ op: 'dispose' }]))).toContain(
      'not to contain these events in order',
    );
    // A positive assertion says why an event may be missing.
    expect(failureOf(() => expect(small).toHaveTraced([{ op: 'create', id: first }]))).toContain(
      'the 4 events before the trace shown are not kept',
    );
    // A complete trace answers .not as before.
    expect(table).not.toHaveTraced([{ op: 'dispose' }]);
  });

  it('refuses an empty list of events', () => {
    expect(failureOf(() => expect(table).toHaveTraced([]))).toContain(
      'expected a non-empty array of partial trace events, got []',
    );
  });

  it('refuses a non-array', () => {
    expect(failureOf(() => expect(table).toHaveTraced({ op: 'create' } as never))).toContain(
      'array of partial trace events',
    );
  });
});

describe('installRefcountMatchers', () => {
  it('throws a clear error without a global expect', () => {
    const saved = (globalThis as { expect?: unknown }).expect;
    (globalThis as { expect?: unknown }).expect = undefined;
    let thrown: unknown;
    try {
      installRefcountMatchers();
    } catch (error) {
      thrown = error;
    } finally {
      (globalThis as { expect?: unknown }).expect = saved;
    }
    expect(String(thrown)).toContain('no global `expect`');
  });
});
