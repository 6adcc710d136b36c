/** Python's 01_mag.py: a cached factory gives the same object, hence the same id and a growing refcount (R7). */
import { release, tokenOf } from '@managers/core';
import { MagManager } from './fixtures/magnifier';
import { MAGNIFIER_MODULE } from './helpers';

test('Mag(2) twice: one entry, refcount 1 then 2, then 1, then 0; Mag(2) again re-registers it', async () => {
  await using manager = await MagManager.start({ module: MAGNIFIER_MODULE });

  const first = await manager.Mag(2);
  const id = tokenOf(first).id;
  expect(await manager.numberOfObjects()).toBe(1);
  expect(await manager.debugInfo()).toBe(`  ${id}:       refcount=1\n    Magnifier(coef=2)`);
  expect(await manager.entries()).toEqual([
    { id, typeid: 'Mag', refcount: 1, holders: { main: 1 }, repr: 'Magnifier(coef=2)' },
  ]);

  const second = await manager.Mag(2);
  expect(tokenOf(second).id).toBe(id);
  expect(second).not.toBe(first);
  expect(await manager.numberOfObjects()).toBe(1);
  expect(await manager.debugInfo()).toBe(`  ${id}:       refcount=2\n    Magnifier(coef=2)`);
  expect(await manager.entries()).toEqual([
    { id, typeid: 'Mag', refcount: 2, holders: { main: 2 }, repr: 'Magnifier(coef=2)' },
  ]);

  await first[Symbol.asyncDispose]();
  expect(await manager.numberOfObjects()).toBe(1);
  expect(await manager.debugInfo()).toBe(`  ${id}:       refcount=1\n    Magnifier(coef=2)`);
  // The remaining proxy still works.
  expect(await second.scale(5)).toBe(10);

  release(second);
  expect(await manager.numberOfObjects()).toBe(0);
  expect(await manager.debugInfo()).toBe('');
  expect(await manager.entries()).toEqual([]);

  // The server-side cache still holds the object: it comes back counted from 1, under the same
  // id, as in Python (EXPECTED.md 01: "re-registers the same id with refcount 1"). No proxy of
  // the old entry is alive anywhere: it only left the table when the last one was released.
  const again = await manager.Mag(2);
  expect(tokenOf(again).id).toBe(id);
  expect(await manager.entries()).toEqual([
    { id, typeid: 'Mag', refcount: 1, holders: { main: 1 }, repr: 'Magnifier(coef=2)' },
  ]);
  expect(await again.scale(5)).toBe(10);
  await again[Symbol.asyncDispose]();
  expect(await manager.numberOfObjects()).toBe(0);
});

test('a different coefficient is a different object', async () => {
  await using manager = await MagManager.start({ module: MAGNIFIER_MODULE });
  const two = await manager.Mag(2);
  const three = await manager.Mag(3);
  expect(tokenOf(three).id).not.toBe(tokenOf(two).id);
  expect((await manager.entries()).map((row) => [row.refcount, row.repr])).toEqual([
    [1, 'Magnifier(coef=2)'],
    [1, 'Magnifier(coef=3)'],
  ]);
  two[Symbol.dispose]();
  await three[Symbol.asyncDispose]();
  expect(await manager.numberOfObjects()).toBe(0);
});
