/** The inspector's model without threads: warnings, cycles, an object's life, ages. */
import type { DebugEntry, TraceEvent, TraceOp } from '@managers/refcount';
import { buildSnapshot, cyclicIds, TraceStore } from '@managers/inspector';
import { formatDuration, nextHandoffDeadline } from '../src/model';

const settings = { handoffWarningMs: 1000, growthWarningCount: 3 };
let seq = 0;
function event(
  op: TraceOp,
  id: number,
  holder: string,
  delta: number,
  refcount: number,
  time = 1000,
  cause: string = op,
): TraceEvent {
  return { seq: ++seq, time, op, id, typeid: 'T', holder, delta, refcount, cause, table: 'm' };
}
function entry(id: number, holders: Record<string, number>): DebugEntry {
  const refcount = Object.values(holders).reduce((sum, count) => sum + count, 0);
  return { id, typeid: 'T', refcount, holders, repr: `T(${id})` };
}

test('objects held only by the server are warned about, with the cycle they are on', () => {
  const store = new TraceStore(100);
  const snapshot = buildSnapshot(
    'm',
    [entry(1, { main: 1 }), entry(2, { server: 1 }), entry(3, { server: 1 })],
    [
      { from: 2, to: 3, count: 1 },
      { from: 3, to: 2, count: 1 },
    ],
    store,
    settings,
    5000,
  );
  expect(snapshot.cyclic).toEqual([2, 3]);
  expect(snapshot.warnings.map((warning) => [warning.kind, warning.id])).toEqual([
    ['server-only', 2],
    ['server-only', 3],
  ]);
  expect(snapshot.warnings[0]!.message).toBe(
    '#2 T is held only by the server (proxies inside #3), on a cycle: no thread can reach it, so it lives until shutdown',
  );
  expect(snapshot.holders.map((holder) => [holder.holder, holder.kind, holder.references])).toEqual(
    [
      ['main', 'thread', 1],
      ['server', 'server', 2],
    ],
  );
});

test('cyclicIds finds strongly connected components and self-loops, not chains', () => {
  const edges = (pairs: [number, number][]) => pairs.map(([from, to]) => ({ from, to, count: 1 }));
  expect([
    ...cyclicIds(
      edges([
        [1, 2],
        [2, 3],
      ]),
    ),
  ]).toEqual([]);
  expect([...cyclicIds(edges([[4, 4]]))]).toEqual([4]);
  expect(
    [
      ...cyclicIds(
        edges([
          [1, 2],
          [2, 3],
          [3, 1],
          [3, 5],
        ]),
      ),
    ].sort(),
  ).toEqual([1, 2, 3]);
});

test('a holder whose connection closed but still holds references is "gone"', () => {
  const store = new TraceStore(100);
  store.add(event('create', 1, 'thread-7', 1, 1));
  store.add(event('release-holder', 1, 'thread-7', -1, 0, 1200, 'connection closed: thread-7'));
  const snapshot = buildSnapshot('m', [entry(1, { 'thread-7': 1 })], [], store, settings, 2000);
  expect(snapshot.holders[0]!.gone).toBe(true);
  expect(snapshot.warnings).toEqual([
    expect.objectContaining({ kind: 'gone-holder', holder: 'thread-7' }),
  ]);
});

test('a handoff not adopted within handoffWarningMs is a warning; the deadline says when', () => {
  const store = new TraceStore(100);
  store.add(event('create', 1, 'main', 1, 1, 1000));
  store.add(event('handoff', 1, 'handoff:main>2', 1, 2, 1500));
  const entries = [entry(1, { main: 1, 'handoff:main>2': 1 })];
  const early = buildSnapshot('m', entries, [], store, settings, 2000);
  expect(early.warnings).toEqual([]);
  expect(nextHandoffDeadline(early.holders, settings, 2000)).toBe(2500);
  const late = buildSnapshot('m', entries, [], store, settings, 2600);
  expect(late.warnings).toEqual([
    expect.objectContaining({ kind: 'unadopted-handoff', holder: 'handoff:main>2' }),
  ]);
  // Adopted: the handoff holder is no longer listed, so no warning.
  store.add(event('adopt', 1, 'thread-3', 0, 2, 2700, 'handoff adopted (from handoff:main>2)'));
  const adopted = buildSnapshot(
    'm',
    [entry(1, { main: 1, 'thread-3': 1 })],
    [],
    store,
    settings,
    9000,
  );
  expect(adopted.warnings).toEqual([]);
});

test('a refcount that only grows is a warning; one drop clears it', () => {
  const store = new TraceStore(100);
  store.add(event('create', 1, 'main', 1, 1));
  for (let count = 2; count <= 4; count++) store.add(event('incref', 1, 'main', 1, count));
  const growing = buildSnapshot('m', [entry(1, { main: 4 })], [], store, settings, 2000);
  expect(growing.warnings).toEqual([
    expect.objectContaining({
      kind: 'growing',
      id: 1,
      message: expect.stringContaining('grew 3 times'),
    }),
  ]);
  store.add(event('decref', 1, 'main', -1, 3));
  expect(buildSnapshot('m', [entry(1, { main: 3 })], [], store, settings, 2000).warnings).toEqual(
    [],
  );
});

test('the store keeps each object’s life, ignores repeated seqs, and knows exact ages', () => {
  const store = new TraceStore(3);
  const create = event('create', 1, 'main', 1, 1, 100);
  expect(store.add(create)).toBe(true);
  expect(store.add(create)).toBe(false);
  store.add(event('incref', 2, 'main', 1, 1, 150));
  for (let i = 0; i < 5; i++) store.add(event('incref', 1, 'main', 1, 2 + i, 200 + i));
  expect(store.events().map((item) => item.seq)).toEqual([seq - 2, seq - 1, seq]);
  expect(store.object(1)!.events).toHaveLength(6);
  const snapshot = buildSnapshot(
    'm',
    [entry(1, { main: 6 }), entry(2, { main: 1 })],
    [],
    store,
    { handoffWarningMs: 1000, growthWarningCount: 100 },
    1000,
  );
  expect(snapshot.objects.map((object) => [object.id, object.since, object.exactAge])).toEqual([
    [1, 100, true],
    [2, 150, false],
  ]);
  expect(formatDuration(850)).toBe('850 ms');
  expect(formatDuration(12_340)).toBe('12.3 s');
  expect(formatDuration(250_000)).toBe('4 min 10 s');
});
