/**
 * Server side of ownership: who is calling (the caller's connection, as the server knows it),
 * and who to tell when a caller's connection closes. Module state of the server worker.
 */
import {
  clearTimer,
  currentCall,
  setTimer,
  type Caller,
  type CallContext,
  type Timer,
} from '@managers/core';
import { forEachProxy, isProxy, type BaseProxy } from '@managers/proxy';
import { SyncErrorCode, syncError } from '../errors';
import { CALL_CONTEXT } from '../owner';

/** Something that holds locks or waiters for callers and must forget one whose connection closed. */
export interface OwnerWatcher {
  ownerDied(owner: Caller): void;
}

/**
 * The owner of calls made by server-side proxies (a hosted object calling a lock it holds a
 * proxy to): the server itself, which never closes.
 */
export const SERVER_CALLER: Caller = Object.freeze({
  id: 'server',
  label: 'server',
  closed: false,
  onClose: () => () => undefined,
});

interface CallerRecord {
  readonly watchers: Set<OwnerWatcher>;
  readonly unsubscribe: () => void;
}

/** One close hook per caller (connection), however many objects watch it. */
const callers = new Map<Caller, CallerRecord>();

/** The owner and wait id of a call, after validating its context. */
export interface CallOwner {
  /** The caller's connection: never anything the client sent. */
  readonly owner: Caller;
  /** The client's id of this wait, meaningful only together with `owner`. */
  readonly wait: string | undefined;
  /** The call being served (undefined for calls of server-side proxies). */
  readonly call: CallContext | undefined;
}

/**
 * Validates the context a proxy sent as the first argument of `typeid.method()` and names the
 * caller. The owner is the connection the call came on (`currentCall().caller`): an `owner`
 * or `port` in the context (sent by older clients, or forged) is ignored. Must run in the
 * synchronous part of a hosted method. Throws `ERR_OWNER_DEAD` for a connection already
 * closed (a call that was in flight when its thread died), `ERR_INVALID_OPTION` for a first
 * argument that is not a context (the call of a plain proxy, whose first argument is the
 * caller's own): the proxies in `context` and `carried` (the other arguments) are released,
 * as nothing stores them.
 */
