/**
 * The proxy of a pool hosted by a manager (`manager.Pool()`, see `hosted-pool.ts`): `run(task)`
 * from any thread, with the task's proxies handed off in the caller's own thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { BaseProxy, decode, discard, encode, fromErrorEnvelope } from '@managers/core';
import { forEachProxy, proxyOfClass } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import type { PoolStats, RelayChannel, RelayOutcome, RelayTask } from './hosted-pool';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** This proxy's relay port to the hosted pool, and the tasks waiting on it. */
interface Relay {
  readonly port: MessagePort;
  /** The pool initializer's arguments (this thread's own proxies), sent with every task. */
  readonly initializerArgs: readonly unknown[] | undefined;
  readonly pending: Map<number, Pending>;
  nextId: number;
}

/** Options of {@link PoolProxy.run}. */
export interface PoolRunOptions {
  /** The export of the task file to run (default: the pool's `name`, else `'default'`). */
  readonly name?: string;
}

/**
 * Proxy of a pool hosted by a manager (Python's `manager.Pool()` proxy): `run(task)` runs a
 * `defineTask()` task of the pool's task file on one of the pool's threads, from whatever
 * thread holds the proxy. Tasks and results may carry proxies, as with a `ManagedPool`. The
 * pool goes (its threads end) when its last proxy is released, in any thread.
 */
export class PoolProxy extends BaseProxy {
  #relay: Promise<Relay> | undefined;
  #closeWhenIdle = false;

  /**
   * Runs one task (Python's `apply`): `task` is encoded here (its proxies and manager handles
   * handed off from this thread), relayed by the server to a pool thread, and the result
   * decoded here. A task error arrives with its `name`, `message`, `code` and cause chain.
   */
  async run<R = unknown>(task: unknown, options: PoolRunOptions = {}): Promise<R> {
    if (this.released) {
      throw createManagerError(
        ErrorCode.ProxyReleased,
        `${String(this)}.run(): the proxy was released`,
      );
    }
    const relay = await (this.#relay ??= this.#open());
    const encoded = encode(task);
    // Apart from the task: a pool thread decodes the two at different times (the initializer's
    // before the task's), and one handoff is claimed by one decode.
    let init: ReturnType<typeof encode> | undefined;
    try {
      if (relay.initializerArgs !== undefined) init = encode(relay.initializerArgs);
    } catch (error) {
      discard(encoded);
      throw error;
    }
    const id = relay.nextId++;
    return new Promise<R>((resolve, reject) => {
      relay.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (relay.pending.size === 1) relay.port.ref();
      const message: RelayTask = {
        id,
        task: encoded.value,
        ...(init === undefined ? {} : { init: init.value }),
        ...(options.name === undefined ? {} : { name: options.name }),
      };
      try {
        relay.port.postMessage(message, [...encoded.transferList, ...(init?.transferList ?? [])]);
      } catch (error) {
        discard(encoded);
        if (init !== undefined) discard(init);
        this.#settle(relay, id);
        reject(error);
      }
    });
  }

  /** Python's `map`: runs one task per item, resolves with the results in order. */
  map<R = unknown>(tasks: Iterable<unknown>, options: PoolRunOptions = {}): Promise<R[]> {
    return Promise.all([...tasks].map((task) => this.run<R>(task, options)));
  }

  /** Python's `close()` + `join()`: the pool takes no more tasks; resolves when running ones end. */
  close(): Promise<void> {
    return this.callMethod('close') as Promise<void>;
  }

  /** The pool's thread count, queue size and completed tasks. */
  stats(): Promise<PoolStats> {
    return this.callMethod('stats') as Promise<PoolStats>;
  }

  async #open(): Promise<Relay> {
    const { port, initializerArgs } = (await this.callMethod('channel')) as RelayChannel;
    const relay: Relay = { port, initializerArgs, pending: new Map(), nextId: 1 };
    port.on('message', (outcome: RelayOutcome) => {
      const pending = relay.pending.get(outcome.id);
      if (pending === undefined) return;
      this.#settle(relay, outcome.id);
      if (outcome.ok) {
        try {
          pending.resolve(decode(outcome.value));
        } catch (error) {
          pending.reject(error);
        }
      } else pending.reject(fromErrorEnvelope(outcome.error as never));
    });
    port.on('close', () => {
      const closed = createManagerError(
        ErrorCode.ManagerClosed,
        `${String(this)}: the pool was disposed or its manager closed`,
      );
      for (const pending of relay.pending.values()) pending.reject(closed);
      relay.pending.clear();
    });
    port.unref();
    return relay;
  }

  #settle(relay: Relay, id: number): void {
    relay.pending.delete(id);
    if (relay.pending.size > 0) return;
    relay.port.unref();
    if (this.#closeWhenIdle) relay.port.close();
  }

  /** Releases the proxy; its relay port closes once the tasks it sent have settled. */
  override [Symbol.dispose](): void {
    super[Symbol.dispose]();
    this.#closeWhenIdle = true;
    void this.#relay?.then(
      (relay) => {
        if (relay.pending.size === 0) relay.port.close();
        forEachProxy(relay.initializerArgs, (proxy) => proxy[Symbol.dispose]());
      },
      () => undefined,
    );
  }
}

/**
 * The {@link PoolProxy} for a pool proxy received in another thread with `decode()` (a plain
 * AutoProxy there: its connection does not know the proxy types). It takes the proxy's
 * reference over: release one or the other, not both.
 */
export function asPoolProxy(proxy: object): PoolProxy {
  return proxyOfClass(proxy, PoolProxy);
}
