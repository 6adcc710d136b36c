import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { join } from 'node:path';
import {
  createWorker,
  decode,
  discard,
  encode,
  postMessage,
  release,
  type BaseProxy,
} from '@managers/core';
import { MagManager } from './fixtures/magnifier';
import { KitchenManager } from './fixtures/kitchen';
import { Agent } from './fixtures/agent';

const start = () => MagManager.start({ module: require.resolve('./fixtures/magnifier') });

async function refcountOf(manager: Awaited<ReturnType<typeof start>>, id: number): Promise<number> {
  return (await manager.entries()).find((entry) => entry.id === id)?.refcount ?? 0;
}

/** Polls until `check` holds or `ms` pass. */
async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('proxies across threads', () => {
  test('a custom proxy class survives a handoff when the receiving thread loaded its registration', async () => {
    await using kitchen = await KitchenManager.start({
      module: require.resolve('./fixtures/kitchen'),
    });
    await using agent = new Agent();
    const counter = await kitchen.Counter();
    expect(String(counter)).toContain('CounterProxy');
    await agent.hold(counter);
    expect(await agent.run({ cmd: 'describe', slot: 0 })).toContain('<CounterProxy object');
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'increment', args: [] })).toBe(1);
    release(counter);
    await agent.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await kitchen.numberOfObjects()) === 0);
  });

  test('a proxy-returning call still running when its thread is terminated hosts nothing for it', async () => {
    await using kitchen = await KitchenManager.start({
      module: require.resolve('./fixtures/kitchen'),
    });
    await using agent = new Agent();
    const toolbox = await kitchen.Toolbox();
    await agent.hold(toolbox);
    void agent.run({ cmd: 'call', slot: 0, method: 'slowBox', args: [300] }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await agent.worker.terminate();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Only the Toolbox is left, held by main: the Box made after the thread died was not hosted.
    expect((await kitchen.entries()).map((entry) => [entry.typeid, entry.holders])).toEqual([
      ['Toolbox', { main: 1 }],
    ]);
    release(toolbox);
    await eventually(async () => (await kitchen.numberOfObjects()) === 0);
  });

  test('refcount 2 while a worker holds a proxy, 1 after it releases it', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    const id = mag.token.id;
    await agent.hold(mag);
    expect(await refcountOf(manager, id)).toBe(2);
    // The worker names itself on its own port (hello), which the server may read a little later.
    const named = async () =>
      Object.keys((await manager.entries())[0]!.holders).some((holder) =>
        holder.startsWith('thread-'),
      );
    await eventually(named);
    expect((await manager.entries())[0]!.holders.main).toBe(1);
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'scale', args: [5] })).toBe(15);
    await agent.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await refcountOf(manager, id)) === 1);
    mag[Symbol.dispose]();
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('refcount back to 1 when the worker exits without releasing', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    await agent.hold(mag);
    expect(await refcountOf(manager, mag.token.id)).toBe(2);
    void agent.run({ cmd: 'exit' }).catch(() => undefined);
    await agent.exited;
    // Both clocks are epoch-based (performance.timeOrigin + now()), so they compare across threads.
    const exitedAt = performance.timeOrigin + performance.now();
    await eventually(async () => (await refcountOf(manager, mag.token.id)) === 1);
    const released = (await manager.trace()).find(
      (event) => event.op === 'release-holder' && /connection closed: thread-/.test(event.cause),
    );
    expect(released).toBeDefined();
    expect(released!.time - exitedAt).toBeLessThan(50);
    release(mag);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('refcount back to 1 after worker.terminate() in the middle of a stream of calls', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    await agent.hold(mag);
    await agent.run({ cmd: 'stream', slot: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await agent.worker.terminate();
    await eventually(async () => (await refcountOf(manager, mag.token.id)) === 1);
    expect(await mag.scale(2)).toBe(6);
    release(mag);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('the sender releases right after posting: the receiver keeps the object, refcount exactly 1', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(4);
    const id = mag.token.id;
    const sent = agent.hold(mag);
    mag[Symbol.dispose]();
    await sent;
    await eventually(async () => (await refcountOf(manager, id)) === 1);
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'scale', args: [2] })).toBe(8);
    expect(await refcountOf(manager, id)).toBe(1);
    await agent.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('a proxy posted to a worker that exits before reading it is released', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(5);
    const worker = new Worker('setTimeout(() => process.exit(0), 20)', { eval: true });
    const encoded = encode({ mag });
    worker.postMessage(encoded.value, encoded.transferList);
    mag[Symbol.dispose]();
    await once(worker, 'exit');
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('postMessage() to a worker that has exited takes nothing (Node drops the message)', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(5);
    const id = mag.token.id;
    // A plain Worker, and one that had read a proxy (its connection gone with it: the next
    // posts would be directed ones).
    const plain = new Worker('process.exit(0)', { eval: true });
    await once(plain, 'exit');
    const reader = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', () => process.exit(0));`,
      { eval: true },
    );
    postMessage(reader, { mag });
    await once(reader, 'exit');
    for (const worker of [plain, reader]) for (let i = 0; i < 3; i++) postMessage(worker, { mag });
    // Only main's own reference is left, and releasing it disposes the object.
    await eventually(async () => (await refcountOf(manager, id)) === 1);
    expect((await manager.entries()).find((entry) => entry.id === id)?.holders).toEqual({
      main: 1,
    });
    mag[Symbol.dispose]();
    await eventually(async () => (await manager.numberOfObjects()) === 0);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('createWorker(): a port in workerData may also be in the transferList, as a plain Worker needs', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(3);
    const { port1, port2 } = new MessageChannel();
    const worker = createWorker(join(__dirname, 'fixtures', 'echo-port-worker.ts'), {
      workerData: { mag, port: port2 },
      transferList: [port2],
    });
    const [answer] = (await once(port1, 'message')) as [number];
    expect(answer).toBe(6);
    port1.close();
    await once(worker, 'exit');
    mag[Symbol.dispose]();
    await eventually(async () => (await manager.numberOfObjects()) === 0);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a proxy sent back from a worker works in the main thread, counted once (surplus port adopted)', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(6);
    await agent.hold(mag);
    await agent.run({ cmd: 'send', slot: 0 });
    const back = await agent.received<{ proxies: BaseProxy[] }>();
    const again = back.proxies[0] as unknown as typeof mag;
    expect(await again.scale(1)).toBe(6);
    // The worker's handoff travels on its own port: the count reaches 3 once the server has read it.
    await eventually(async () => (await refcountOf(manager, mag.token.id)) === 3);
    // The adoption of the surplus port is asynchronous too: then main holds both references.
    await eventually(async () => (await manager.entries())[0]!.holders.main === 2);
    const holders = Object.keys((await manager.entries())[0]!.holders);
    expect(holders.filter((holder) => holder.startsWith('handoff:'))).toEqual([]);
    release(again);
    release(mag);
    await agent.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('worker-to-worker: a proxy forwarded through a MessageChannel works in the third thread', async () => {
    await using manager = await start();
    await using first = new Agent();
    await using second = new Agent();
    const mag = await manager.Magnifier(7);
    const id = mag.token.id;
    await first.hold(mag);
    release(mag);
    const { port1, port2 } = new MessageChannel();
    const received = second.run({ cmd: 'receive', port: port2 }, [port2]);
    await first.run({ cmd: 'forward', slot: 0, port: port1 }, [port1]);
    expect(await received).toBe(1);
    expect(await second.run({ cmd: 'call', slot: 0, method: 'scale', args: [2] })).toBe(14);
    await first.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await refcountOf(manager, id)) === 1);
    const trace = await manager.trace();
    expect(trace.filter((event) => event.op === 'handoff').length).toBe(2);
    await second.run({ cmd: 'release', slot: 0 });
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });

  test('connecting by handle: a plain worker creates objects and calls proxy-returning methods', async () => {
    await using manager = await start();
    await using agent = new Agent({ handle: manager.handle() });
    const [slot, scaled, spawned] = (await agent.run({
      cmd: 'connect-create',
      coef: 3,
    })) as number[];
    expect(scaled).toBe(3);
    expect(spawned).toBe(4);
    expect(await manager.numberOfObjects()).toBe(2);
    await agent.run({ cmd: 'release', slot });
    await agent.run({ cmd: 'release', slot: slot! + 1 });
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });
});

