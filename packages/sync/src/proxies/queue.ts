import { isManagerError } from '@managers/core';
import { SyncErrorCode } from '../errors';
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
  /** Puts `item`; waits while the queue is full (`ERR_QUEUE_FULL` after `timeout` ms). */
  put(item: T, options: QueueWaitOptions = {}): Promise<void> {
    return this.waitCall(
      'put',
      options.signal,
      item,
      options.block !== false,
      options.timeout ?? null,
    );
  }
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }
  /** Takes the oldest item; waits while empty (`ERR_QUEUE_EMPTY` after `timeout` ms). */
  get(options: QueueWaitOptions = {}): Promise<T> {
    return this.waitCall('get', options.signal, options.block !== false, options.timeout ?? null);
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
  /** Waits until every item put was marked done; resolves false after `timeout` ms. */
  join(options: WaitOptions = {}): Promise<boolean> {
    return this.waitCall('join', options.signal, options.timeout ?? null);
  }
  unfinishedTasks(): Promise<number> {
    return this.call('unfinishedTasks');
  }
  /** Python 3.13's `shutdown(immediate)`: puts fail; gets fail once empty (at once if immediate). */
  shutdown(options: { immediate?: boolean } = {}): Promise<void> {
    return this.call('shutdown', options.immediate === true);
  }
  isShutdown(): Promise<boolean> {
    return this.call('isShutdown');
  }
  /** Takes items as they come until the queue is shut down (or `signal` aborts). */
  async *iterate(options: { signal?: AbortSignal } = {}): AsyncGenerator<T> {
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
