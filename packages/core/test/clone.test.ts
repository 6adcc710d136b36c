/** Python's 02_clone.py: methodToTypeid to a callable:null typeid (clone) and to a typeid with a callable (spawn). */
import { release, remoteRepr, tokenOf } from '@managers/core';
import { MagManager } from './fixtures/magnifier';
import { MAGNIFIER_MODULE } from './helpers';

test('mag, clone, spawn(3), clone.spawn(10), spawn.clone(): five objects of refcount 1', async () => {
  await using manager = await MagManager.start({ module: MAGNIFIER_MODULE });
  const sorted = async () =>
    (await manager.entries())
      .map((row) => [row.refcount, row.repr] as const)
      .sort((a, b) => a[1].localeCompare(b[1]));

  const mag = await manager.Magnifier(2);
  expect(tokenOf(mag).typeid).toBe('Magnifier');
  expect(tokenOf(mag).exposed).toEqual(['clone', 'scale', 'spawn']);
  expect(await sorted()).toEqual([[1, 'Magnifier(coef=2)']]);

  const clone = await mag.clone();
  expect(tokenOf(clone).typeid).toBe('ClonedMagnifier');
  expect(await remoteRepr(clone)).toBe('Magnifier(coef=2)');
  expect(await clone.scale(3)).toBe(6);
  expect(await manager.numberOfObjects()).toBe(2);

  const spawn = await mag.spawn(3);
  expect(tokenOf(spawn).typeid).toBe('Magnifier');
  expect(await remoteRepr(spawn)).toBe('Magnifier(coef=3)');
  expect(await spawn.scale(3)).toBe(9);
  expect(await manager.numberOfObjects()).toBe(3);

  const cloneSpawn = await clone.spawn(10);
  expect(tokenOf(cloneSpawn).typeid).toBe('Magnifier');
  expect(await cloneSpawn.scale(3)).toBe(30);
  expect(await manager.numberOfObjects()).toBe(4);

  const spawnClone = await spawn.clone();
  expect(tokenOf(spawnClone).typeid).toBe('ClonedMagnifier');
  expect(await spawnClone.scale(3)).toBe(9);

  const proxies = [mag, clone, spawn, cloneSpawn, spawnClone];
  expect(new Set(proxies.map((proxy) => tokenOf(proxy).id)).size).toBe(5);
  expect(await manager.numberOfObjects()).toBe(5);
  expect(await sorted()).toEqual([
    [1, 'Magnifier(coef=10)'],
    [1, 'Magnifier(coef=2)'],
    [1, 'Magnifier(coef=2)'],
    [1, 'Magnifier(coef=3)'],
    [1, 'Magnifier(coef=3)'],
  ]);
  const debug = await manager.debugInfo();
  for (const proxy of proxies) {
    expect(debug).toContain(`  ${tokenOf(proxy).id}:       refcount=1\n    Magnifier(coef=`);
  }
  expect((await manager.entries()).map((row) => row.typeid).sort()).toEqual([
    'ClonedMagnifier',
    'ClonedMagnifier',
    'Magnifier',
    'Magnifier',
    'Magnifier',
  ]);

  // createMethod: false — no manager.ClonedMagnifier.
  expect((manager as unknown as Record<string, unknown>).ClonedMagnifier).toBeUndefined();
  expect('ClonedMagnifier' in manager).toBe(false);
  expect(typeof manager.Magnifier).toBe('function');

  for (const proxy of proxies) release(proxy);
  expect(await manager.numberOfObjects()).toBe(0);
  expect(await sorted()).toEqual([]);
});
