/**
 * Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and Barrier, hosted in the
 * server. Nothing here blocks: a call that must wait returns a Promise the server awaits while
 * it serves other calls. Owner-aware methods take a call context first (sent by the proxies:
 * its wait id); the owner is the caller's connection as the server knows it, never an id the
 * client sent. A thread whose connection closes has its holds released and its waiters removed.
 */
import { randomUUID } from 'node:crypto';
import { registryFunction, type Caller } from '@managers/core';
import { callMethod } from '@managers/proxy';
import { refuseValueCopy, SyncErrorCode, syncError } from '../errors';
import { checkFlag, checkOptions, describeValue, optionChecks, type OptionsSpec } from '../options';
import {
  callOwner,
  checkAlive,
  checkTimeout,
  currentCaller,
  releaseNow,
  unwatchAll,
  waitError,
  WaitList,
  watchOwner,
  type CallOwner,
  type OwnerWatcher,
} from './owners';

/** Lock state shared by Lock, RLock and Condition. */
export class LockCore implements OwnerWatcher {
  /** The holder's connection (shown by its label only). */
  holder: Caller | undefined;
  count = 0;
  /** How many times a dead holder's hold was released. */
  recoveries = 0;
  /** Waiters; each one's `data` is the count it takes (a Condition reacquiring restores its level). */
  readonly #waiters = new WaitList<boolean>();

  constructor(
    readonly reentrant: boolean,
    readonly what: string,
  ) {}

  #take(owner: Caller, count: number): boolean {
    if (this.holder === undefined) {
      this.holder = owner;
      this.count = count;
      watchOwner(owner, this);
      return true;
    }
    if (this.reentrant && this.holder === owner) {
      this.count += count;
      return true;
    }
    return false;
  }

  acquire(
    who: CallOwner,
    blocking: boolean,
    timeout: number | null,
    count = 1,
  ): boolean | Promise<boolean> {
    // A Condition reacquiring after its wait: the caller may have ended meanwhile.
    checkAlive(who.owner);
    if (this.#waiters.length === 0 && this.#take(who.owner, count)) return true;
    if (this.reentrant && this.holder === who.owner) return this.#take(who.owner, count);
    if (!blocking) return false;
    watchOwner(who.owner, this);
    return this.#waiters.add(
      who,
      timeout,
      (why, reject, resolve) => {
        if (why === 'timeout') resolve(false);
        else reject(waitError(why, `${this.what}.acquire()`));
      },
      count,
    );
  }

  /** Releases one level; `force` releases whoever holds it (Python's Lock). */
  release(owner: Caller, force: boolean): void {
    if (this.holder === undefined) {
      throw syncError(
        SyncErrorCode.NotHeld,
        this.reentrant ? 'cannot release un-acquired lock' : 'release unlocked lock',
      );
    }
    if (this.holder !== owner && !force) {
      throw syncError(SyncErrorCode.NotHeld, 'cannot release un-acquired lock');
    }
    if (--this.count > 0) return;
    this.#free();
  }

  /** Releases every level held by `owner` (a Condition wait); returns the count to restore. */
  releaseAll(owner: Caller): number {
    if (this.holder !== owner)
      throw syncError(SyncErrorCode.NotHeld, 'cannot release un-acquired lock');
    const count = this.count;
    this.#free();
    return count;
  }

  owns(owner: Caller): boolean {
    return this.holder === owner;
  }

  #free(): void {
    this.holder = undefined;
    this.count = 0;
    const next = this.#waiters.first();
    if (next === undefined) return;
    this.#take(next.owner, next.data as number);
    next.resolve(true);
  }

  /** Cancels `owner`'s wait `wait`. */
  cancel(owner: Caller, wait: string): boolean {
    return this.#waiters.cancel(owner, wait);
  }

  ownerDied(owner: Caller): void {
    this.#waiters.removeOwner(owner);
    if (this.holder === owner) {
      this.recoveries++;
      this.#free();
    }
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  dispose(): void {
    this.#waiters.endAll('disposed');
    unwatchAll(this);
  }
}

/** Lock objects by key, so that a Condition can be built over a Lock passed as a proxy. */
const lockRegistry = new Map<string, WeakRef<Lock>>();

/** `acquire`'s positional arguments as the proxies send them (`what`: `Lock.acquire`). */
function acquireArgs(blocking: unknown, timeout: unknown, what: string) {
  return {
    blocking: checkFlag(blocking, true, what, 'blocking'),
    timeout: checkTimeout(timeout, `${what}()`),
  };
}

