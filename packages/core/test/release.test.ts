/** Release (R5): every way of giving a reference back, batching, the in-flight pin, and GC. */
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { lend, release, tokenOf } from '@managers/core';
import { Agent } from './fixtures/agent';
import { RawServer, settle } from './fixtures/raw-server';
import { KitchenManager } from './fixtures/kitchen';
import { MagManager } from './fixtures/magnifier';
import { forceGC, KITCHEN_MODULE, MAGNIFIER_MODULE, pollUntil, sleep, tick } from './helpers';

type MagManagerInstance = Awaited<ReturnType<typeof MagManager.start>>;
let manager: MagManagerInstance;
beforeAll(async () => {
  manager = await MagManager.start({ module: MAGNIFIER_MODULE });
});
afterAll(async () => {
  await manager?.shutdown();
});
afterEach(() => jest.restoreAllMocks());

const refcountOf = async (id: number) =>
  (await manager.entries()).find((row) => row.id === id)?.refcount ?? 0;

test('each way of releasing drops the refcount by one', async () => {
  const proxies = await Promise.all([1, 2, 3, 4, 5].map(() => manager.Mag(7)));
  const id = tokenOf(proxies[0]!).id;
  expect(proxies.every((proxy) => tokenOf(proxy).id === id)).toBe(true);
  expect(await refcountOf(id)).toBe(5);

  proxies[0]![Symbol.dispose]();
  expect(await refcountOf(id)).toBe(4);
  {
    using scoped = proxies[1]!;
    expect(await scoped.scale(1)).toBe(7);
  }
  expect(await refcountOf(id)).toBe(3);
  release(proxies[2]!);
  expect(await refcountOf(id)).toBe(2);
  await proxies[3]![Symbol.asyncDispose]();
  expect(await refcountOf(id)).toBe(1);
  // Idempotent: releasing the same proxy again changes nothing.
  proxies[0]![Symbol.dispose]();
  release(proxies[3]!);
  expect(await refcountOf(id)).toBe(1);
  expect(proxies.slice(0, 4).every((proxy) => proxy.released)).toBe(true);
  expect(proxies[4]!.released).toBe(false);
  {
    await using last = proxies[4]!;
    expect(await last.scale(2)).toBe(14);
  }
  expect(await manager.numberOfObjects()).toBe(0);
});

test('releases made in one tick travel as one message', async () => {
  const proxies = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => manager.Magnifier(n)));
  const ids = proxies.map((proxy) => tokenOf(proxy).id);
  const traceBefore = (await manager.trace()).at(-1)!.seq;
  await tick();
  const post = jest.spyOn(MessagePort.prototype, 'postMessage');
  for (const proxy of proxies) proxy[Symbol.dispose]();
  await tick();
  const sent = post.mock.calls.map(([message]) => message as { t: string; ids?: number[] });
  post.mockRestore();
  expect(sent).toEqual([{ t: 'release', ids }]);
  const decrefs = (await manager.trace()).filter(
    (event) => event.seq > traceBefore && event.op === 'decref',
  );
  expect(decrefs.map((event) => event.id)).toEqual(ids);
  expect(
    decrefs.every((event) => event.holder === 'main' && event.cause === 'proxy released'),
  ).toBe(true);
  // All six were handled in one go: their decref events are consecutive.
  const seqs = decrefs.map((event) => event.seq);
  const span = (await manager.trace()).filter(
    (event) => event.seq >= seqs[0]! && event.seq <= seqs.at(-1)!,
  );
  expect(span.every((event) => ids.includes(event.id))).toBe(true);
  expect(await manager.numberOfObjects()).toBe(0);
});

/** Starts a slow call on a proxy nobody keeps: only the pending call references it. */
function slowCallOnUnreferencedProxy(kitchen: Awaited<ReturnType<typeof KitchenManager.start>>) {
  return kitchen.Toolbox().then((toolbox) => toolbox.gate());
}

test('a proxy is kept alive while a call on it is in flight, and collected after', async () => {
  await using kitchen = await KitchenManager.start({ module: KITCHEN_MODULE });
  const result = slowCallOnUnreferencedProxy(kitchen);
  const opener = await kitchen.Toolbox();
  await sleep(20);
  expect(await kitchen.numberOfObjects()).toBe(2);
  await forceGC(3);
  await sleep(20);
  expect(await kitchen.numberOfObjects()).toBe(2);
  expect(await opener.openGate()).toBe(1);
  expect(await result).toBe('opened');
  release(opener);
  // Finalization callbacks run some time after a collection: up to 5 s on a loaded machine.
  let count = await kitchen.numberOfObjects();
  for (const deadline = Date.now() + 5000; count !== 0 && Date.now() < deadline;) {
    await forceGC(2);
    await sleep(10);
    count = await kitchen.numberOfObjects();
  }
  expect(count).toBe(0);
  const decref = (await kitchen.trace()).find((event) => event.op === 'decref');
  expect(decref).toMatchObject({ typeid: 'Toolbox', holder: 'main', cause: 'proxy released' });
});

/** Creates a proxy and drops it: no local keeps it alive. */
async function createAndDrop(): Promise<number> {
  const mag = await manager.Magnifier(9);
  expect(await mag.scale(1)).toBe(9);
  return tokenOf(mag).id;
}

test('a proxy collected without release gives its reference back (FinalizationRegistry)', async () => {
  const id = await createAndDrop();
  expect(await refcountOf(id)).toBe(1);
  let count = await manager.numberOfObjects();
  for (const deadline = Date.now() + 5000; count !== 0 && Date.now() < deadline;) {
    await forceGC(2);
    count = await pollUntil(() => manager.numberOfObjects(), 0, 20);
  }
  expect(count).toBe(0);
  const dispose = (await manager.trace()).filter((event) => event.id === id).map((e) => e.op);
  expect(dispose).toEqual(['create', 'decref', 'dispose']);
});

