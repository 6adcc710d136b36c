/** Automatic transferables: buffers are copied by default, moved when marked or registered. */
import { release, transfer } from '@managers/core';
import { BufferManager } from './fixtures/buffers';

const MIB16 = 16 * 1024 * 1024;
const start = () => BufferManager.start({ module: require.resolve('./fixtures/buffers') });

function filled(size: number): ArrayBuffer {
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
  return buffer;
}

function checksum(buffer: ArrayBuffer): number {
  const bytes = new Uint8Array(buffer);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 4096) sum = (sum + bytes[i]!) % 65_521;
  return sum;
}

test('a 16 MiB argument marked with transfer() arrives intact and the sender copy is detached', async () => {
  await using manager = await start();
  const store = await manager.Store();
  const buffer = filled(MIB16);
  const expected = checksum(buffer);
  expect(await store.put(transfer(buffer))).toEqual({ length: MIB16, sum: expected });
  expect(buffer.byteLength).toBe(0);
  release(store);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('an unmarked buffer is copied: the sender keeps its bytes', async () => {
  await using manager = await start();
  const store = await manager.Store();
  const buffer = filled(1024 * 1024);
  expect((await store.put(buffer)).length).toBe(1024 * 1024);
  expect(buffer.byteLength).toBe(1024 * 1024);
  const typed = new Uint8Array(filled(4096));
  expect((await store.put(transfer(typed).buffer as ArrayBuffer)).length).toBe(4096);
  release(store);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('a method registered in transferResults moves its result; others copy it', async () => {
  await using manager = await start();
  const moving = await manager.Store();
  const copying = await manager.CopyingStore();
  await moving.put(filled(8192));
  await copying.put(filled(8192));
  const moved = await moving.take();
  const copied = await copying.take();
  expect(moved.data.byteLength).toBe(8192);
  expect(copied.data.byteLength).toBe(8192);
  expect(await moving.length()).toBe(0);
  expect(await copying.length()).toBe(8192);
  release(moving);
  release(copying);
  expect(await manager.numberOfObjects()).toBe(0);
});