describe('decode', () => {
  test('a received value decoded a second time is refused, and the first decode keeps its reference', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(2);
    const encoded = encode({ mag });
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(encoded.value, encoded.transferList);
    const [received] = (await once(port2, 'message')) as [unknown];
    port1.close();
    port2.close();
    const first = decode<{ mag: BaseProxy & { scale(x: number): Promise<number> } }>(received);
    expect(() => decode(received)).toThrow(
      expect.objectContaining({
        code: 'ERR_BAD_MESSAGE',
        message: expect.stringMatching(/decoded already/),
      }),
    );
    expect(await first.mag.scale(3)).toBe(6);
    release(first.mag);
    release(mag);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });
});

describe('discard', () => {
  test('an encoded value that is never posted gives its references back; postMessage does so when it throws', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(2);
    const id = mag.token.id;
    const encoded = encode({ mag });
    await eventually(async () => (await refcountOf(manager, id)) === 2);
    discard(encoded);
    await eventually(async () => (await refcountOf(manager, id)) === 1);
    // A value that cannot be cloned: the post throws, and the handoff is discarded with it.
    const { port1, port2 } = new MessageChannel();
    expect(() => postMessage(port1, { mag, fn: () => 1 })).toThrow();
    port1.close();
    port2.close();
    // Both handoffs were taken and both given back by their closed ports.
    const handoffReleases = async () =>
      (await manager.trace()).filter(
        (event) => event.op === 'release-holder' && event.holder.startsWith('handoff:'),
      ).length;
    await eventually(async () => (await handoffReleases()) === 2);
    expect((await manager.trace()).filter((event) => event.op === 'handoff')).toHaveLength(2);
    expect(await refcountOf(manager, id)).toBe(1);
    release(mag);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
  });
});