test('a table query is answered after the messages other connections sent before it, whatever order the server reads its ports in', async () => {
  await using raw = new RawServer();
  const id = await raw.owner.create('Toolbox');
  const other = await raw.connect(raw.owner, 'other', [id]);
  expect(raw.table.holders(id)).toEqual({ main: 1, other: 1 });
  // Both wait on their ports when the server's thread next reads them; it reads the owner's
  // (opened first) first. The release was sent first: the count must not see the object held
  // twice.
  other.send({ t: 'release', ids: [id] });
  const count = raw.owner.call(0, '#debug');
  // The owner's messages sent after the query wait for its answer: it shows none of them.
  raw.owner.send({ t: 'release', ids: [id] });
  const entries = (await count).v as { id: number; refcount: number }[];
  expect(entries).toEqual([expect.objectContaining({ id, refcount: 1 })]);
  await settle();
  expect(raw.table.numberOfObjects()).toBe(0);
});

test('a thread that releases a proxy, then tells another thread, has the release seen by that thread’s next query', async () => {
  // The worker releases and replies in the same turn (the agent posts its reply at once): the
  // release leaves before the reply, and the query waits for what other ports brought first.
  const mag = await manager.Mag(3);
  const id = tokenOf(mag).id;
  await using agent = new Agent();
  for (let round = 0; round < 20; round++) {
    const slot = (await agent.hold(mag)) - 1;
    expect(await refcountOf(id)).toBe(2);
    await agent.run({ cmd: 'release', slot });
    expect([round, await refcountOf(id)]).toEqual([round, 1]);
  }
  mag[Symbol.dispose]();
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('releases leave before anything the thread posts next, however they were queued', async () => {
  const [a, b, c, lent] = await Promise.all([11, 12, 13, 14].map((coef) => manager.Mag(coef)));
  const idOf = (proxy: object) => tokenOf(proxy).id;
  const { port1, port2 } = new MessageChannel();
  port2.on('message', () => undefined);
  // Every post of this thread, in the order it leaves (logged once it has left, so that the
  // releases a post sends first come before it).
  const posted: string[] = [];
  const describe = (message: unknown): string => {
    const items =
      (message as { t?: string; m?: unknown[] }).t === 'batch'
        ? (message as { m: unknown[] }).m
        : [message];
    return items
      .map((item) => item as { t?: string; ids?: number[] })
      .filter((item) => item.t === 'release')
      .map((item) => `release ${item.ids!.join(',')}`)
      .join(' ');
  };
  const prototype = MessagePort.prototype as unknown as {
    postMessage: (...args: unknown[]) => void;
  };
  const guarded = prototype.postMessage;
  prototype.postMessage = function (this: MessagePort, ...args: unknown[]) {
    guarded.apply(this, args);
    posted.push(this === port1 ? `user ${String(args[0])}` : describe(args[0]));
  };
  try {
    release(a);
    port1.postMessage('first');
    // A second release in the same turn, after a post took the first.
    release(b);
    port1.postMessage('second');
    // A release a deferred message (a loan's end) moved into the queue.
    const loan = lend({ lent });
    release(c);
    loan.end();
    port1.postMessage('third');
  } finally {
    prototype.postMessage = guarded;
  }
  const at = (entry: string) => posted.findIndex((item) => item.includes(entry));
  expect(at(`release ${idOf(a)}`)).toBeGreaterThanOrEqual(0);
  expect(at(`release ${idOf(a)}`)).toBeLessThan(at('user first'));
  expect(at(`release ${idOf(b)}`)).toBeGreaterThan(at('user first'));
  expect(at(`release ${idOf(b)}`)).toBeLessThan(at('user second'));
  expect(at(`release ${idOf(c)}`)).toBeGreaterThan(at('user second'));
  expect(at(`release ${idOf(c)}`)).toBeLessThan(at('user third'));
  port1.close();
  lent[Symbol.dispose]();
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('an object’s own view (what a proxy’s matchers read) also waits for what other ports brought first', async () => {
  await using raw = new RawServer();
  const id = await raw.owner.create('Toolbox');
  const other = await raw.connect(raw.owner, 'other', [id]);
  other.send({ t: 'release', ids: [id] });
  const view = (await raw.owner.call(id, '#inspect')).v as {
    entries: { id: number; refcount: number }[];
  };
  expect(view.entries.find((entry) => entry.id === id)?.refcount).toBe(1);
  raw.owner.send({ t: 'release', ids: [id] });
  await settle();
  expect(raw.table.numberOfObjects()).toBe(0);
});

test('messages held behind a query are bounded: a batch past the bound closes its connection, and the server keeps serving', async () => {
  await using raw = new RawServer();
  const id = await raw.owner.create('Toolbox');
  const flooder = await raw.connect(raw.owner, 'flooder', [id]);
  const batch: unknown[] = [{ t: 'call', rid: 1, id: 0, method: '#count', args: [] }];
  for (let index = 0; index < 4100; index++)
    batch.push({ t: 'call', rid: 2 + index, id, method: 'count', args: [] });
  flooder.send({ t: 'batch', m: batch });
  await settle(10);
  expect(flooder.closed).toBe(true);
  expect(flooder.refusals).toEqual([expect.stringMatching(/more than 4096 messages/)]);
  // Its reference went with it; the server still answers the others.
  expect(raw.table.holders(id)).toEqual({ main: 1 });
  expect((await raw.owner.call(id, 'echo', [5])).v).toBe(5);
  raw.owner.send({ t: 'release', ids: [id] });
  await settle();
  expect(raw.table.numberOfObjects()).toBe(0);
});
