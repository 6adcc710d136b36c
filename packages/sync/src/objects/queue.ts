/**
 * Python's `queue.Queue` (also JoinableQueue), hosted. `get`/`put`/`join` that must wait
 * return Promises (the server keeps serving); items may be proxies (kept as server-side
 * proxies, handed to the getter as its own counted proxy).
 */
import { SyncErrorCode, syncError } from '../errors';
import {
  callOwner,
  checkTimeout,
  releaseLater,
  releaseNow,
  unwatchAll,
  waitError,
  WaitList,
  watchOwner,
  type OwnerWatcher,
} from './owners';

const NOTHING: unique symbol = Symbol('nothing');

export class Queue implements OwnerWatcher {
  /** The queued items (enumerable: the server releases proxies in it on disposal). */
  readonly items: unknown[] = [];
  readonly #maxsize: number;
  #unfinished = 0;
  #shutdown = false;
  readonly #getters = new WaitList<unknown>();
  readonly #putters = new WaitList<void>();
  readonly #joiners = new WaitList<boolean>();

  constructor(maxsize: number = 0) {
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
    const who = callOwner(context);
    const ms = checkTimeout(timeout, 'Queue.put()');
    try {
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

  putNowait(context: unknown, item: unknown): void | Promise<void> {
    return this.put(context, item, false);
  }

  #enqueue(item: unknown): void {
    this.#unfinished++;
    const getter = this.#getters.first();
    if (getter !== undefined) getter.resolve(item);
    else this.items.push(item);
  }

  /** Moves blocked puts into the queue while there is room. */
  #admit(): void {
    while (!this.#full() && this.#putters.length > 0) {
      const putter = this.#putters.first()!;
      putter.resolve();
      this.#enqueue(putter.data);
    }
  }

  async get(context: unknown, block?: boolean, timeout?: number | null): Promise<unknown> {
    const who = callOwner(context);
    const ms = checkTimeout(timeout, 'Queue.get()');
    let item: unknown = NOTHING;
    if (this.items.length > 0) {
      item = this.items.shift();
      this.#admit();
    } else {
      this.#admit();
      if (this.items.length > 0) item = this.items.shift();
    }
    if (item === NOTHING) {
      if (this.#shutdown)
        throw syncError(SyncErrorCode.QueueShutDown, 'Queue.get(): the queue is shut down');
      if (block === false) throw syncError(SyncErrorCode.QueueEmpty, 'the queue is empty');
      watchOwner(who.owner, this);
      item = await this.#getters.add(who, ms, (why, reject) => {
        if (why === 'timeout')
          reject(syncError(SyncErrorCode.QueueEmpty, `the queue is still empty after ${ms} ms`));
        else if (why === 'disposed' && this.#shutdown)
          reject(syncError(SyncErrorCode.QueueShutDown, 'Queue.get(): the queue is shut down'));
        else reject(waitError(why, 'Queue.get()'));
      });
    }
    releaseLater(item);
    return item;
  }

  getNowait(context: unknown): Promise<unknown> {
    return this.get(context, false);
  }

  taskDone(): void {
    if (this.#unfinished <= 0)
      throw syncError(SyncErrorCode.TaskDone, 'task_done() called too many times');
    if (--this.#unfinished === 0) for (const joiner of this.#joiners.list()) joiner.resolve(true);
  }

  /** Waits until every item put was marked done; false after `timeout` ms. */
  join(context: unknown, timeout?: number | null): boolean | Promise<boolean> {
    const who = callOwner(context);
    const ms = checkTimeout(timeout, 'Queue.join()');
    if (this.#unfinished === 0) return true;
    watchOwner(who.owner, this);
    return this.#joiners.add(who, ms, (why, reject, resolve) => {
      if (why === 'timeout') resolve(false);
      else reject(waitError(why, 'Queue.join()'));
    });
  }

  /** Python 3.13's `shutdown(immediate)`: puts fail; gets fail once the queue is empty (at once if immediate). */
  shutdown(immediate: boolean = false): void {
    this.#shutdown = true;
    if (immediate) {
      const dropped = this.items.splice(0);
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

  cancel(wait: string): boolean {
    return this.#getters.cancel(wait) || this.#putters.cancel(wait) || this.#joiners.cancel(wait);
  }

  ownerDied(owner: string): void {
    this.#getters.removeOwner(owner);
    this.#putters.removeOwner(owner);
    this.#joiners.removeOwner(owner);
  }

  toString(): string {
    return `<Queue qsize=${this.items.length} maxsize=${this.#maxsize}>`;
  }

  [Symbol.dispose](): void {
    this.#getters.endAll('disposed');
    this.#putters.endAll('disposed');
    this.#joiners.endAll('disposed');
    unwatchAll(this);
  }
}
