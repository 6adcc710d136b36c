/**
 * Python's `queue.Queue` (also JoinableQueue), hosted. `get`/`put`/`join` that must wait
 * return Promises (the server keeps serving); items may be proxies (kept as server-side
 * proxies, handed to the getter as its own counted proxy).
 *
 * Nothing is lost: an item a `get` took counts as delivered only when the getter's connection
 * confirms it has the reply; otherwise it goes back where it was (see `#giveBack`).
 */
import type { Caller } from '@managers/core';
import { refuseValueCopy, SyncErrorCode, syncError } from '../errors';
import { checkFlag, flagOrOptions } from '../options';
import { QUEUE_SHUTDOWN } from '../proxies/option-specs';
import {
  currentCaller,
  callOwner,
  checkTimeout,
  handOut,
  releaseNow,
  unwatchAll,
  waitError,
  WaitList,
  watchOwner,
  type CallOwner,
  type OwnerWatcher,
  type Waiter,
} from './owners';

/** An item taken by a `get`, with its put order. */
interface Taken {
  readonly item: unknown;
  readonly order: number;
}

export class Queue implements OwnerWatcher {
  /** The queued items (enumerable: the server releases proxies in it on disposal). */
  readonly items: unknown[] = [];
  /** The put order of each item in `items` (ascending): where a returned item goes back. */
  readonly #order: number[] = [];
  #nextOrder = 0;
  #disposed = false;
  readonly #maxsize: number;
  #unfinished = 0;
  #shutdown = false;
  readonly #getters = new WaitList<Taken>();
  readonly #putters = new WaitList<void>();
  readonly #joiners = new WaitList<boolean>();

