import { remoteRepr } from '@managers/core';
import { SyncErrorCode } from '@managers/sync';
import { Agent } from './fixtures/agent';
import { pollUntil, rejection, sleep, syncManager } from './helpers';

describe('Lock, RLock, Semaphore, Event, Condition (15_locks_events.py)', () => {
  test('15_locks_events: Lock acquire/release, non-blocking and timed acquire, release unheld', async () => {
    await using manager = await syncManager();
    {
      await using lk = await manager.Lock();
      expect(lk.proxyTypeName).toBe('LockProxy');
      expect(await remoteRepr(lk)).toBe('<Lock unlocked>');
      expect(await lk.acquire()).toBe(true);
      expect(await lk.acquire({ blocking: false })).toBe(false);
      expect(await lk.acquire({ timeout: 200 })).toBe(false);
      await lk.release();
      const unheld = await rejection(lk.release());
      expect(unheld.code).toBe(SyncErrorCode.NotHeld);
      expect(unheld.message).toBe('release unlocked lock');
      await using other = new Agent(lk);
      {
        await using _held = await lk.hold();
        expect(await other.call(0, 'acquire', { blocking: false })).toBe(false);
      }
      expect(await lk.locked()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('15_locks_events: RLock is re-entrant and owned by the calling thread', async () => {
    await using manager = await syncManager();
    {
      await using rl = await manager.RLock();
      expect([await rl.acquire(), await rl.acquire()]).toEqual([true, true]);
      await using other = new Agent(rl);
      expect(await other.call(0, 'acquire', { blocking: false })).toBe(false);
      await rl.release();
      await rl.release();
      await rl.acquire();
      const foreign = await other.call(0, 'release').catch((error: unknown) => error);
      expect(foreign).toMatchObject({
        code: SyncErrorCode.NotHeld,
        message: 'cannot release un-acquired lock',
      });
      expect(await rl.owned()).toBe(true);
      expect(await other.call(0, 'owned')).toBe(false);
      await rl.release();
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('15_locks_events: Semaphore and BoundedSemaphore', async () => {
    await using manager = await syncManager();
    {
      await using sem = await manager.Semaphore(2);
      expect([
        await sem.acquire(),
        await sem.acquire(),
        await sem.acquire({ blocking: false }),
      ]).toEqual([true, true, false]);
      await using worker = new Agent(sem);
      const waiting = sem.acquire({ timeout: 2000 });
      await worker.call(0, 'release'); // any thread may release a semaphore
      expect(await waiting).toBe(true);
      await using bs = await manager.BoundedSemaphore(1);
      const over = await rejection(bs.release());
      expect(over.code).toBe(SyncErrorCode.OverRelease);
      expect(over.message).toBe('Semaphore released too many times');
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('15_locks_events: Event wait/set from another thread', async () => {
    await using manager = await syncManager();
    {
      await using ev = await manager.Event();
      expect(await ev.isSet()).toBe(false);
      expect(await ev.wait({ timeout: 200 })).toBe(false);
      await using child = new Agent(ev);
      const waited = ev.wait({ timeout: 5000 });
      await sleep(100);
      await child.call(0, 'set');
      expect(await waited).toBe(true);
      await ev.clear();
      expect(await ev.isSet()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('15_locks_events: Condition wait/notify across threads, waitFor, errors', async () => {
    await using manager = await syncManager();
    {
      await using cond = await manager.Condition();
      const unheld = await rejection(cond.wait({ timeout: 100 }));
      expect(unheld.code).toBe(SyncErrorCode.NotHeld);
      expect(unheld.message).toBe('cannot wait on un-acquired lock');
      await cond.acquire();
      expect(await cond.wait({ timeout: 100 })).toBe(false);
      await cond.notify();
      expect(await cond.waitFor(() => true)).toBe(true);
      // A worker waits on the condition; the main thread notifies it.
      await using child = new Agent(cond);
      await cond.release();
      expect(await child.call(0, 'acquire')).toBe(true);
      await child.start('wait', 0, 'wait', { timeout: 5000 });
      await sleep(50);
      {
        await using _held = await cond.hold({ timeout: 2000 }); // the waiter released the lock
        await cond.notifyAll();
      }
      expect(await child.outcome('wait')).toMatchObject({ ok: true, value: true });
      await child.call(0, 'release'); // the waiter reacquired the lock before returning
      // Condition over a given Lock: they share the lock state.
      await using lock = await manager.Lock();
      await using over = await manager.Condition(lock);
      await over.acquire();
      expect(await lock.locked()).toBe(true);
      await over.release();
      expect(await lock.locked()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});

describe('Barrier (16_barrier.py)', () => {
  test('16_barrier: indices 0..2 across threads, timeout breaks it, reset, abort', async () => {
    await using manager = await syncManager();
    {
      await using barrier = await manager.Barrier(3);
      expect([await barrier.parties(), await barrier.nWaiting(), await barrier.broken()]).toEqual([
        3,
        0,
        false,
      ]);
      await using a = new Agent(barrier);
      await using b = new Agent(barrier);
      await a.start('a', 0, 'wait');
      await b.start('b', 0, 'wait');
      expect(await pollUntil(() => barrier.nWaiting(), 2)).toBe(2);
      const mine = await barrier.wait();
      const indices = [mine, (await a.outcome('a')).value, (await b.outcome('b')).value];
      expect(indices.sort()).toEqual([0, 1, 2]);

      const started = Date.now();
      const broken = await rejection(barrier.wait({ timeout: 200 }));
      expect(broken.code).toBe(SyncErrorCode.BrokenBarrier);
      expect(Date.now() - started).toBeGreaterThanOrEqual(180);
      expect(await barrier.broken()).toBe(true);
      await barrier.reset();
      expect(await barrier.broken()).toBe(false);
      await a.start('after-abort', 0, 'wait');
      expect(await pollUntil(() => barrier.nWaiting(), 1)).toBe(1);
      await barrier.abort();
      expect(await a.outcome('after-abort')).toMatchObject({
        ok: false,
        error: { code: SyncErrorCode.BrokenBarrier },
      });
      expect((await rejection(barrier.wait())).code).toBe(SyncErrorCode.BrokenBarrier);
      // Python 3.11 accepts Barrier(0); here parties must be >= 1 (as Python 3.13).
      expect((await rejection(manager.Barrier(0))).code).toBe(SyncErrorCode.InvalidOption);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});

describe('Barrier waits: cancellation and the default timeout', () => {
  test('a Barrier wait cancelled through its signal rejects with ERR_ABORTED and breaks the barrier: the other parties get ERR_BROKEN_BARRIER', async () => {
    await using manager = await syncManager();
    {
      await using barrier = await manager.Barrier(3);
      await using other = new Agent(barrier);
      await other.start('other', 0, 'wait');
      const controller = new AbortController();
      const cancelled = barrier.wait({ signal: controller.signal });
      expect(await pollUntil(() => barrier.nWaiting(), 2)).toBe(2);
      controller.abort();
      // As Queue.get / Lock.acquire / Condition.wait cancelled through their signal.
      expect(await rejection(cancelled)).toMatchObject({
        code: SyncErrorCode.Aborted,
        message: 'Barrier.wait() was aborted',
      });
      expect(await other.outcome('other')).toMatchObject({
        ok: false,
        error: { code: SyncErrorCode.BrokenBarrier, message: 'the barrier is broken' },
      });
      expect(await barrier.broken()).toBe(true);
      await barrier.reset();
      // Aborted before it was sent: nothing reached the barrier, it stays whole.
      const early = await rejection(barrier.wait({ signal: AbortSignal.abort() }));
      expect(early.code).toBe(SyncErrorCode.Aborted);
      expect(await barrier.broken()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test("Barrier.wait({ timeout: null }) uses the barrier's default timeout, as Python's wait(timeout=None)", async () => {
    await using manager = await syncManager();
    {
      // Python: Barrier(2, timeout=0.05).wait(timeout=None) raises BrokenBarrierError after 50 ms.
      await using barrier = await manager.Barrier(2, 50);
      const started = Date.now();
      const broken = await rejection(barrier.wait({ timeout: null }));
      expect(broken.code).toBe(SyncErrorCode.BrokenBarrier);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await barrier.broken()).toBe(true);
      await barrier.reset();
      // An explicit timeout still overrides the default; Infinity waits until the trip.
      const forever = barrier.wait({ timeout: Infinity });
      await sleep(150);
      expect(await barrier.nWaiting()).toBe(1);
      expect((await Promise.all([forever, barrier.wait()])).sort()).toEqual([0, 1]);
      // Other waits keep Python's None = forever: an Event wait with timeout null is still waiting.
      await using event = await manager.Event();
      const waiting = event.wait({ timeout: null });
      await sleep(100);
      await event.set();
      expect(await waiting).toBe(true);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});

describe('dead threads', () => {
  test('a thread that dies holding a Lock: the lock is released and handed to the next waiter', async () => {
    await using manager = await syncManager();
    {
      await using lock = await manager.Lock();
      await using rlock = await manager.RLock();
      await using holder = new Agent(lock, rlock);
      expect(await holder.call(0, 'acquire')).toBe(true);
      expect(await holder.call(1, 'acquire')).toBe(true);
      expect(await holder.call(1, 'acquire')).toBe(true); // RLock level 2
      const waiting = lock.acquire({ timeout: 5000 });
      expect(await lock.acquire({ blocking: false })).toBe(false);
      // Python leaves both locked forever; here the thread's end releases them.
      await holder.worker.terminate();
      expect(await waiting).toBe(true);
      expect(await lock.recoveries()).toBe(1);
      expect(await rlock.acquire({ timeout: 2000 })).toBe(true);
      expect(await rlock.recoveries()).toBe(1);
      await rlock.release();
      await lock.release();
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('waiters of a dead thread are removed (Lock, Semaphore, Barrier)', async () => {
    await using manager = await syncManager();
    {
      await using lock = await manager.Lock();
      await using sem = await manager.Semaphore(0);
      await using barrier = await manager.Barrier(2);
      await lock.acquire();
      {
        await using doomed = new Agent(lock, sem, barrier);
        await doomed.start('lock', 0, 'acquire');
        await doomed.start('sem', 1, 'acquire');
        await doomed.start('barrier', 2, 'wait');
        expect(await pollUntil(() => barrier.nWaiting(), 1)).toBe(1);
      }
      expect(await pollUntil(() => barrier.nWaiting(), 0)).toBe(0);
      // The dead thread's lock wait was dropped: the lock stays with us, then is free.
      await lock.release();
      expect(await lock.locked()).toBe(false);
      // Its semaphore wait was dropped: the unit goes to a live waiter.
      await sem.release();
      expect(await sem.acquire({ blocking: false })).toBe(true);
      expect(await barrier.broken()).toBe(false);
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });
});
