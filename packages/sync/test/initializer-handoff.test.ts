import { join } from 'node:path';
import { release } from '@managers/core';
import { startSyncManager, type SyncManager } from '@managers/sync';
import { pollUntil, rejection, syncManager } from './helpers';

const MODULE = join(__dirname, 'fixtures', 'registry-functions.ts');

/** The references to the hosted object `id` of `manager`. */
async function refcount(manager: SyncManager, id: number): Promise<number> {
  return (await manager.entries()).find((entry) => entry.id === id)?.refcount ?? 0;
}

describe('proxies as initializer arguments (CPython TestInitializers)', () => {
  test('TestInitializers.test_manager_initializer: the initializer gets a live Namespace proxy of another manager', async () => {
    await using mgr = await syncManager();
    {
      await using ns = await mgr.Namespace({ test: 0 });
      // Python: self.assertRaises(TypeError, m.start, 1)
      const bad = await rejection(
        startSyncManager({ module: MODULE, initializer: 1 as never, initializerArgs: [ns] }),
      );
      expect(bad.code).toBe('ERR_INVALID_OPTION');
      expect(bad.message).toMatch(/options\.initializer/);
      expect(await refcount(mgr, ns.token.id)).toBe(1); // nothing was handed off

      {
        await using m = await startSyncManager({
          module: MODULE,
          initializer: 'initializer',
          initializerArgs: [ns],
        });
        expect(await ns.get('test')).toBe(1);
        expect(m.closed).toBe(false);
      }
      // The server worker's reference went with it (R4): only ours is left.
      expect(await pollUntil(() => refcount(mgr, ns.token.id), 1)).toBe(1);
    }
    expect(await pollUntil(() => mgr.numberOfObjects(), 0)).toBe(0);
  });

  test('a start that fails after the handoff drops the handed-off reference', async () => {
    await using mgr = await syncManager();
    {
      const ns = await mgr.Namespace({ test: 0 });
      const failed = await rejection(
        startSyncManager({
          module: MODULE,
          initializer: 'noSuchInitializer',
          initializerArgs: [ns],
        }),
      );
      expect(failed.code).toBe('ERR_START_FAILED');
      expect(failed.message).toMatch(/options\.initializer: 'noSuchInitializer' is not a function/);
      expect(await ns.get('test')).toBe(0);
      expect(await pollUntil(() => refcount(mgr, ns.token.id), 1)).toBe(1);
      release(ns);
      // A released proxy cannot be handed off: start() rejects before any worker starts.
      const released = await rejection(
        startSyncManager({ module: MODULE, initializer: 'initializer', initializerArgs: [ns] }),
      );
      expect(released.code).toBe('ERR_PROXY_RELEASED');
    }
    expect(await pollUntil(() => mgr.numberOfObjects(), 0)).toBe(0);
  });
});
