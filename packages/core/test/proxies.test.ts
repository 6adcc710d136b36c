/** What a proxy looks like locally: await, String, inspect, getValue, and the lifecycle trace. */
import { inspect } from 'node:util';
import { formatTrace, getValue, isProxy, release, remoteRepr, tokenOf } from '@managers/core';
import { KitchenManager } from './fixtures/kitchen';
import { MagManager } from './fixtures/magnifier';
import { KITCHEN_MODULE, MAGNIFIER_MODULE } from './helpers';

type Kitchen = Awaited<ReturnType<typeof KitchenManager.start>>;
let manager: Kitchen;
beforeAll(async () => {
  manager = await KitchenManager.start({ module: KITCHEN_MODULE });
});
afterAll(async () => {
  await manager?.shutdown();
});

test('awaiting a proxy resolves to the proxy itself, even when the hosted object has `then`', async () => {
  const toolbox = await manager.Toolbox();
  expect(await toolbox).toBe(toolbox);
  expect(await Promise.resolve(toolbox)).toBe(toolbox);
  const thenable = await manager.Thenable();
  expect(isProxy(thenable)).toBe(true);
  expect(tokenOf(thenable).typeid).toBe('Thenable');
  expect(await thenable).toBe(thenable);
  expect('then' in thenable).toBe(false);
  expect(await thenable.value()).toBe(7);
  release(toolbox);
  release(thenable);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('String(proxy) and util.inspect(proxy) show the typeid and id', async () => {
  const toolbox = await manager.Toolbox();
  const id = tokenOf(toolbox).id;
  const text = `<AutoProxy[Toolbox] object, typeid 'Toolbox', id ${id}>`;
  expect(String(toolbox)).toBe(text);
  expect(`${toolbox}`).toBe(text);
  expect(inspect(toolbox)).toBe(text);
  expect(Object.prototype.toString.call(toolbox)).toBe('[object AutoProxy[Toolbox]]');
  expect(await remoteRepr(toolbox)).toContain('Toolbox');
  release(toolbox);
  expect(String(toolbox)).toBe(`<AutoProxy[Toolbox] object, typeid 'Toolbox', id ${id}, released>`);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('getValue(proxy) returns a copy of the hosted object', async () => {
  const box = await manager.Box({ a: 1, list: [1, 2] });
  const copy = await getValue<{ a: number; list: number[] }>(box);
  expect(copy).toEqual({ a: 1, list: [1, 2] });
  copy.list.push(3);
  copy.a = 99;
  expect(await getValue(box)).toEqual({ a: 1, list: [1, 2] });
  release(box);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('the trace records create, incref, decref and dispose with holder and cause', async () => {
  await using mags = await MagManager.start({ module: MAGNIFIER_MODULE });
  const first = await mags.Mag(3);
  const second = await mags.Mag(3);
  const id = tokenOf(first).id;
  release(first);
  await second[Symbol.asyncDispose]();
  expect(await mags.numberOfObjects()).toBe(0);
  const events = (await mags.trace()).filter((event) => event.id === id);
  expect(events.map((event) => [event.op, event.holder, event.delta, event.refcount])).toEqual([
    ['create', 'main', 1, 1],
    ['incref', 'main', 1, 2],
    ['decref', 'main', -1, 1],
    ['decref', 'main', -1, 0],
    ['dispose', '', 0, 0],
  ]);
  expect(events.every((event) => event.typeid === 'Mag')).toBe(true);
  expect(events[0]!.cause).toBe('create Mag');
  expect(events[1]!.cause).toBe('create Mag');
  expect(events[2]!.cause).toBe('proxy released');
  expect(events[4]!.cause).toBe('refcount reached zero');
  const seqs = events.map((event) => event.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  expect(formatTrace(events)).toContain('dispose');
});