/** Python's `threading.Lock`, owned by the acquiring thread (for dead-holder recovery). */
export class Lock {
  readonly core: LockCore;
  readonly #key = randomUUID();

  constructor(reentrant = false) {
    this.core = new LockCore(reentrant, reentrant ? 'RLock' : 'Lock');
    lockRegistry.set(this.#key, new WeakRef(this));
  }

  acquire(
    context: unknown,
    blocking?: boolean,
    timeout?: number | null,
  ): boolean | Promise<boolean> {
    const who = callOwner(context, this.core.what, 'acquire', blocking, timeout);
    const options = acquireArgs(blocking, timeout, `${this.core.what}.acquire`);
    return this.core.acquire(who, options.blocking, options.timeout);
  }

  /** A Lock may be released by any thread (as in Python); an RLock only by its owner. */
  release(context: unknown): void {
    const who = callOwner(context, this.core.what, 'release');
    this.core.release(who.owner, !this.core.reentrant);
  }

  locked(): boolean {
    return this.core.holder !== undefined;
  }

  /** True when the calling thread holds the lock. */
  owned(context: unknown): boolean {
    return this.core.owns(callOwner(context, this.core.what, 'owned').owner);
  }

  /** How many times the lock was released because its holder thread died. */
  recoveries(): number {
    return this.core.recoveries;
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    return this.core.cancel(currentCaller(), wait);
  }

  /** Lets a Condition find this lock through a server-side proxy. */
  syncKey(): string {
    return this.#key;
  }

  toString(): string {
    return `<${this.core.what} ${this.core.holder === undefined ? 'unlocked' : `locked by ${this.core.holder.label}${this.core.reentrant ? ` x${this.core.count}` : ''}`}>`;
  }

  [Symbol.dispose](): void {
    lockRegistry.delete(this.#key);
    this.core.dispose();
  }
}

/** Python's `threading.RLock`: re-entrant, released only by its owner thread. */
export class RLock extends Lock {
  constructor() {
    super(true);
  }
}

/** Python's `threading.Semaphore` (no owner: any thread may release). */
export class Semaphore implements OwnerWatcher {
  #value: number;
  readonly #initial: number;
  readonly #waiters = new WaitList<boolean>();

  constructor(
    value: number = 1,
    readonly bounded = false,
  ) {
    if (!Number.isInteger(value) || value < 0) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `semaphore initial value must be an integer >= 0, got ${String(value)}`,
      );
    }
    this.#value = value;
    this.#initial = value;
  }

  acquire(
    context: unknown,
    blocking?: boolean,
    timeout?: number | null,
  ): boolean | Promise<boolean> {
    const typeid = this.bounded ? 'BoundedSemaphore' : 'Semaphore';
    const who = callOwner(context, typeid, 'acquire', blocking, timeout);
    const options = acquireArgs(blocking, timeout, `${typeid}.acquire`);
    if (this.#waiters.length === 0 && this.#value > 0) {
      this.#value--;
      return true;
    }
    if (!options.blocking) return false;
    watchOwner(who.owner, this);
    return this.#waiters.add(who, options.timeout, (why, reject, resolve) => {
      if (why === 'timeout') resolve(false);
      else reject(waitError(why, 'Semaphore.acquire()'));
    });
  }

  release(n: number = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw syncError(SyncErrorCode.InvalidOption, `n must be an integer >= 1, got ${String(n)}`);
    }
    if (this.bounded && this.#value + n > this.#initial) {
      throw syncError(SyncErrorCode.OverRelease, 'Semaphore released too many times');
    }
    this.#value += n;
    while (this.#value > 0 && this.#waiters.length > 0) {
      this.#value--;
      this.#waiters.first()!.resolve(true);
    }
  }

  value(): number {
    return this.#value;
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    return this.#waiters.cancel(currentCaller(), wait);
  }

  ownerDied(owner: Caller): void {
    this.#waiters.removeOwner(owner);
  }

  toString(): string {
    return `<${this.bounded ? 'BoundedSemaphore' : 'Semaphore'} value=${this.#value}>`;
  }

  [Symbol.dispose](): void {
    this.#waiters.endAll('disposed');
    unwatchAll(this);
  }
}

/** Python's `threading.BoundedSemaphore`: releasing above the initial value is an error. */
export class BoundedSemaphore extends Semaphore {
  constructor(value: number = 1) {
    super(value, true);
  }
}

/** Python's `threading.Event`. */
export class Event implements OwnerWatcher {
  #flag = false;
  readonly #waiters = new WaitList<boolean>();

