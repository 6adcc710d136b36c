/** Synchronous proxies: values, errors, nested proxies, order with async calls, timeouts, server death. */
import { installRefcountMatchers } from '@managers/refcount/jest';
import {
  ErrorCode,
  isSyncProxy,
  release,
  syncProxy,
  tokenOf,
  withCallOptions,
  createWorker,
} from '@managers/core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SyncTestManager } from './fixtures/sync-objects';
import { thrown, tick } from './helpers';

const SYNC_MODULE = require.resolve('./fixtures/sync-objects');

installRefcountMatchers();

test('the main thread calls a managed object synchronously and gets values, not promises', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  const sync = syncProxy(counter);
  const value = sync.increment(5);
  expect(value).toBe(5);
  expect(sync.increment()).toBe(6);
  expect(sync.calls()).toEqual(['increment 5', 'increment 1']);
  expect(isSyncProxy(sync)).toBe(true);
  expect(isSyncProxy(counter)).toBe(false);
  expect(sync.token).toBe(counter.token);
  // an async method of the hosted object is awaited by the server
  expect(sync.slowIncrement(5)).toBe(7);
  // the async form still works beside it
  expect(await counter.increment(1)).toBe(8);
  release(counter);
  await expect(manager).toHaveNoLiveObjects();
});

test('every kind of value comes back: inline primitives and cloned values alike', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const sync = syncProxy(counter);
  const long = 'ü'.repeat(2000); // longer than an inline string
  const values: unknown[] = [
    0,
    -1.5,
    Number.MAX_SAFE_INTEGER,
    NaN,
    Infinity,
    true,
    false,
    null,
    undefined,
    '',
    'héllo ✓ 🎉',
    long,
    10n,
    { a: [1, { b: 'c' }] },
    [1, 'two'],
    new Map([[1, 2]]),
  ];
  for (const value of values) expect(sync.echo(value)).toEqual(value);
  expect(Object.is(sync.echo(-0), -0)).toBe(true);
  // a timed-out call's late inline reply is never taken for the next call's
  expect(thrown(() => syncProxy(counter, { timeout: 20 }).sleep(150)).code).toBe(ErrorCode.Timeout);
  expect(sync.echo('next')).toBe('next');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(sync.echo(42)).toBe(42);
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('the sync proxy shares the proxy reference: no new reference, one release for both', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  const sync = syncProxy(counter);
  sync.increment();
  const [entry] = await manager.entries();
  expect(entry!.refcount).toBe(1);
  release(sync);
  expect(counter.released).toBe(true);
  expect(thrown(() => sync.increment()).code).toBe(ErrorCode.ProxyReleased);
  await expect(counter.increment()).rejects.toMatchObject({ code: ErrorCode.ProxyReleased });
  await expect(manager).toHaveNoLiveObjects();
});

test('errors are thrown synchronously with name, code, cause and remoteStack', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const sync = syncProxy(counter);
  const error = thrown(() => sync.fail('boom'));
  expect(error.name).toBe('TypeError');
  expect(error.code).toBe(ErrorCode.Remote);
  expect(error.message).toBe('boom');
  expect(error.cause).toMatchObject({ name: 'RangeError', message: 'the cause' });
  expect(error.remoteStack).toContain('fail');
  expect(error.details).toMatchObject({ typeid: 'Counter', method: 'fail' });
  const coded = thrown(() => sync.failWithCode());
  expect(coded.code).toBe(ErrorCode.InvalidOption);
  expect(coded.details).toMatchObject({ option: 'by' });
  // a result that cannot be cloned
  expect(thrown(() => sync.unclonable()).code).toBe(ErrorCode.Unserializable);
  // a method that is not exposed, through callMethod
  expect(
    thrown(() => (sync as unknown as { callMethod(m: string): unknown }).callMethod('nope')).code,
  ).toBe(ErrorCode.NotExposed);
  // an argument that cannot be cloned throws at once, and the channel still works after
  expect(thrown(() => sync.increment((() => 1) as unknown as number)).name).toBe('DataCloneError');
  expect(sync.increment(2)).toBe(2);
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('methodToTypeid methods return synchronous proxies that own their reference', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  const sync = syncProxy(counter);
  const child = sync.child(10);
  expect(isSyncProxy(child)).toBe(true);
  expect(child.increment()).toBe(11);
  expect(tokenOf(child).typeid).toBe('Counter');
  const grandchild = child.child(100);
  expect(grandchild.increment(2)).toBe(102);
  expect(await manager.numberOfObjects()).toBe(3);
  release(counter);
  release(child);
  release(grandchild);
  await expect(manager).toHaveNoLiveObjects();
});

