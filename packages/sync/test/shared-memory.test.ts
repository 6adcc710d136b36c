import { release } from '@managers/core';
import { ShareableList, SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, syncManager } from './helpers';

describe('SharedMemory and ShareableList (23_shared_memory.py)', () => {
  test('23_shared_memory: a segment is one memory in every thread; reachable by name; gone when released', async () => {
    await using manager = await syncManager();
    let name: string;
    {
      await using shm = await manager.SharedMemory(16);
      expect(shm.proxyTypeName).toBe('SharedMemoryProxy');
      expect(await shm.size()).toBeGreaterThanOrEqual(16);
      name = await shm.name();
      expect(name).toMatch(/^psm_[0-9a-f]{8}$/);
      await using child = new Agent(shm);
      await child.run({ cmd: 'write-byte', slot: 0, index: 0, byte: 42 });
      expect(new Uint8Array(await shm.buffer())[0]).toBe(42);
      // The same segment by name: the same object, counted twice (unlike Python, segments are objects).
      await using again = await manager.SharedMemory({ name });
      expect(again.token.id).toBe(shm.token.id);
      expect(new Uint8Array(await again.buffer())[0]).toBe(42);
      expect(await manager.numberOfObjects()).toBe(1);
      const zero = await rejection(manager.SharedMemory(0));
      expect(zero.code).toBe(SyncErrorCode.InvalidOption);
      expect(zero.message).toMatch(/'size' must be a positive integer different from zero/);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    // Released: attaching by name fails (Python: FileNotFoundError after shutdown).
    const gone = await rejection(manager.SharedMemory({ name }));
    expect(gone.code).toBe(SyncErrorCode.SegmentNotFound);
    expect(gone.message).toContain(name);
  });

  test('23_shared_memory: ShareableList of number, string, bigint, null, boolean; sizes and types enforced', async () => {
    await using manager = await syncManager();
    {
      await using sl = await ShareableList.create(manager, [1, 'two', 3.5, null, true, 7n]);
      expect(sl.toArray()).toEqual([1, 'two', 3.5, null, true, 7n]);
      expect(sl.format).toBe('d8sdn?q');
      sl.set(0, 100);
      expect(sl.get(0)).toBe(100);
      sl.set(1, 'eight ch'); // fits the 8-byte slot
      const long = (() => {
        try {
          sl.set(1, 'longer string');
        } catch (error) {
          return error as { name: string; code: string; message: string };
        }
        throw new Error('expected an error');
      })();
      expect(long).toMatchObject({ name: 'ManagerError', code: SyncErrorCode.InvalidOption });
      expect(long.message).toBe(
        'ShareableList item 1: string of 13 bytes exceeds available storage (8 bytes)',
      );
      expect(() => sl.set(2, {} as never)).toThrow(/item 2: \[object Object\] is not supported/);
      await expect(ShareableList.create(manager, [undefined as never])).rejects.toMatchObject({
        code: SyncErrorCode.InvalidOption,
        message: expect.stringMatching(/item 0: undefined is not supported/),
      });
      expect(() => sl.get(6)).toThrow(/index 6 out of range/);

      // Another thread writes through the same memory.
      await using child = new Agent(sl.segment);
      expect(await child.run({ cmd: 'list-set', slot: 0, index: 3, value: 'x' })).toEqual([
        100,
        'eight ch',
        3.5,
        'x',
        true,
        7n,
      ]);
      expect(sl.get(3)).toBe('x');
      {
        using attached = await ShareableList.attach(manager, sl.name);
        expect(attached.get(3)).toBe('x');
      }
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('23_shared_memory: releasing the last proxy drops the segment', async () => {
    await using manager = await syncManager();
    const shm = await manager.SharedMemory(8);
    const name = await shm.name();
    release(shm);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    expect((await rejection(manager.SharedMemory({ name }))).code).toBe(
      SyncErrorCode.SegmentNotFound,
    );
  });
});