  isSet(): boolean {
    return this.#flag;
  }

  set(): void {
    this.#flag = true;
    for (const waiter of this.#waiters.list()) waiter.resolve(true);
  }

  clear(): void {
    this.#flag = false;
  }

  wait(context: unknown, timeout?: number | null): boolean | Promise<boolean> {
    const who = callOwner(context, 'Event', 'wait', timeout);
    const ms = checkTimeout(timeout, 'Event.wait()');
    if (this.#flag) return true;
    watchOwner(who.owner, this);
    return this.#waiters.add(who, ms, (why, reject, resolve) => {
      if (why === 'timeout') resolve(false);
      else reject(waitError(why, 'Event.wait()'));
    });
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    return this.#waiters.cancel(currentCaller(), wait);
  }

  ownerDied(owner: Caller): void {
    this.#waiters.removeOwner(owner);
  }

  toString(): string {
    return `<Event ${this.#flag ? 'set' : 'unset'}>`;
  }

  [Symbol.dispose](): void {
    this.#waiters.endAll('disposed');
    unwatchAll(this);
  }
}

/** Python's `threading.Condition` over an internal RLock or a given Lock/RLock. */
export class Condition implements OwnerWatcher {
  readonly core: LockCore;
  /** The server-side proxy of a Lock given at creation (released when this is disposed). */
  readonly lock: unknown;
  readonly #waiters = new WaitList<boolean>();
  readonly #ownsCore: boolean;

  constructor(core?: LockCore, lockProxy?: unknown) {
    this.#ownsCore = core === undefined;
    this.core = core ?? new LockCore(true, 'Condition');
    this.lock = lockProxy;
  }

  /** The factory registered for `Condition(lock?)`: finds a given Lock's state through its proxy. */
  static async create(lock?: unknown): Promise<Condition> {
    if (lock === undefined || lock === null) return new Condition();
    let key: unknown;
    try {
      key = await callMethod(lock, 'syncKey');
    } catch (error) {
      // Refused: the proxy this call carried is released at once (nothing keeps it).
      releaseNow(lock);
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Condition(lock): lock must be a Lock or RLock proxy of this manager (${(error as Error).message})`,
      );
    }
    const found = typeof key === 'string' ? lockRegistry.get(key)?.deref() : undefined;
    if (found === undefined) {
      releaseNow(lock);
      throw syncError(
        SyncErrorCode.InvalidOption,
        'Condition(lock): lock must be a Lock or RLock proxy of this manager',
      );
    }
    return new Condition(found.core, lock);
  }

  acquire(
    context: unknown,
    blocking?: boolean,
    timeout?: number | null,
  ): boolean | Promise<boolean> {
    const who = callOwner(context, 'Condition', 'acquire', blocking, timeout);
    const options = acquireArgs(blocking, timeout, 'Condition.acquire');
    return this.core.acquire(who, options.blocking, options.timeout);
  }

  release(context: unknown): void {
    this.core.release(callOwner(context, 'Condition', 'release').owner, !this.core.reentrant);
  }

  async wait(context: unknown, timeout?: number | null): Promise<boolean> {
    const who = callOwner(context, 'Condition', 'wait', timeout);
    const ms = checkTimeout(timeout, 'Condition.wait()');
    if (!this.core.owns(who.owner)) {
      throw syncError(SyncErrorCode.NotHeld, 'cannot wait on un-acquired lock');
    }
    const saved = this.core.releaseAll(who.owner);
    watchOwner(who.owner, this);
    let aborted: unknown;
    const notified = await this.#waiters
      .add(who, ms, (why, reject, resolve) => {
        if (why === 'timeout') resolve(false);
        else reject(waitError(why, 'Condition.wait()'));
      })
      .catch((error: unknown) => {
        aborted = error;
        return false;
      });
    if ((aborted as { code?: string } | undefined)?.code === SyncErrorCode.OwnerDead) throw aborted;
    // Reacquire (as Python does, even after a timeout or an abort), restoring the RLock level.
    await this.core.acquire(
      { owner: who.owner, wait: undefined, call: undefined },
      true,
      null,
      saved,
    );
    if (aborted !== undefined) throw aborted;
    return notified;
  }

  /** Python's `notify(n=1)`: wakes up to `n` waiters (an integer >= 0; 0 wakes none). */
  notify(context: unknown, n: number = 1): void {
    const who = callOwner(context, 'Condition', 'notify', n);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      // Python: ValueError (islice) for a negative n, TypeError for a non-integer.
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Condition.notify(n): n must be an integer >= 0, got ${describeValue(n)}`,
        { option: 'n', call: 'Condition.notify(n)' },
      );
    }
    this.#notify(who, n);
  }

  notifyAll(context: unknown): void {
    this.#notify(callOwner(context, 'Condition', 'notifyAll'), Number.MAX_SAFE_INTEGER);
  }

  #notify(who: CallOwner, n: number): void {
    if (!this.core.owns(who.owner)) {
      throw syncError(SyncErrorCode.NotHeld, 'cannot notify on un-acquired lock');
    }
    for (const waiter of this.#waiters.list().slice(0, Math.max(0, n))) waiter.resolve(true);
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    const owner = currentCaller();
    return this.#waiters.cancel(owner, wait) || this.core.cancel(owner, wait);
  }

  ownerDied(owner: Caller): void {
    this.#waiters.removeOwner(owner);
  }

  toString(): string {
    return `<Condition ${this.core.holder === undefined ? 'unlocked' : `locked by ${this.core.holder.label}`}, ${this.#waiters.length} waiting>`;
  }

  [Symbol.dispose](): void {
    this.#waiters.endAll('disposed');
    unwatchAll(this);
    if (this.#ownsCore) this.core.dispose();
  }
}

