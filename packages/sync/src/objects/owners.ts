/**
 * Server side of thread ownership: which owners (threads) are alive, and who to tell when
 * one dies. Module state of the server worker (one server per worker).
 */
import { forEachProxy, type BaseProxy } from '@managers/proxy';
import { SyncErrorCode, syncError } from '../errors';

/** Something that holds locks or waiters for owners and must forget a dead one. */
export interface OwnerWatcher {
  ownerDied(owner: string): void;
}

interface OwnerRecord {
  alive: boolean;
  readonly watchers: Set<OwnerWatcher>;
}

const owners = new Map<string, OwnerRecord>();

/** The owner and wait ids of a call, after validating its context. */
export interface CallOwner {
  readonly owner: string;
  readonly wait: string | undefined;
}

/**
 * Validates the owner context a proxy sent and registers its liveness port (first call of a
 * thread). Throws `ERR_OWNER_DEAD` for a thread already seen dead (a call that was in flight
 * when it died), `ERR_INVALID_OPTION` for a malformed context.
 */
export function callOwner(context: unknown): CallOwner {
  const ctx = context as { owner?: unknown; wait?: unknown; port?: unknown } | null;
  if (typeof ctx !== 'object' || ctx === null || typeof ctx.owner !== 'string') {
    throw syncError(
      SyncErrorCode.InvalidOption,
      'this method takes an owner context as its first argument: call it through its @managers/sync proxy (or asSyncProxy(proxy))',
    );
  }
  let record = owners.get(ctx.owner);
  if (record === undefined) {
    record = { alive: true, watchers: new Set() };
    owners.set(ctx.owner, record);
  }
  const port = ctx.port as { on?: unknown; unref?: () => void } | undefined;
  if (port !== undefined && port !== null && typeof port.on === 'function') {
    const owner = ctx.owner;
    (port as { on(event: 'close', listener: () => void): void }).on('close', () =>
      ownerDied(owner),
    );
    port.unref?.();
  }
  if (!record.alive) {
    throw syncError(
      SyncErrorCode.OwnerDead,
      `the calling thread (${ctx.owner}) has ended: its call is ignored`,
    );
  }
  return { owner: ctx.owner, wait: typeof ctx.wait === 'string' ? ctx.wait : undefined };
}

/** Asks to be told when `owner` dies. */
export function watchOwner(owner: string, watcher: OwnerWatcher): void {
  owners.get(owner)?.watchers.add(watcher);
}

/** Stops watching every owner (the watcher was disposed). */
export function unwatchAll(watcher: OwnerWatcher): void {
  for (const record of owners.values()) record.watchers.delete(watcher);
}

function ownerDied(owner: string): void {
  const record = owners.get(owner);
  if (record === undefined || !record.alive) return;
  record.alive = false;
  const watchers = [...record.watchers];
  record.watchers.clear();
  for (const watcher of watchers) {
    try {
      watcher.ownerDied(owner);
    } catch {
      // one watcher's failure must not keep the others from cleaning up
    }
  }
}

/** How a wait ended, when not by success. */
export type WaitEnd = 'timeout' | 'aborted' | 'dead' | 'disposed';

/** One blocked call. */
export interface Waiter<T> {
  readonly owner: string;
  readonly wait: string | undefined;
  readonly resolve: (value: T) => void;
  /** Ends the wait without success. */
  readonly end: (why: WaitEnd) => void;
  /** What the caller attached (a blocked put's item). */
  readonly data: unknown;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

/**
 * A FIFO of blocked calls. `add` returns the promise the hosted method returns; `settle` and
 * `end` finish a waiter and take it out. Timers are unref'd: they never keep the server alive.
 */
export class WaitList<T> {
  readonly #waiters: Waiter<T>[] = [];

  get length(): number {
    return this.#waiters.length;
  }

  /** The waiters, oldest first (a copy). */
  list(): Waiter<T>[] {
    return [...this.#waiters];
  }

  add(
    who: CallOwner,
    timeout: number | null | undefined,
    onEnd: (why: WaitEnd, reject: (error: unknown) => void, resolve: (value: T) => void) => void,
    data?: unknown,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        owner: who.owner,
        wait: who.wait,
        data,
        timer: undefined,
        settled: false,
        resolve: (value) => {
          if (this.#finish(waiter)) resolve(value);
        },
        end: (why) => {
          if (this.#finish(waiter)) onEnd(why, reject, resolve);
        },
      };
      if (timeout !== null && timeout !== undefined && Number.isFinite(timeout)) {
        waiter.timer = setTimeout(() => waiter.end('timeout'), Math.max(0, timeout));
        waiter.timer.unref?.();
      }
      this.#waiters.push(waiter);
    });
  }

  #finish(waiter: Waiter<T>): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    return true;
  }

  /** The oldest waiter, if any (still in the list). */
  first(): Waiter<T> | undefined {
    return this.#waiters[0];
  }

  /** Ends the waiter whose wait id is `wait`; true if there was one. */
  cancel(wait: string): boolean {
    const waiter = this.#waiters.find((item) => item.wait === wait);
    waiter?.end('aborted');
    return waiter !== undefined;
  }

  /** Ends every waiter of `owner` (it died). */
  removeOwner(owner: string): void {
    for (const waiter of this.#waiters.filter((item) => item.owner === owner)) waiter.end('dead');
  }

  /** Ends every waiter. */
  endAll(why: WaitEnd): void {
    for (const waiter of [...this.#waiters]) waiter.end(why);
  }
}

/** The error a wait that ended without success rejects with (timeouts are handled by callers). */
export function waitError(why: WaitEnd, what: string): Error {
  switch (why) {
    case 'aborted':
      return syncError(SyncErrorCode.Aborted, `${what} was aborted`);
    case 'dead':
      return syncError(SyncErrorCode.OwnerDead, `${what}: the waiting thread has ended`);
    case 'disposed':
      return syncError(SyncErrorCode.Disposed, `${what}: the object was disposed`);
    case 'timeout':
      return syncError(SyncErrorCode.Timeout, `${what} timed out`);
  }
}

/**
 * Releases the server-side proxies inside `value` once the current reply has been encoded (the
 * reply takes the caller's own reference first): used when a container hands out and drops a
 * stored proxy (`pop`, queue `get`).
 */
export function releaseLater(value: unknown): void {
  const proxies: BaseProxy[] = [];
  forEachProxy(value, (proxy) => proxies.push(proxy));
  if (proxies.length === 0) return;
  setImmediate(() => {
    for (const proxy of proxies) proxy[Symbol.dispose]();
  });
}

/** Releases the server-side proxies inside `value` now (the value was dropped). */
export function releaseNow(value: unknown): void {
  forEachProxy(value, (proxy) => proxy[Symbol.dispose]());
}

/** Validates an optional timeout in ms (null/undefined: forever). */
export function checkTimeout(timeout: unknown, what: string): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: timeout must be a non-negative number of milliseconds or null, got ${String(timeout)}`,
    );
  }
  return timeout;
}
