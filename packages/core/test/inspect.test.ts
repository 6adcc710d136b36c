/** The refcount matchers on a real manager and its proxies, and the trace on diagnostics_channel. */
import diagnosticsChannel from 'node:diagnostics_channel';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { release, tokenOf, TRACE_CHANNEL_NAME, type TraceEvent } from '@managers/core';
import { ContainerManager } from './fixtures/containers';
import { MagManager } from './fixtures/magnifier';
import { MAGNIFIER_MODULE, sleep } from './helpers';

installRefcountMatchers();

test('toHaveRefcount / toHaveNoLiveObjects / toHaveTraced accept a manager and a proxy', async () => {
  await using manager = await MagManager.start({ module: MAGNIFIER_MODULE });
  const mag = await manager.Mag(2);
  const again = await manager.Mag(2);
  await expect(manager).toHaveRefcount(mag, 2);
  await expect(mag).toHaveRefcount(2);
  await expect(manager).not.toHaveRefcount(mag, 1);
  await expect(manager).toHaveTraced([
    { op: 'create', typeid: 'Mag', holder: 'main' },
    { op: 'incref', holder: 'main', refcount: 2 },
  ]);
  // A failing matcher prints the table (with holders) and the trace.
  const failing = expect(manager).toHaveRefcount(mag, 5) as unknown as Promise<void>;
  const failure = await failing.then(
    () => undefined,
    (error: Error) => error,
  );
  expect(String(failure?.message)).toContain('holders: main=2');
  release(again);
  await mag[Symbol.asyncDispose]();
  await expect(manager).toHaveNoLiveObjects();
  expect(await manager.numberOfObjects()).toBe(0);
});

test('forwardTrace publishes the server trace on this thread’s diagnostics channel', async () => {
  const events: TraceEvent[] = [];
  const listener = (event: unknown) => events.push(event as TraceEvent);
  diagnosticsChannel.subscribe(TRACE_CHANNEL_NAME, listener);
  try {
    await using manager = await MagManager.start({ module: MAGNIFIER_MODULE, forwardTrace: true });
    const mag = await manager.Magnifier(3);
    await mag[Symbol.asyncDispose]();
    expect(await manager.numberOfObjects()).toBe(0);
    for (let i = 0; i < 50 && events.length < 3; i++) await sleep(5);
    expect(events.map((event) => [event.op, event.typeid, event.holder])).toEqual([
      ['create', 'Magnifier', 'main'],
      ['decref', 'Magnifier', 'main'],
      ['dispose', 'Magnifier', ''],
    ]);
    manager.forwardTrace(false);
    const other = await manager.Magnifier(4);
    await other[Symbol.asyncDispose]();
    expect(await manager.numberOfObjects()).toBe(0);
    await sleep(20);
    expect(events).toHaveLength(3);
  } finally {
    diagnosticsChannel.unsubscribe(TRACE_CHANNEL_NAME, listener);
  }
});

test('references() lists the server-side proxies each hosted object holds, cycles included', async () => {
  await using manager = await ContainerManager.start({
    module: require.resolve('./fixtures/containers'),
  });
  const dict = await manager.Dict();
  const list = await manager.List();
  await dict.set('list', list);
  await dict.set('again', list);
  await list.append(dict);
  const dictId = tokenOf(dict).id;
  const listId = tokenOf(list).id;
  const references = await manager.references();
  expect([...references].sort((a, b) => a.from - b.from)).toEqual([
    { from: dictId, to: listId, count: 2 },
    { from: listId, to: dictId, count: 1 },
  ]);
  await list.clear();
  await dict.delete('list');
  await dict.delete('again');
  expect(await manager.references()).toEqual([]);
  release(dict);
  release(list);
  await expect(manager).toHaveNoLiveObjects();
});

test('the matchers refuse a proxy of another manager, and say what to do with a released proxy', async () => {
  await using first = await MagManager.start({ module: MAGNIFIER_MODULE, name: 'first' });
  await using second = await MagManager.start({ module: MAGNIFIER_MODULE, name: 'second' });
  const mine = await first.Mag(2);
  const theirs = await second.Mag(3);
  // Both are id 1, each in its own table: the check must not read first's id 1 for theirs.
  expect(tokenOf(mine).id).toBe(tokenOf(theirs).id);
  const failure = (promise: unknown) =>
    (promise as Promise<void>).then(
      () => 'passed',
      (error: Error) => error.message,
    );
  expect(await failure(expect(first).toHaveRefcount(theirs, 1))).toContain(
    "the proxy belongs to another manager than the received one ('first')",
  );
  await expect(second).toHaveRefcount(theirs, 1);
  release(theirs);
  expect(await failure(expect(theirs).toHaveRefcount(0))).toContain(
    "the received proxy was released, so it cannot read its manager's table",
  );
  await expect(second).toHaveRefcount(theirs, 0);
  await expect(second).toHaveNoLiveObjects();
  release(mine);
  await expect(first).toHaveNoLiveObjects();
  expect(await first.numberOfObjects()).toBe(0);
  expect(await second.numberOfObjects()).toBe(0);
});
