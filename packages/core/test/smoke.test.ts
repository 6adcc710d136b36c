import { MagManager } from './fixtures/magnifier';

test('smoke', async () => {
  await using manager = await MagManager.start({ module: require.resolve('./fixtures/magnifier') });
  const mag = await manager.Magnifier(2);
  expect(await mag.scale(3)).toBe(6);
  const clone = await mag.clone();
  expect(await clone.scale(4)).toBe(8);
  const spawn = await mag.spawn(3);
  expect(await spawn.scale(3)).toBe(9);
  console.log(await manager.debugInfo({ holders: true }));
  mag[Symbol.dispose]();
  clone[Symbol.dispose]();
  await spawn[Symbol.asyncDispose]();
  expect(await manager.numberOfObjects()).toBe(0);
});
