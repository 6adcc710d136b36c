/**
 * The shapes of values the codec meets most (a task `{ proxy, item }`, a bare handle) go
 * through its shallow path: what it sends must be what the full walk would send.
 */
import { borrow, decode, encode, lend, release, type BaseProxy } from '@managers/core';
import { forEachProxy, toBaseProxy } from '@managers/proxy';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, pollUntil, roundTrip } from './helpers';

test('a manager handle at the top of a value is encoded, not posted as a plain object', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const encoded = encode(manager.handle());
  // What travels is a handle envelope (its port in the transfer list), not the handle's fields.
  expect(encoded.value).toEqual(expect.objectContaining({ '@managers/handle': 1 }));
  expect(encoded.transferList).toHaveLength(1);
  const handle = decode<ReturnType<typeof manager.handle>>(
    await roundTrip(encoded.value, encoded.transferList),
  );
  expect(handle.constructor.name).toBe('ManagerHandle');
  expect(handle.managerId).toBe(manager.handle().managerId);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('one proxy under two keys of a task is lent once and borrowed as one proxy', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  const loan = lend({ first: toolbox, second: toolbox, item: 7 });
  const received = borrow<{ first: BaseProxy; second: BaseProxy; item: number }>(
    await roundTrip(loan.value, loan.transferList),
  );
  expect(received.value.first).toBe(received.value.second);
  expect(received.value.item).toBe(7);
  expect(
    await (received.value.first as unknown as { echo(x: string): Promise<string> }).echo('x'),
  ).toBe('x');
  // The lease holds one reference for the one proxy, beside main's own.
  expect((await manager.entries()).map((entry) => entry.refcount)).toEqual([2]);
  loan.end(received.finish());
  expect(
    await pollUntil(
      async () => JSON.stringify((await manager.entries()).map((entry) => entry.refcount)),
      '[1]',
    ),
  ).toBe('[1]');
  release(toolbox);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('an own "__proto__" key holding a proxy stays a property on both sides', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  const value: Record<string, unknown> = { item: 1 };
  Object.defineProperty(value, '__proto__', {
    value: toolbox,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  const encoded = encode(value);
  expect(Object.getPrototypeOf(encoded.value)).toBe(Object.prototype);
  expect(Object.keys(encoded.value as object)).toEqual(['item', '__proto__']);
  const decoded = decode<Record<string, BaseProxy>>(
    await roundTrip(encoded.value, encoded.transferList),
  );
  expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  expect(String(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value)).toContain('Toolbox');
  release(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value as BaseProxy);
  release(toolbox);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('forEachProxy visits each proxy of a task once, on its shallow path and on the full walk', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const first = await manager.Toolbox();
  const second = await manager.Toolbox();
  const visited = (value: unknown): BaseProxy[] => {
    const proxies: BaseProxy[] = [];
    forEachProxy(value, (proxy) => proxies.push(proxy));
    return proxies;
  };
  // A proxy alone, and primitives (nothing to visit).
  expect(visited(first)).toEqual([toBaseProxy(first)]);
  expect(visited(7)).toEqual([]);
  expect(visited({ item: 7, name: 'x' })).toEqual([]);
  // The shape of most tasks: the same proxy under two keys is visited once, in key order.
  expect(visited({ a: second, item: 1, b: first, c: second })).toEqual([
    toBaseProxy(second),
    toBaseProxy(first),
  ]);
  // A nested value takes the full walk, with the same answer.
  expect(visited({ a: second, nested: [first, second], b: first })).toEqual([
    toBaseProxy(second),
    toBaseProxy(first),
  ]);
  release(first);
  release(second);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});
