/**
 * The cycle collector: objects that hold proxies to each other and that no client can reach
 * any more are disposed (CPython's test_list_proxy_in_list); anything still reachable, or held
 * where no walk can see, survives.
 */
import { release } from '@managers/core';
import { Agent } from './fixtures/agent';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, pollUntil, sleep } from './helpers';

const start = () => KitchenManager.start({ module: KITCHEN_MODULE });

describe('cycles through the server', () => {
  test('a holder holding itself is collected once its last client proxy goes', async () => {
    await using manager = await start();
    const holder = await manager.Holder();
    await holder.set('self', holder);
    expect((await manager.entries())[0]!.holders).toEqual({ main: 1, server: 1 });
    release(holder);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    const disposed = (await manager.trace()).filter((event) => event.op === 'dispose');
    expect(disposed).toHaveLength(1);
    expect((await manager.trace()).some((event) => event.cause === 'cycle collected')).toBe(true);
  });

  test('two objects holding each other are collected together', async () => {
    await using manager = await start();
    const a = await manager.Holder();
    const b = await manager.Holder();
    await a.set('b', b);
    await b.set('a', a);
    release(a);
    await sleep(20);
    // `b` still has its client proxy: `a` is reachable from it and stays.
    expect(await manager.numberOfObjects()).toBe(2);
    release(b);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a cycle hanging off a live object survives; it goes with that object', async () => {
    await using manager = await start();
    const live = await manager.Holder();
    const a = await manager.Holder();
    const b = await manager.Holder();
    await live.set('a', a);
    await a.set('b', b);
    await b.set('a', a);
    release(a);
    release(b);
    await sleep(50);
    expect(await manager.numberOfObjects()).toBe(3);
    expect(await live.size()).toBe(1);
    release(live);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('an object held from a place no walk can see (a private field) is never collected', async () => {
    await using manager = await start();
    const keeper = await manager.Holder();
    const hidden = await manager.Holder();
    await keeper.hide(hidden);
    await hidden.set('keeper', keeper);
    release(hidden);
    await sleep(50);
    // `hidden` is held only by the server, but from inside `keeper`'s private field.
    expect(await manager.numberOfObjects()).toBe(2);
    await keeper.unhide();
    release(keeper);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a cycle formed across threads is collected when both threads let go', async () => {
    await using manager = await start();
    const a = await manager.Holder();
    const b = await manager.Holder();
    await a.set('b', b);
    {
      await using agent = new Agent();
      expect(await agent.hold(a, b)).toBe(2);
      // In the worker: b.set('a', a), closing the cycle from another thread.
      expect(await agent.run({ cmd: 'store', slot: 1, key: 'a', valueSlot: 0 })).toBe(1);
      release(a);
      release(b);
      await sleep(50);
      expect(await manager.numberOfObjects()).toBe(2);
      await agent.run({ cmd: 'release', slot: 0 });
      await agent.run({ cmd: 'release', slot: 1 });
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