  constructor(
    maxsize: number = 0,
    /** `Queue` or `JoinableQueue` (for errors). */
    readonly typeid: string = 'Queue',
  ) {
    if (!Number.isInteger(maxsize)) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `maxsize must be an integer, got ${String(maxsize)}`,
      );
    }
    this.#maxsize = maxsize;
  }

  #full(): boolean {
    return this.#maxsize > 0 && this.items.length >= this.#maxsize;
  }

  #checkOpen(what: string): void {
    if (this.#shutdown)
      throw syncError(SyncErrorCode.QueueShutDown, `${what}: the queue is shut down`);
  }

  put(
    context: unknown,
    item: unknown,
    block?: boolean,
    timeout?: number | null,
  ): void | Promise<void> {
    const who = callOwner(context, this.typeid, 'put', item, block, timeout);
    return this.#put(who, item, block, timeout);
  }

  putNowait(context: unknown, item: unknown): void | Promise<void> {
    return this.#put(callOwner(context, this.typeid, 'putNowait', item), item, false);
  }

  #put(
    who: CallOwner,
    item: unknown,
    block?: boolean,
    timeout?: number | null,
  ): void | Promise<void> {
    let ms: number | null;
    try {
      ms = checkTimeout(timeout, 'Queue.put()');
      block = checkFlag(block, true, `${this.typeid}.put`, 'block');
      this.#checkOpen('Queue.put()');
    } catch (error) {
      releaseNow(item);
      throw error;
    }
    if (!this.#full() && this.#putters.length === 0) {
      this.#enqueue(item);
      return;
    }
    if (block === false) {
      releaseNow(item);
      throw syncError(SyncErrorCode.QueueFull, `the queue is full (maxsize ${this.#maxsize})`);
    }
    watchOwner(who.owner, this);
    return this.#putters.add(
      who,
      ms,
      (why, reject) => {
        releaseNow(item);
        if (why === 'timeout')
          reject(
            syncError(SyncErrorCode.QueueFull, `the queue is full (maxsize ${this.#maxsize})`),
          );
        else if (why === 'disposed' && this.#shutdown)
          reject(syncError(SyncErrorCode.QueueShutDown, 'Queue.put(): the queue is shut down'));
        else reject(waitError(why, 'Queue.put()'));
      },
      item,
    );
  }

  #enqueue(item: unknown): void {
    this.#unfinished++;
    this.#offer(item, this.#nextOrder++);
  }

  /** Gives `item` to the oldest live getter, or queues it in its place by put order. */
  #offer(item: unknown, order: number): void {
    const getter = this.#liveGetter();
    if (getter !== undefined) return getter.resolve({ item, order });
    const length = this.#order.length;
    if (length === 0 || this.#order[length - 1]! < order) {
      // A new item (the usual case): at the tail.
      this.items.push(item);
      this.#order.push(order);
      return;
    }
    // A returned item is older than most: search from the head.
    let index = 0;
    while (index < this.#order.length && this.#order[index]! < order) index++;
    this.items.splice(index, 0, item);
    this.#order.splice(index, 0, order);
  }

  /**
   * The oldest getter whose connection is open. A getter whose connection closed is removed
   * when its close hook runs; one may still be here while the close is being processed (an
   * item given back by the same connection): it must not take the item.
   */
  #liveGetter(): Waiter<Taken> | undefined {
    for (;;) {
      const getter = this.#getters.first();
      if (getter === undefined || !getter.owner.closed) return getter;
      getter.end('dead');
    }
  }

  /**
   * A taken item whose reply did not reach its caller comes back: at the head, in put order
   * among other returned items (so consumers dying in any order restore the original order).
   * It stays counted in `unfinishedTasks` (only `taskDone` counts an item done).
   */
  #giveBack(item: unknown, order: number): void {
    if (this.#disposed) return releaseNow(item);
    this.#offer(item, order);
  }

  /** Moves blocked puts into the queue while there is room. */
  #admit(): void {
    while (!this.#full() && this.#putters.length > 0) {
      const putter = this.#putters.first()!;
      putter.resolve();
      this.#enqueue(putter.data);
    }
  }

  #take(): Taken | undefined {
    if (this.items.length === 0) return undefined;
    return { item: this.items.shift(), order: this.#order.shift()! };
  }

  get(context: unknown, block?: boolean, timeout?: number | null): Promise<unknown> {
    return this.#get(callOwner(context, this.typeid, 'get', block, timeout), block, timeout);
  }

  getNowait(context: unknown): Promise<unknown> {
    return this.#get(callOwner(context, this.typeid, 'getNowait'), false);
  }

  async #get(who: CallOwner, block?: boolean, timeout?: number | null): Promise<unknown> {
    const ms = checkTimeout(timeout, 'Queue.get()');
    block = checkFlag(block, true, `${this.typeid}.get`, 'block');
    let taken = this.#take();
    this.#admit();
    taken ??= this.#take();
    if (taken === undefined) {
      if (this.#shutdown)
        throw syncError(SyncErrorCode.QueueShutDown, 'Queue.get(): the queue is shut down');
      if (block === false) throw syncError(SyncErrorCode.QueueEmpty, 'the queue is empty');
      watchOwner(who.owner, this);
      taken = await this.#getters.add(who, ms, (why, reject) => {
        if (why === 'timeout')
          reject(syncError(SyncErrorCode.QueueEmpty, `the queue is still empty after ${ms} ms`));
        else if (why === 'disposed' && this.#shutdown)
          reject(syncError(SyncErrorCode.QueueShutDown, 'Queue.get(): the queue is shut down'));
        else reject(waitError(why, 'Queue.get()'));
      });
    }
    const { item, order } = taken;
    handOut(who.call, item, () => this.#giveBack(item, order));
    return item;
  }

  taskDone(): void {
    if (this.#unfinished <= 0)
      throw syncError(SyncErrorCode.TaskDone, 'task_done() called too many times');
    if (--this.#unfinished === 0) for (const joiner of this.#joiners.list()) joiner.resolve(true);
  }

  /** Waits until every item put was marked done; false after `timeout` ms. */
  join(context: unknown, timeout?: number | null): boolean | Promise<boolean> {
    const who = callOwner(context, this.typeid, 'join', timeout);
    const ms = checkTimeout(timeout, 'Queue.join()');
    if (this.#unfinished === 0) return true;
    watchOwner(who.owner, this);
    return this.#joiners.add(who, ms, (why, reject, resolve) => {
      if (why === 'timeout') resolve(false);
      else reject(waitError(why, 'Queue.join()'));
    });
  }

  /** Python 3.13's `shutdown(immediate)`: puts fail; gets fail once the queue is empty (at once if immediate). */
  shutdown(given?: unknown): void {
    // A boolean from the proxies (Python's positional `immediate`); a plain proxy's options
    // object as it stands.
    const immediate = flagOrOptions(
      given,
      false,
      `${this.typeid}.shutdown`,
      'immediate',
      QUEUE_SHUTDOWN,
    );
    this.#shutdown = true;
    if (immediate) {
      const dropped = this.items.splice(0);
      this.#order.splice(0);
      this.#unfinished = Math.max(0, this.#unfinished - dropped.length);
      releaseNow(dropped);
      if (this.#unfinished === 0) for (const joiner of this.#joiners.list()) joiner.resolve(true);
    }
    this.#putters.endAll('disposed');
    if (this.items.length === 0) this.#getters.endAll('disposed');
  }

  isShutdown(): boolean {
    return this.#shutdown;
  }

  qsize(): number {
    return this.items.length;
  }

  empty(): boolean {
    return this.items.length === 0;
  }

  full(): boolean {
    return this.#full();
  }

  maxsize(): number {
    return this.#maxsize;
  }

  /** Python's `unfinished_tasks` (not reachable through Python's proxy). */
  unfinishedTasks(): number {
    return this.#unfinished;
  }

  /** Cancels the caller's own wait `wait` (another caller's waits are out of reach). */
  cancel(wait: string): boolean {
    const owner = currentCaller();
    return (
      this.#getters.cancel(owner, wait) ||
      this.#putters.cancel(owner, wait) ||
      this.#joiners.cancel(owner, wait)
    );
  }

  ownerDied(owner: Caller): void {
    this.#getters.removeOwner(owner);
    this.#putters.removeOwner(owner);
    this.#joiners.removeOwner(owner);
  }

  toString(): string {
    return `<Queue qsize=${this.items.length} maxsize=${this.#maxsize}>`;
  }

  [Symbol.dispose](): void {
    this.#disposed = true;
    this.#getters.endAll('disposed');
    this.#putters.endAll('disposed');
    this.#joiners.endAll('disposed');
    unwatchAll(this);
  }
}

// What getValue() of a queue gives.
refuseValueCopy(Queue);