/** The options of `Barrier(parties, options)`: Python's `timeout` and `action`. */
export interface BarrierOptions {
  /** Default timeout of `wait()`, in ms (null/undefined: none). */
  readonly timeout?: number | null;
  /**
   * The name of a function exported by the registry module (the `options.module` the manager
   * was started with), run in the server once each time the barrier trips, before any waiter
   * is released: Python's `action`. A function cannot travel to the server; its name can, as
   * `options.initializer`'s does. It may be async (the waiters are released when it settles).
   */
  readonly action?: string;
  /** Arguments for `action` (cloned; proxies are held by the barrier until it is disposed). */
  readonly actionArgs?: readonly unknown[];
}

const BARRIER_OPTIONS: OptionsSpec = {
  keys: {
    timeout: optionChecks.timeout,
    // Checked by registryFunction (its message names the registry module).
    action: optionChecks.any,
    actionArgs: optionChecks.array,
  },
  example: "{ timeout: 200, action: 'name', actionArgs: [] }",
  expected:
    "a timeout in ms, null, or an object such as { timeout: 200, action: 'name', actionArgs: [] }",
};

function barrierOptions(options: unknown): BarrierOptions {
  if (options === undefined || options === null || typeof options === 'number') {
    return { timeout: options as number | null | undefined };
  }
  return checkOptions<BarrierOptions>('Barrier(parties, options)', options, BARRIER_OPTIONS);
}

/**
 * Python's `threading.Barrier`, with `action` given as the name of a function exported by the
 * registry module (see {@link BarrierOptions.action}).
 */
export class Barrier implements OwnerWatcher {
  readonly #parties: number;
  readonly #timeout: number | null;
  readonly #action: ((...args: unknown[]) => unknown) | undefined;
  readonly #actionArgs: readonly unknown[];
  #broken = false;
  /** Bumped by every break and reset: an action that finds it changed releases nobody. */
  #generation = 0;
  /** While the action of a trip runs: later arrivals wait for it (Python's "draining" state). */
  #tripping: Promise<unknown> | undefined;
  /** While {@link Barrier.#break} ends the waiters (they get ERR_BROKEN_BARRIER). */
  #breaking = false;
  readonly #waiters = new WaitList<number>();

