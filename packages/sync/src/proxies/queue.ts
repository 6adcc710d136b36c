import { isManagerError } from '@managers/core';
import { SyncErrorCode } from '../errors';
import { checkOptions } from '../options';
import { QUEUE_GET, QUEUE_ITERATE, QUEUE_JOIN, QUEUE_PUT, QUEUE_SHUTDOWN } from './option-specs';
import { SyncProxy, type WaitOptions } from './sync-proxy';

/** Options of `put` and `get`. */
export interface QueueWaitOptions extends WaitOptions {
  /** false: never wait (Python's `block=False`): `ERR_QUEUE_FULL` / `ERR_QUEUE_EMPTY` at once. */
  readonly block?: boolean;
}

/**
 * Proxy of a Queue / JoinableQueue. `get` and `put` wait in the server without blocking it;
 * `for await (const item of queue)` takes items until the queue is shut down (or the loop ends).
 */
export class QueueProxy<T = unknown> extends SyncProxy {
  /**
   * Puts `item`; waits while the queue is full (`ERR_QUEUE_FULL` after `timeout` ms). Options
   * only: Python's `put(item, False)` is `put(item, { block: false })`.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    return this.withOptions<QueueWaitOptions, void>('put(item, options)', options, QUEUE_PUT, (o) =>
      this.waitCall('put', o.signal, item, o.block !== false, o.timeout ?? null),
    );
  }
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }
  /**
   * Takes the oldest item; waits while empty (`ERR_QUEUE_EMPTY` after `timeout` ms). Options
   * only: Python's `get(False)` is `get({ block: false })`.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    return this.withOptions<QueueWaitOptions, T>('get(options)', options, QUEUE_GET, (o) =>
      this.waitCall('get', o.signal, o.block !== false, o.timeout ?? null),
    );
  }
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }
  qsize(): Promise<number> {
    return this.call('qsize');
  }
  empty(): Promise<boolean> {
    return this.call('empty');
  }
  full(): Promise<boolean> {
    return this.call('full');
  }
  maxsize(): Promise<number> {
    return this.call('maxsize');
  }
  /** Marks one item taken with `get` as processed (`ERR_TASK_DONE` if called too often). */
  taskDone(): Promise<void> {
    return this.call('taskDone');
  }
  /** Waits until every item put was marked done: true, or false after `timeout` ms. */
  join(options?: WaitOptions): Promise<boolean> {
    return this.withOptions<WaitOptions, boolean>('join(options)', options, QUEUE_JOIN, (o) =>
      this.waitCall('join', o.signal, o.timeout ?? null),
    );
  }
  unfinishedTasks(): Promise<number> {
    return this.call('unfinishedTasks');
  }
  /** Python 3.13's `shutdown(immediate)`: puts fail; gets fail once empty (at once if immediate). */
  shutdown(options?: { immediate?: boolean }): Promise<void> {
    return this.withOptions<{ immediate?: boolean }, void>(
      'shutdown(options)',
      options,
      QUEUE_SHUTDOWN,
      (o) => this.call('shutdown', o.immediate === true),
    );
  }
  isShutdown(): Promise<boolean> {
    return this.call('isShutdown');
  }
  /** Takes items as they come until the queue is shut down (or `signal` aborts). */
  async *iterate(given?: { signal?: AbortSignal }): AsyncGenerator<T> {
    const options = checkOptions<{ signal?: AbortSignal }>(
      `${this.token.typeid}.iterate(options)`,
      given,
      QUEUE_ITERATE,
    );
    for (;;) {
      try {
        yield await this.get({ signal: options.signal });
      } catch (error) {
        if (
          isManagerError(error) &&
          (error.code === SyncErrorCode.QueueShutDown || error.code === SyncErrorCode.Aborted)
        )
          return;
        throw error;
      }
    }
  }
  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.iterate();
  }
}