export function callOwner(
  context: unknown,
  typeid: string,
  method: string,
  ...carried: unknown[]
): CallOwner {
  if (!isCallContext(context)) {
    releaseNow([context, ...carried]);
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${typeid}.${method}() needs the call context a @managers/sync proxy sends first, got ${describeContext(context)}: through a plain proxy (an AutoProxy, what decode() gives in a thread that did not import @managers/sync, or a withCallOptions() wrapper) its arguments would be misread. Wrap the proxy with asSyncProxy(proxy), or import '@managers/sync' in that thread; instead of withCallOptions(), give the method its own options (get({ timeout, signal }), acquire({ signal }))`,
      { typeid, method },
    );
  }
  // An older client's liveness port: not used (liveness is the connection's), closed so that
  // it holds nothing.
  const port = (context as { port?: unknown }).port as
    { close?: () => void; postMessage?: unknown } | undefined;
  if (typeof port?.close === 'function' && typeof port.postMessage === 'function') port.close();
  const call = currentCall();
  const owner = call?.caller ?? SERVER_CALLER;
  checkAlive(owner);
  return { owner, wait: typeof context.wait === 'string' ? context.wait : undefined, call };
}

function isCallContext(value: unknown): value is { [CALL_CONTEXT]: 1; wait?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[CALL_CONTEXT] === 1
  );
}

function describeContext(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (isProxy(value)) return 'a proxy';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The caller of the call being served (the server for calls of server-side proxies). */
export function currentCaller(): Caller {
  return currentCall()?.caller ?? SERVER_CALLER;
}

/** Throws `ERR_OWNER_DEAD` if `owner`'s connection has closed. */
export function checkAlive(owner: Caller): void {
  if (owner.closed) {
    throw syncError(
      SyncErrorCode.OwnerDead,
      `the calling thread (${owner.label}) has ended: its call is ignored`,
    );
  }
}

/** Asks to be told when `owner`'s connection closes. */
export function watchOwner(owner: Caller, watcher: OwnerWatcher): void {
  if (owner === SERVER_CALLER) return;
  let record = callers.get(owner);
  if (record === undefined) {
    if (owner.closed) {
      watcher.ownerDied(owner);
      return;
    }
    const watchers = new Set<OwnerWatcher>();
    record = { watchers, unsubscribe: owner.onClose(() => ownerDied(owner)) };
    callers.set(owner, record);
  }
  record.watchers.add(watcher);
}

/** Stops watching every owner (the watcher was disposed). */
export function unwatchAll(watcher: OwnerWatcher): void {
  for (const [owner, record] of callers) {
    if (!record.watchers.delete(watcher) || record.watchers.size > 0) continue;
    callers.delete(owner);
    record.unsubscribe();
  }
}

function ownerDied(owner: Caller): void {
  const record = callers.get(owner);
  if (record === undefined) return;
  callers.delete(owner);
  for (const watcher of [...record.watchers]) {
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
  readonly owner: Caller;
  readonly wait: string | undefined;
  readonly resolve: (value: T) => void;
  /** Ends the wait without success. */
  readonly end: (why: WaitEnd) => void;
  /** What the caller attached (a blocked put's item). */
  readonly data: unknown;
  timer: Timer | undefined;
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
      if (timeout !== null && timeout !== undefined) {
        waiter.timer = setTimer(() => waiter.end('timeout'), timeout);
        waiter.timer?.unref();
      }
      this.#waiters.push(waiter);
    });
  }

  #finish(waiter: Waiter<T>): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    clearTimer(waiter.timer);
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    return true;
  }

  /** The oldest waiter, if any (still in the list). */
  first(): Waiter<T> | undefined {
    return this.#waiters[0];
  }

  /** Ends the waiter of `owner` whose wait id is `wait` (another caller's waits are out of reach). */
  cancel(owner: Caller, wait: string): boolean {
    const waiter = this.#waiters.find((item) => item.owner === owner && item.wait === wait);
    waiter?.end('aborted');
    return waiter !== undefined;
  }

  /** Ends every waiter of `owner` (its connection closed). */
  removeOwner(owner: Caller): void {
    for (const waiter of this.#waiters.filter((item) => item.owner === owner)) waiter.end('dead');
  }

  /** Stops the timeouts of every current waiter (they still end if dead, aborted or disposed). */
  disarm(): void {
    for (const waiter of this.#waiters) {
      clearTimer(waiter.timer);
      waiter.timer = undefined;
    }
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

/**
 * Hands out `value`, taken from a container by the call being served (`pop`, queue `get`). It
 * counts as delivered only when the caller confirms it has the reply: until then the
 * server-side proxies inside it stay alive, and if the reply does not reach the caller (its
 * thread died with the reply in flight, it gave up on the call, or the value could not be
 * sent) `giveBack` puts it back. Calls of server-side proxies (no `call`) release at once.
 */
export function handOut(call: CallContext | undefined, value: unknown, giveBack: () => void): void {
  if (call === undefined) return releaseLater(value);
  call.onUndelivered(giveBack);
  let proxies = false;
  forEachProxy(value, () => (proxies = true));
  if (proxies) call.onDelivered(() => releaseNow(value));
}

/**
 * What a container holds, for its releases: the values it stores (`stored`, read only when a
 * release has proxies to decide on) and the values it handed out (`pop`, `popitem`) whose
 * delivery is not confirmed yet. One proxy sent twice in one call (`extend([p, p])`,
 * `update([[a, p], [b, p]])`, `l *= 2`) is one server-side proxy stored in two slots: a value
 * removed or popped may share it with a slot still stored, or with another copy in flight. So
 * a proxy is released only when neither holds it, and a value given back comes back alive.
 */
export class Holdings {
  readonly #entries = new Set<{ readonly value: unknown }>();
  readonly #stored: () => readonly unknown[];
  /** The values held: stored, and in flight (nested: a walk finds the proxies in both). */
  readonly #held = (): unknown[] => [this.#stored(), ...[...this.#entries].map((e) => e.value)];

  constructor(stored: () => readonly unknown[]) {
    this.#stored = stored;
  }

  /** Releases the proxies in `removed` (taken out of the container) that it no longer holds. */
  release(removed: readonly unknown[]): void {
    releaseDropped(removed, this.#held);
  }

  /**
   * {@link handOut} for a container. Delivered, the value's proxies are released unless
   * stored or in flight again; not delivered, `giveBack` puts it back, its proxies alive.
   */
  handOut(call: CallContext | undefined, value: unknown, giveBack: () => void): void {
    let proxies = false;
    forEachProxy(value, () => (proxies = true));
    if (!proxies) return handOut(call, value, giveBack);
    const entry = { value };
    this.#entries.add(entry);
    const release = () => {
      this.#entries.delete(entry);
      this.release([value]);
    };
    // A call of a server-side proxy: released once the reply has been encoded.
    if (call === undefined) return void setImmediate(release);
    call.onUndelivered(() => {
      this.#entries.delete(entry);
      giveBack();
    });
    call.onDelivered(release);
  }
}

/** Releases the server-side proxies inside `value` now (the value was dropped). */
export function releaseNow(value: unknown): void {
  forEachProxy(value, (proxy) => proxy[Symbol.dispose]());
}

/**
 * Releases the server-side proxies inside `removed` that are not also inside `remaining()` (what
 * the container still holds, read only if `removed` has proxies: a store of plain values costs
 * no walk of the container). One proxy sent twice in one call (`extend([p, p])`) arrives as one
 * server-side proxy stored twice: removing one copy must not release the other.
 */
export function releaseDropped(
  removed: readonly unknown[],
  remaining: () => readonly unknown[],
): void {
  const proxies = new Set<BaseProxy>();
  forEachProxy(removed, (proxy) => proxies.add(proxy));
  if (proxies.size === 0) return;
  forEachProxy(remaining(), (proxy) => proxies.delete(proxy));
  for (const proxy of proxies) proxy[Symbol.dispose]();
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