test('sync and async calls on one proxy run in program order', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const sync = syncProxy(counter);
  const first = counter.slowIncrement(300); // queued, not yet posted
  const second = counter.increment(10);
  // posted after both: the slow one began first, and is still sleeping
  expect(sync.increment(100)).toBe(110);
  const third = counter.increment(1000);
  expect(sync.calls()).toEqual(['slow 300', 'increment 10', 'increment 100', 'increment 1000']);
  // the async replies the server sent meanwhile are not lost
  expect(await second).toBe(10);
  expect(await third).toBe(1110);
  expect(await first).toBe(1111);
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('a thread in a loop of synchronous calls keeps its order, alone and beside another caller', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  using other = await manager.Counter();
  const stop = new SharedArrayBuffer(4);
  // Alone at first: the server watches for its calls between messages (sync-server.ts).
  const worker = createWorker(require.resolve('./fixtures/sync-loop-worker.ts'), {
    workerData: { counter, stop, calls: 20_000 },
  });
  const messages: { t: string }[] = [];
  let heard: () => void = () => undefined;
  worker.on('message', (message: { t: string }) => {
    messages.push(message);
    heard();
  });
  const next = async (t: string) => {
    while (!messages.some((message) => message.t === t)) {
      await new Promise<void>((resolve, reject) => {
        heard = resolve;
        worker.once('error', reject);
      });
    }
    return messages.find((message) => message.t === t) as never;
  };
  await next('progress');
  // Then beside another caller, whose awaited calls are all served meanwhile.
  for (let index = 1; index <= 300; index++) expect(await other.increment()).toBe(index);
  Atomics.store(new Int32Array(stop), 0, 1);
  const report: { loops: number; expected: number; outOfOrder: number; asyncReplies: number } =
    await next('report');
  await new Promise((resolve) => worker.once('exit', resolve));
  expect(report.loops).toBeGreaterThanOrEqual(20_000);
  expect(report.outOfOrder).toBe(0);
  expect(report.asyncReplies).toBe(Math.ceil(report.loops / 16));
  expect(await counter.increment(0)).toBe(report.expected);
  release(counter);
  other[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('an async method called before a sync call has finished its work when the sync call runs', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const sync = syncProxy(counter);
  // Back to back, so the server takes the sync calls itself (sync-server.ts's watch): it must
  // still let the async method's `await` resume before it reads the next message.
  let stale = 0;
  let total = 0;
  for (let round = 0; round < 20; round++) {
    const pending: Promise<number>[] = [];
    for (let index = 0; index < 250; index++) {
      pending.push(counter.incrementSoon(1));
      total++;
      if (sync.increment(0) !== total) stale++;
    }
    await Promise.all(pending);
  }
  expect(stale).toBe(0);
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('a synchronous call the server cannot read is dropped, as the event loop drops it; the server stays', async () => {
  // A value only Node's internals can make unreadable: a process of its own with
  // --expose-internals (fixtures/unreadable-message.ts).
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-internals',
      '--conditions=@managers/source',
      '--require',
      require.resolve('tsx/cjs'),
      require.resolve('./fixtures/unreadable-message.ts'),
    ],
    { timeout: 60_000 },
  );
  // The call's reply never comes (its message was dropped): it times out. Then the manager
  // answers, and its table ends empty.
  expect(JSON.parse(stdout.trim())).toEqual({
    code: ErrorCode.Timeout,
    after: 7,
    left: 0,
    timeout: true,
  });
});

test('a timeout (options or withCallOptions) throws ERR_TIMEOUT; the late reply is dropped', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const timed = syncProxy(withCallOptions(counter, { timeout: 50 }));
  const started = Date.now();
  const error = thrown(() => timed.sleep(400));
  expect(error.code).toBe(ErrorCode.Timeout);
  expect(error.message).toBe('Counter.sleep() timed out after 50 ms');
  expect(Date.now() - started).toBeLessThan(350);
  expect(thrown(() => syncProxy(counter, { timeout: 20 }).sleep(400)).code).toBe(ErrorCode.Timeout);
  // the next call reads past the late replies and gets its own
  expect(syncProxy(counter).sleep(0)).toBe('woke');
  expect(syncProxy(counter).increment()).toBe(1);
  const aborted = new AbortController();
  aborted.abort();
  expect(thrown(() => syncProxy(counter, { signal: aborted.signal }).increment()).code).toBe(
    ErrorCode.Aborted,
  );
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('a caller spinning for a quick reply keeps its timeout, and fast and slow calls mix', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  using counter = await manager.Counter();
  const sync = syncProxy(counter);
  // Fast calls: the caller spins for their replies (sync-channel.ts, SYNC_SPIN_MS).
  for (let index = 1; index <= 200; index++) expect(sync.increment()).toBe(index);
  // A timeout shorter than the spin still ends the call when it is due.
  const quick = syncProxy(counter, { timeout: 0.02 });
  expect(thrown(() => quick.sleep(100)).code).toBe(ErrorCode.Timeout);
  // A slow call answered after the spin (the caller sleeps), then fast ones again.
  expect(sync.sleep(30)).toBe('woke');
  for (let index = 201; index <= 300; index++) expect(sync.increment()).toBe(index);
  counter[Symbol.dispose]();
  await expect(manager).toHaveNoLiveObjects();
});

test('from the server thread itself, syncProxy throws ERR_WOULD_DEADLOCK instead of hanging', async () => {
  await using manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  const holder = await manager.Holder();
  await holder.keep(counter);
  expect(await holder.trySync()).toBe(ErrorCode.WouldDeadlock);
  release(holder);
  release(counter);
  await expect(manager).toHaveNoLiveObjects();
});

test.each([
  ['process.exit() in a hosted method', 'exitServer'],
  ['an uncaught error in the server', 'crashServer'],
])('%s wakes the main thread blocked in a sync call with ERR_MANAGER_CLOSED', async (_, how) => {
  const manager = await SyncTestManager.start({ module: SYNC_MODULE });
  const counter = await manager.Counter();
  const sync = syncProxy(counter);
  await (counter as unknown as Record<string, (code?: number) => Promise<void>>)[how]!(3);
  const started = Date.now();
  const error = thrown(() => sync.sleep(10_000));
  expect(error.code).toBe(ErrorCode.ManagerClosed);
  expect(Date.now() - started).toBeLessThan(5000);
  await tick();
  await manager.shutdown();
});

test.each([
  ['exits without running JavaScript (as on terminate())', 'vanish'],
  ['is shut down', 'shutdown'],
])(
  'a worker thread blocked in a sync call is woken with ERR_MANAGER_CLOSED when the server %s',
  async (_, how) => {
    const manager = await SyncTestManager.start({ module: SYNC_MODULE });
    const counter = await manager.Counter();
    const worker = createWorker(require.resolve('./fixtures/sync-worker.ts'), {
      workerData: { counter },
      execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    });
    release(counter);
    const results: unknown[] = [];
    const calling = new Promise<void>((resolve) =>
      worker.on('message', (message: { t: string }) => {
        if (message.t === 'calling') resolve();
        else results.push(message);
      }),
    );
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await calling;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    if (how === 'vanish') {
      const other = await manager.Counter();
      void other.vanish().catch(() => undefined);
    } else await manager.shutdown();
    await exited;
    expect(results).toEqual([{ t: 'result', code: ErrorCode.ManagerClosed }]);
    expect(Date.now() - started).toBeLessThan(3000);
    await manager.shutdown();
  },
);