  constructor(parties: number, options?: number | null | BarrierOptions) {
    if (!Number.isInteger(parties) || parties < 1) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `Barrier(parties): parties must be an integer >= 1, got ${String(parties)}`,
      );
    }
    let settings: BarrierOptions;
    try {
      settings = barrierOptions(options);
      this.#timeout = checkTimeout(settings.timeout, 'Barrier()');
      this.#action =
        settings.action === undefined
          ? undefined
          : registryFunction(settings.action, 'options.action');
    } catch (error) {
      // Refused: the proxies in actionArgs are released at once (nothing keeps them).
      releaseNow(options);
      throw error;
    }
    this.#parties = parties;
    this.#actionArgs = settings.actionArgs ?? [];
  }

  /**
   * Python's `wait(timeout=None)`: a timeout of null or undefined is the barrier's default
   * (Python's None), not "forever" as for the other waits; Infinity waits forever.
   */
  wait(context: unknown, timeout?: number | null): number | Promise<number> {
    const who = callOwner(context, 'Barrier', 'wait', timeout);
    const ms =
      timeout === undefined || timeout === null
        ? this.#timeout
        : checkTimeout(timeout, 'Barrier.wait()');
    return this.#enter(who, ms);
  }

  /** Arriving while a trip's action runs, a caller joins the next round once it is done. */
  #enter(who: CallOwner, ms: number | null): number | Promise<number> {
    if (this.#tripping === undefined) return this.#arrive(who, ms);
    return this.#tripping.then(() => {
      checkAlive(who.owner);
      return this.#enter(who, ms);
    });
  }

  #arrive(who: CallOwner, ms: number | null): number | Promise<number> {
    if (this.#broken) throw brokenBarrier();
    const index = this.#waiters.length;
    if (index + 1 === this.#parties) {
      const waiters = this.#waiters.list();
      if (this.#action === undefined) {
        waiters.forEach((waiter, position) => waiter.resolve(position));
        return index;
      }
      // As in Python, the waiters cannot time out while the action runs (there they wait for
      // the lock the last arrival holds); a dead or aborted one still leaves.
      this.#waiters.disarm();
      const generation = this.#generation;
      const trip = (async () => {
        try {
          await this.#action!(...this.#actionArgs);
        } catch (error) {
          // Python: the barrier breaks, the last arrival gets the action's error.
          if (generation === this.#generation) this.#break();
          throw error;
        }
        if (generation !== this.#generation) throw brokenBarrier();
        waiters.forEach((waiter, position) => waiter.resolve(position));
        return index;
      })();
      this.#tripping = trip.finally(() => (this.#tripping = undefined)).catch(() => undefined);
      return trip;
    }
    watchOwner(who.owner, this);
    return this.#waiters.add(who, ms, (why, reject) => {
      if (why === 'dead' || why === 'disposed') return reject(waitError(why, 'Barrier.wait()'));
      // Ended by a break (a timeout, an abort, a reset, another caller's cancelled wait):
      // Python's BrokenBarrierError.
      if (this.#breaking) return reject(brokenBarrier());
      // A timeout or a wait cancelled through its signal breaks the barrier, as Python's
      // timeout does: the others get ERR_BROKEN_BARRIER; the cancelled caller gets
      // ERR_ABORTED, as every wait cancelled through its signal does.
      reject(why === 'aborted' ? waitError(why, 'Barrier.wait()') : brokenBarrier());
      this.#break();
    });
  }

  #break(): void {
    this.#broken = true;
    this.#generation++;
    this.#breaking = true;
    try {
      this.#waiters.endAll('aborted');
    } finally {
      this.#breaking = false;
    }
  }

  /**
   * Breaks the barrier. During a trip's action it waits for the action to end (Python's
   * `abort()` waits for the lock the action runs under): that trip completes, its waiters get
   * their indices, and the barrier is broken for the next round.
   */
  abort(): void | Promise<void> {
    if (this.#tripping !== undefined) return this.#tripping.then(() => this.abort());
    this.#break();
  }

  /** Breaks the current round's waits and makes the barrier usable again (after a running action, as `abort()`). */
  reset(): void | Promise<void> {
    if (this.#tripping !== undefined) return this.#tripping.then(() => this.reset());
    this.#break();
    this.#broken = false;
  }

  parties(): number {
    return this.#parties;
  }

  /** Waiting callers; during a trip's action, all the parties (none has left yet, as in Python). */
  nWaiting(): number {
    return this.#tripping === undefined ? this.#waiters.length : this.#parties;
  }

  broken(): boolean {
    return this.#broken;
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    return this.#waiters.cancel(currentCaller(), wait);
  }

  ownerDied(owner: Caller): void {
    this.#waiters.removeOwner(owner);
  }

  toString(): string {
    return `<Barrier parties=${this.#parties} waiting=${this.nWaiting()}${this.#broken ? ' broken' : ''}${this.#action === undefined ? '' : ` action=${this.#action.name}`}>`;
  }

  [Symbol.dispose](): void {
    this.#waiters.endAll('disposed');
    unwatchAll(this);
    releaseNow(this.#actionArgs);
  }
}

function brokenBarrier(): Error {
  return syncError(SyncErrorCode.BrokenBarrier, 'the barrier is broken');
}

// What getValue() of a lock, a semaphore, an event, a condition or a barrier gives.
refuseValueCopy(Lock, Semaphore, Event, Condition, Barrier);
