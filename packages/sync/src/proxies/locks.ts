import { checkPredicate } from '../options';
import { ACQUIRE, HOLD, WAIT, WAIT_FOR } from './option-specs';
import {
  SyncProxy,
  holdWith,
  type AcquireOptions,
  type Held,
  type WaitOptions,
} from './sync-proxy';

/**
 * What Lock, RLock, Semaphore and Condition proxies share (Python's `AcquirerProxy`):
 * `acquire` and `await using` acquisition through `hold()`.
 */
abstract class AcquirerProxy extends SyncProxy {
  /**
   * Python's `acquire(blocking, timeout)`: true when acquired, false when not (non-blocking or
   * timed out). Options only: `acquire(false)` rejects with `ERR_INVALID_OPTION` (Python's
   * `acquire(False)` is `acquire({ blocking: false })`).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.withOptions<AcquireOptions, boolean>('acquire(options)', options, ACQUIRE, (o) =>
      this.waitCall('acquire', o.signal, o.blocking !== false, o.timeout ?? null),
    );
  }
  /** Gives back what `acquire` took. */
  abstract release(): Promise<void>;
  /** `await using held = await proxy.hold()` acquires, and releases at the end of the block. */
  hold(options?: AcquireOptions): Promise<Held> {
    return this.withOptions<AcquireOptions, Held>('hold(options)', options, HOLD, (o) =>
      holdWith(
        () => this.acquire(o),
        () => this.release(),
        `${this.token.typeid}.hold()`,
        o.timeout,
      ),
    );
  }
}

/** Proxy of a Lock or RLock; the owner is the calling thread. */
export class LockProxy extends AcquirerProxy {
  /** Releases (`ERR_NOT_HELD` when not locked; for an RLock, when the caller is not the owner). */
  release(): Promise<void> {
    return this.ownerCall('release');
  }
  locked(): Promise<boolean> {
    return this.call('locked');
  }
  /** True when the calling thread holds it. */
  owned(): Promise<boolean> {
    return this.ownerCall('owned');
  }
  /** How many times the lock was released because the thread holding it died. */
  recoveries(): Promise<number> {
    return this.call('recoveries');
  }
}

/** Proxy of a Semaphore or BoundedSemaphore (no owner: any thread may release). */
export class SemaphoreProxy extends AcquirerProxy {
  /** Releases `n` units (a BoundedSemaphore rejects going above its initial value: `ERR_OVER_RELEASE`). */
  release(n = 1): Promise<void> {
    return this.call('release', n);
  }
  value(): Promise<number> {
    return this.call('value');
  }
}

/** Proxy of a Condition. */
export class ConditionProxy extends AcquirerProxy {
  release(): Promise<void> {
    return this.ownerCall('release');
  }
  /** Releases the lock, waits for a notify (false after `timeout` ms), reacquires. Needs the lock held. */
  wait(options?: WaitOptions): Promise<boolean> {
    return this.withOptions<WaitOptions, boolean>('wait(options)', options, WAIT, (o) =>
      this.waitCall('wait', o.signal, o.timeout ?? null),
    );
  }
  /**
   * Python's `wait_for`: waits until `predicate()` (run here, in the caller's thread) is true,
   * at most `timeout` ms in all; resolves with the predicate's last result.
   */
  async waitFor(
    predicate: () => boolean | Promise<boolean>,
    options?: WaitOptions,
  ): Promise<boolean> {
    return this.withOptions<WaitOptions, boolean>(
      'waitFor(predicate, options)',
      options,
      WAIT_FOR,
      (checked) => this.#waitFor(predicate, checked),
    );
  }
  async #waitFor(
    predicate: () => boolean | Promise<boolean>,
    options: WaitOptions,
  ): Promise<boolean> {
    checkPredicate(predicate, `${this.token.typeid}.waitFor(predicate, options)`);
    const deadline = options.timeout == null ? undefined : Date.now() + options.timeout;
    let result = await predicate();
    while (!result) {
      const left = deadline === undefined ? null : deadline - Date.now();
      if (left !== null && left <= 0) break;
      await this.wait({ timeout: left, signal: options.signal });
      result = await predicate();
    }
    return result;
  }
  notify(n = 1): Promise<void> {
    return this.ownerCall('notify', n);
  }
  notifyAll(): Promise<void> {
    return this.ownerCall('notifyAll');
  }
}

/** Proxy of an Event. */
export class EventProxy extends SyncProxy {
  isSet(): Promise<boolean> {
    return this.call('isSet');
  }
  set(): Promise<void> {
    return this.call('set');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  /** Resolves true once set, false after `timeout` ms. */
  wait(options?: WaitOptions): Promise<boolean> {
    return this.withOptions<WaitOptions, boolean>('wait(options)', options, WAIT, (o) =>
      this.waitCall('wait', o.signal, o.timeout ?? null),
    );
  }
}

/** Proxy of a Barrier. */
export class BarrierProxy extends SyncProxy {
  /**
   * Waits for all parties; resolves with this caller's arrival index (0 … parties-1);
   * `ERR_BROKEN_BARRIER` when broken. `timeout` omitted or null: the barrier's default (as
   * Python's `wait(timeout=None)`); `Infinity`: forever. Cancelled through `signal`, it rejects
   * with `ERR_ABORTED` and breaks the barrier (the other parties get `ERR_BROKEN_BARRIER`).
   */
  wait(options?: WaitOptions): Promise<number> {
    return this.withOptions<WaitOptions, number>('wait(options)', options, WAIT, (o) =>
      o.timeout === undefined
        ? this.waitCall('wait', o.signal)
        : this.waitCall('wait', o.signal, o.timeout),
    );
  }
  abort(): Promise<void> {
    return this.call('abort');
  }
  reset(): Promise<void> {
    return this.call('reset');
  }
  parties(): Promise<number> {
    return this.call('parties');
  }
  nWaiting(): Promise<number> {
    return this.call('nWaiting');
  }
  broken(): Promise<boolean> {
    return this.call('broken');
  }
}
