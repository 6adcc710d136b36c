import { remoteRepr } from '@managers/core';
import { ShareableList, SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, syncManager } from './helpers';

const bytes = (text: string) => new TextEncoder().encode(text);

function thrown(run: () => unknown): { name: string; code: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as never;
  }
  throw new Error('expected an error');
}

describe('SharedMemory, ShareableList and typecode c (CPython _TestSharedMemory, _TestValue, _TestArray)', () => {
  test('_TestSharedMemory.test_shared_memory_basics: create with a name, attach by name, size, FileExistsError, unlink, FileNotFoundError', async () => {
    await using manager = await syncManager();
    {
      await using sms = await manager.SharedMemory({
        name: 'test01_tsmb',
        create: true,
        size: 512,
      });
      expect(await sms.name()).toBe('test01_tsmb');
      expect(await sms.size()).toBe(512);
      // Python: SharedMemory(name, create=False) attaches to the same memory.
      await using also = await manager.SharedMemory({ name: 'test01_tsmb' });
      expect(await also.size()).toBe(512);
      // More memory than the system gives: an option error (Python: OSError), the server goes on.
      const huge = await rejection(manager.SharedMemory({ create: true, size: 2 ** 45 }));
      expect(huge.code).toBe(SyncErrorCode.InvalidOption);
      expect(huge.message).toMatch(
        /^SharedMemory: cannot allocate a segment of 35184372088832 bytes/,
      );
      new Uint8Array(await sms.buffer())[0] = 42;
      expect(new Uint8Array(await also.buffer())[0]).toBe(42);
      await using same = await manager.SharedMemory({
        name: 'test01_tsmb',
        create: false,
        size: 1,
      });
      expect(await same.size()).toBe(512); // size is ignored when attaching, as in Python

      const exists = await rejection(
        manager.SharedMemory({ name: 'test01_tsmb', create: true, size: 8 }),
      );
      expect(exists.code).toBe(SyncErrorCode.SegmentExists);
      expect(exists.message).toBe(
        "a shared memory segment named 'test01_tsmb' exists already (Python's FileExistsError)",
      );
      const nameless = await rejection(manager.SharedMemory({ create: false } as never));
      expect(nameless.message).toBe(
        "options.name can only be omitted if options.create is true (Python's ValueError)",
      );
      expect((await rejection(manager.SharedMemory({ nmae: 'x' } as never))).message).toBe(
        "SharedMemory(options): unknown option 'nmae' (did you mean 'name'?)",
      );
      // A nameless create gets a random name.
      await using random = await manager.SharedMemory({ create: true, size: 4 });
      expect(await random.name()).toMatch(/^psm_[0-9a-f]{8}$/);

      // unlink(): the name is gone, the memory stays for the proxies that hold it.
      await sms.unlink();
      const gone = await rejection(manager.SharedMemory({ name: 'test01_tsmb' }));
      expect(gone.code).toBe(SyncErrorCode.SegmentNotFound);
      expect((await rejection(also.unlink())).code).toBe(SyncErrorCode.SegmentNotFound);
      expect(new Uint8Array(await also.buffer())[0]).toBe(42);
      expect(await manager.numberOfObjects()).toBe(2); // the unlinked segment and the random one
      // The name may be used again by a new segment.
      await using reborn = await manager.SharedMemory({
        name: 'test01_tsmb',
        create: true,
        size: 8,
      });
      expect(reborn.token.id).not.toBe(sms.token.id);
      // close(): this proxy lets go (Python: the process detaches).
      await also.close();
      expect(also.released).toBe(true);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('_TestSharedMemory.test_shared_memory_ShareableList_basics: bytes items, count, index, named copies', async () => {
    await using manager = await syncManager();
    {
      await using sl = await ShareableList.create(manager, [
        'howdy',
        bytes('HoWdY'),
        -273.154,
        100,
        null,
        true,
        42,
      ]);
      expect(String(sl)).toContain(sl.name);
      expect(sl.length).toBe(7);
      expect(sl.format).toBe('8s8sddn?d'); // Python: '8s8sdqxxxxxx?xxxxxxxx?q' (ints are q there)
      expect(() => sl.get(7)).toThrow(/index 7 out of range/);
      expect(() => sl.set(7, 2)).toThrow(/index 7 out of range/);
      sl.set(0, 'howdi');
      expect(sl.index(100)).toBe(3);
      expect(thrown(() => sl.index('100')).code).toBe(SyncErrorCode.ValueNotFound);
      expect(sl.get(0)).toBe('howdi');
      expect(sl.get(-2)).toBe(true);
      expect([...sl]).toEqual(['howdi', bytes('HoWdY'), -273.154, 100, null, true, 42]);
      sl.set(3, 42);
      sl.set(4, 'some'); // change type at a given position
      expect(sl.get(4)).toBe('some');
      expect(thrown(() => sl.set(4, 'far too many')).message).toMatch(/exceeds available storage/);
      expect(sl.get(4)).toBe('some');
      sl.set(0, 'encodés'); // exactly 8 bytes of UTF-8
      expect(sl.get(0)).toBe('encodés');
      const long = thrown(() => sl.set(1, bytes('123456789')));
      expect(long.message).toBe(
        'ShareableList item 1: Uint8Array of 9 bytes exceeds available storage (8 bytes)',
      );
      expect(sl.get(1)).toEqual(bytes('HoWdY'));
      expect(sl.count(42)).toBe(2);
      expect(sl.count(bytes('HoWdY'))).toBe(1);
      expect(sl.count(bytes('adios'))).toBe(0);
      // Trailing zero bytes survive (Python's ShareableList strips them: b'a\x00' -> b'a').
      sl.set(1, Uint8Array.of(97, 0));
      expect(sl.get(1)).toEqual(Uint8Array.of(97, 0));
      sl.set(1, bytes('HoWdY'));

      // Python's ShareableList(sl, name=…): a named copy, attached by name from another thread.
      await using copy = await ShareableList.create(manager, sl, { name: 'test03_duplicate' });
      expect(copy.name).toBe('test03_duplicate');
      expect([...copy]).toEqual([...sl]);
      await using agent = new Agent(copy.segment);
      const seen = (await agent.run({
        cmd: 'list-set',
        slot: 0,
        index: 1,
        value: bytes('bye'),
      })) as unknown[];
      expect(seen[1]).toEqual(bytes('bye'));
      expect(copy.get(1)).toEqual(bytes('bye'));
      using attached = await ShareableList.attach(manager, 'test03_duplicate');
      expect(attached.get(1)).toEqual(bytes('bye'));
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('attaching to a segment that does not hold a ShareableList is refused with what is wrong, and leaks no proxy', async () => {
    await using manager = await syncManager();
    {
      using segment = await manager.SharedMemory({ create: true, size: 64, name: 'not-a-list' });
      const view = new DataView(await segment.buffer());
      const refusal = async () => {
        const error = (await rejection(ShareableList.attach(manager, 'not-a-list'))) as {
          code: string;
          message: string;
        };
        expect(error.code).toBe(SyncErrorCode.InvalidOption);
        return error.message;
      };
      view.setInt32(0, 1000, true);
      expect(await refusal()).toBe(
        "segment 'not-a-list' does not hold a ShareableList: its item count 1000 does not fit in its 64 bytes",
      );
      view.setInt32(0, 2, true); // two items, descriptors still zero
      expect(await refusal()).toMatch(/item 0 has a capacity of 0 bytes/);
      for (const item of [0, 1]) {
        view.setInt32(8 + 16 * item + 4, 8, true);
        view.setInt32(8 + 16 * item + 12, 40 + 8 * item, true);
      }
      view.setUint8(8 + 16, 9);
      expect(await refusal()).toMatch(/item 1 has an unknown type tag 9/);
      view.setUint8(8 + 16, 4); // a string
      view.setInt32(8 + 16 + 8, 9, true);
      expect(await refusal()).toMatch(/item 1 has a length of 9 bytes for a capacity of 8/);
      view.setInt32(8 + 16 + 8, 2, true);
      view.setInt32(8 + 16 + 12, 60, true);
      expect(await refusal()).toMatch(/item 1's data \(8 bytes at 60\) is outside the data area/);
      view.setInt32(8 + 16 + 12, 48, true);
      new Uint8Array(view.buffer).set(bytes('hi'), 48);
      using list = await ShareableList.attach(manager, 'not-a-list');
      expect([...list]).toEqual([null, 'hi']);
      await segment.unlink();
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test("_TestValue.test_value and _TestArray.test_array with typecode 'c' (one byte; bytes slices)", async () => {
    await using manager = await syncManager();
    {
      // CPython's codes_values row ('c', latin('x'), latin('y')).
      await using v = await manager.Value('c', bytes('x'));
      expect(await v.get()).toEqual(bytes('x'));
      await v.set(bytes('y'));
      expect(await v.get()).toEqual(bytes('y'));
      await v.set(66); // an integer 0–255, as ctypes' c_char
      expect(await v.get()).toEqual(bytes('B'));
      expect(await remoteRepr(v)).toBe("Value('c', b'B')");
      const wide = await rejection(v.set(bytes('ab')));
      expect(wide.code).toBe(SyncErrorCode.InvalidOption);
      expect(wide.message).toBe(
        "typecode 'c' holds one byte: a Uint8Array of length 1 or an integer 0 to 255, got Uint8Array of 2 bytes",
      );
      expect((await rejection(v.set(300 as never))).message).toMatch(/got number 300$/);
      expect((await rejection(v.add(bytes('a') as never))).message).toBe(
        "add(): Value('c') holds a byte, not a number",
      );

      // multiprocessing.Array('c', b'hello'): a[0] == b'h', a[1:3] == b'el', a[:] == b'hello'.
      await using a = await manager.Array('c', bytes('hello'));
      expect(await a.length()).toBe(5);
      expect(await a.get(0)).toEqual(bytes('h'));
      expect(await a.getSlice(1, 3)).toEqual(bytes('el'));
      expect(await a.toArray()).toEqual(bytes('hello'));
      await a.set(0, bytes('J'));
      expect(await a.toArray()).toEqual(bytes('Jello'));
      await a.set(0, 72);
      await a.setSlice(1, 3, bytes('EL'));
      expect(await a.toArray()).toEqual(bytes('HELlo'));
      expect(await remoteRepr(a)).toBe("array('c', b'HELlo')");
      const items: Uint8Array[] = [];
      for await (const item of a) items.push(item);
      expect(items).toEqual([...'HELlo'].map(bytes));
      expect((await rejection(a.set(0, bytes('ab')))).code).toBe(SyncErrorCode.InvalidOption);
      await using zeros = await manager.Array('c', 3);
      expect(await zeros.toArray()).toEqual(new Uint8Array(3)); // b'\x00\x00\x00'
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
