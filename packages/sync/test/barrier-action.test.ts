import { join } from 'node:path';
import { startSyncManager, SyncErrorCode, type SyncManager } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection } from './helpers';

/** A SyncManager whose registry module exports the actions (fixtures/registry-functions.ts). */
function actionManager(): Promise<SyncManager> {
  return startSyncManager({ module: join(__dirname, 'fixtures', 'registry-functions.ts') });
}

describe('Barrier action (CPython _TestBarrier)', () => {
  test('_TestBarrier.test_action: the action runs once per trip, before any waiter is released', async () => {
    await using manager = await actionManager();
    {
      const N = 3;
      await using results = await manager.List<boolean>();
      await using barrier = await manager.Barrier(N, {
        action: 'appendTrue',
        actionArgs: [results],
      });
      await using first = new Agent(barrier, results);
      await using second = new Agent(barrier, results);
      // Each party waits, then reads len(results): 1 for every one of them (CPython's _test_action_f).
      const party = async (wait: () => Promise<unknown>, length: () => Promise<unknown>) => {
        const index = await wait();
        return [index, await length()];
      };
      const outcomes = await Promise.all([
        party(
          () => first.call(0, 'wait'),
          () => first.call(1, 'length'),
        ),
        party(
          () => second.call(0, 'wait'),
          () => second.call(1, 'length'),
        ),
        party(
          () => barrier.wait(),
          () => results.length(),
        ),
      ]);
      expect(outcomes.map(([, length]) => length)).toEqual([1, 1, 1]);
      expect(outcomes.map(([index]) => index).sort()).toEqual([0, 1, 2]);
      expect(await results.copy()).toEqual([true]);
      // A second round runs it once more.
      await Promise.all([first.call(0, 'wait'), second.call(0, 'wait'), barrier.wait()]);
      expect(await results.copy()).toEqual([true, true]);
      expect(await barrier.broken()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('_TestBarrier.test_action: an async action longer than the timeouts; later arrivals wait for it', async () => {
    await using manager = await actionManager();
    {
      await using results = await manager.List<string>();
      await using barrier = await manager.Barrier(2, {
        timeout: 100,
        action: 'slowAppend',
        actionArgs: [results, 'tripped', 300],
      });
      // The two waits trip the barrier; the action (300 ms) outlasts their 100 ms timeout.
      const waits = [barrier.wait(), barrier.wait()];
      // Sent after them on the same connection, so it arrives while the action runs: it joins
      // the next round, not this one.
      const late = barrier.wait({ timeout: 5000 });
      // During the action every party has arrived and none has left (CPython: n_waiting 2).
      expect(await barrier.nWaiting()).toBe(2);
      expect((await Promise.all(waits)).sort()).toEqual([0, 1]);
      expect(await results.copy()).toEqual(['tripped']);
      const other = barrier.wait({ timeout: 5000 });
      expect((await Promise.all([late, other])).sort()).toEqual([0, 1]);
      expect(await results.copy()).toEqual(['tripped', 'tripped']);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('abort() or reset() while the action runs waits for it: that trip completes with its indices (CPython: they wait for the lock the action holds)', async () => {
    await using manager = await actionManager();
    {
      await using results = await manager.List<string>();
      await using barrier = await manager.Barrier(2, {
        action: 'slowAppend',
        actionArgs: [results, 'tripped', 200],
      });
      // Sent after the waits on the same connection: they arrive while the action runs.
      const waits = [barrier.wait(), barrier.wait()];
      const aborted = barrier.abort();
      expect((await Promise.all(waits)).sort()).toEqual([0, 1]);
      await aborted;
      expect(await barrier.broken()).toBe(true);
      expect((await rejection(barrier.wait())).code).toBe(SyncErrorCode.BrokenBarrier);
      await barrier.reset();

      const again = [barrier.wait(), barrier.wait()];
      const reset = barrier.reset();
      expect((await Promise.all(again)).sort()).toEqual([0, 1]);
      await reset;
      expect(await barrier.broken()).toBe(false);
      expect(await results.copy()).toEqual(['tripped', 'tripped']);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('_TestBarrier.test_action: a failing action breaks the barrier; the last arrival gets its error', async () => {
    await using manager = await actionManager();
    {
      await using barrier = await manager.Barrier(2, { action: 'failingAction' });
      const waiting = barrier.wait();
      const last = await rejection(barrier.wait());
      expect(last).toMatchObject({
        name: 'RangeError',
        code: 'E_ACTION',
        message: 'the action failed',
      });
      expect((await rejection(waiting)).code).toBe(SyncErrorCode.BrokenBarrier);
      expect(await barrier.broken()).toBe(true);
      await barrier.reset();
      expect(await barrier.broken()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('an action that is not a function of the registry module is refused naming options.action', async () => {
    await using manager = await actionManager();
    const missing = await rejection(manager.Barrier(2, { action: 'noSuchAction' }));
    expect(missing.code).toBe(SyncErrorCode.InvalidOption);
    expect(missing.message).toMatch(
      /^options\.action: 'noSuchAction' is not a function exported by .*registry-functions\.ts$/,
    );
    const unknown = await rejection(manager.Barrier(2, { action: 'appendTrue', run: 1 } as never));
    expect(unknown.message).toBe("Barrier(parties, options): unknown option 'run'");
    const args = await rejection(
      manager.Barrier(2, { action: 'appendTrue', actionArgs: 1 } as never),
    );
    expect(args.message).toBe(
      'Barrier(parties, options): options.actionArgs must be an array, got 1',
    );
    // A class is a function to typeof, but calling it without new throws at the trip.
    const klass = await rejection(manager.Barrier(2, { action: 'SyncManager' }));
    expect(klass.code).toBe(SyncErrorCode.InvalidOption);
    expect(klass.message).toMatch(
      /^options\.action: 'SyncManager' is a class exported by .*registry-functions\.ts, not a function/,
    );
    const named = await rejection(manager.Barrier(2, { action: 5 } as never));
    expect(named.message).toBe(
      'options.action must be the name of a function exported by the registry module, got number',
    );
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
