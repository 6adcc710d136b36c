import { inspect } from 'node:util';
/**
 * A `ManagedPool` hosted by a manager (Python's `manager.Pool()`): the server worker owns the
 * pool and its threads; any thread holding a proxy to it runs tasks on it.
 *
 * Tasks do not go through the manager's protocol. The proxy opens a relay port to the hosted
 * pool once (`channel()`), encodes each task in its own thread (its proxies handed off there,
 * R3, with ports that travel with the task) and posts it on that port; the server thread
 * passes the encoded task and the encoded result through untouched, ports included. So the
 * server thread never holds a reference for a task, and the pool threads connect to the
 * managers of a task's proxies directly, as with a `ManagedPool` of the caller's own.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import { toErrorEnvelope } from '@managers/core';
import { encodeValue, forEachProxy } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { ManagedPool, relaySymbol, type ManagedPoolOptions } from './pool';
import { POOL_INIT_KEY, resultValue, TASK_ERROR_KEY } from './values';

/** The options of `manager.Pool(options)`: a subset of ManagedPool's, all cloneable. */
export interface HostedPoolOptions {
  /** The task file: an absolute path or a `file:` URL string (a `defineTask()` default export, or `run(task, { name })`). */
  readonly filename: string;
  /** The export `run()` uses when it names none (default `'default'`). */
  readonly name?: string;
  readonly minThreads?: number;
  readonly maxThreads?: number;
  readonly idleTimeout?: number;
  readonly maxQueue?: number | 'auto';
  readonly concurrentTasksPerWorker?: number;
  readonly resourceLimits?: ManagedPoolOptions['resourceLimits'];
  /**
   * Python's `Pool(initializer=…)`: the name of a function the task file exports, run once in
   * each pool thread before its first task (Python runs it when the worker starts).
   */
  readonly initializer?: string;
  /**
   * Arguments for `initializer` (Python's `initargs`); proxies inside are given to each pool
   * thread as the thread's own (the initializer may keep them).
   */
  readonly initializerArgs?: readonly unknown[];
}

const OPTIONS = new Set([
  'filename',
  'name',
  'minThreads',
  'maxThreads',
  'idleTimeout',
  'maxQueue',
  'concurrentTasksPerWorker',
  'resourceLimits',
  'initializer',
  'initializerArgs',
]);

/** A task as it travels on a relay port (encoded by the sender). */
export interface RelayTask {
  readonly id: number;
  readonly task: unknown;
  /** The initializer's arguments, encoded by the sender (present when the pool has an initializer). */
  readonly init?: unknown;
  readonly name?: string;
}

/** What `channel()` gives a proxy: its relay port, and the initializer's arguments if any. */
export interface RelayChannel {
  readonly port: MessagePort;
  readonly initializerArgs?: readonly unknown[];
}

/** A task's outcome as it travels back (the value encoded by the task thread). */
export type RelayOutcome =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: unknown };

/** Pool statistics (Piscina's), read in one call. */
export interface PoolStats {
  readonly threads: number;
  readonly queueSize: number;
  readonly completed: number;
  readonly closed: boolean;
}

function checkOptions(options: unknown): HostedPoolOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      'Pool(options): options must be an object with at least options.filename',
      { details: { option: 'options' } },
    );
  }
  const unknown = Object.keys(options).filter((key) => !OPTIONS.has(key));
  if (unknown.length > 0) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `Pool(options): unknown option ${unknown.map((key) => `options.${key}`).join(', ')} (a hosted pool takes ${[...OPTIONS].join(', ')})`,
      { details: { option: unknown[0] } },
    );
  }
  const { filename, name, initializer, initializerArgs } = options as HostedPoolOptions;
  if (initializer !== undefined && (typeof initializer !== 'string' || initializer.length === 0)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      'options.initializer must be the name of a function the task file exports',
      { details: { option: 'initializer' } },
    );
  }
  if (initializerArgs !== undefined && !Array.isArray(initializerArgs)) {
    throw createManagerError(ErrorCode.InvalidOption, 'options.initializerArgs must be an array', {
      details: { option: 'initializerArgs' },
    });
  }
  if (typeof filename !== 'string' || filename.length === 0) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `Pool(options): options.filename must be the task file's path (absolute, or relative to the current directory) or a file: URL string, got ${inspect(filename, { depth: 0 })} (a URL object cannot be sent to the server: pass url.href)`,
      { details: { option: 'filename' } },
    );
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw createManagerError(ErrorCode.InvalidOption, 'options.name must be a non-empty string', {
      details: { option: 'name' },
    });
  }
  return options as HostedPoolOptions;
}

/** The ports inside an encoded value (the handoff ports its proxies travel with). */
function transferablesIn(value: unknown): { value: unknown; transferList: TransferListItem[] } {
  const transferList: TransferListItem[] = [];
  const walked = encodeValue(
    value,
    () => {
      // An encoded value holds envelopes, never live proxies.
      throw createManagerError(ErrorCode.BadMessage, 'a relayed task holds a live proxy');
    },
    transferList,
  );
  return { value: walked, transferList };
}

/** The hosted object behind `manager.Pool()`. */
export class HostedPool {
  readonly #pool: ManagedPool;
  readonly #filename: string;
  readonly #ports = new Set<MessagePort>();
  readonly #initializer: string | undefined;
  /** Held here (server-side proxies inside); each proxy gets its own copy with `channel()`. */
  readonly #initializerArgs: readonly unknown[];
  #closed = false;

  constructor(options: unknown) {
    const { initializer, initializerArgs, ...settings } = checkOptions(options);
    this.#filename = settings.filename;
    this.#initializer = initializer;
    this.#initializerArgs = initializerArgs ?? [];
    try {
      this.#pool = new ManagedPool({ ...settings });
    } catch (error) {
      // Piscina's own checks (`options.maxThreads must be …`) throw a TypeError or RangeError.
      const message = error instanceof Error ? error.message : String(error);
      const option = /options\.(\w+)/.exec(message)?.[1];
      throw createManagerError(ErrorCode.InvalidOption, `Pool(options): ${message}`, {
        cause: error,
        ...(option === undefined ? {} : { details: { option } }),
      });
    }
  }

  /**
   * A new relay port for the calling proxy (its tasks and their outcomes travel on it), and
   * the initializer's arguments: proxies inside reach the caller as its own, and the caller
   * hands them off with each task (the server thread cannot hand off proxies itself).
   */
  channel(): RelayChannel {
    const { port1, port2 } = new MessageChannel();
    this.#ports.add(port1);
    port1.on('message', (message: RelayTask) => this.#run(port1, message));
    port1.on('close', () => this.#ports.delete(port1));
    // The pool's own threads keep the server busy while tasks run; an idle relay port does not.
    port1.unref();
    return this.#initializer === undefined
      ? { port: port2 }
      : { port: port2, initializerArgs: this.#initializerArgs };
  }

  #run(port: MessagePort, message: RelayTask): void {
    const reply = (outcome: RelayOutcome, transferList: TransferListItem[] = []) => {
      try {
        port.postMessage(outcome, transferList);
      } catch (error) {
        port.postMessage({ id: outcome.id, ok: false, error: toErrorEnvelope(error) });
      }
    };
    if (this.#closed) {
      const closed = createManagerError(ErrorCode.ManagerClosed, 'the pool is closed');
      // The task's handoff ports are closed: the server drops the references taken for it.
      for (const item of transferablesIn([message.task, message.init]).transferList)
        if (typeof (item as MessagePort).close === 'function') (item as MessagePort).close();
      return reply({ id: message.id, ok: false, error: toErrorEnvelope(closed) });
    }
    let task: ReturnType<typeof transferablesIn>;
    try {
      task = transferablesIn(
        this.#initializer === undefined || message.init === undefined
          ? message.task
          : {
              [POOL_INIT_KEY]: { name: this.#initializer, args: message.init },
              task: message.task,
            },
      );
    } catch (error) {
      return reply({ id: message.id, ok: false, error: toErrorEnvelope(error) });
    }
    this.#pool
      [relaySymbol](task.value, {
        transferList: task.transferList as never,
        ...(message.name === undefined ? {} : { name: message.name }),
      })
      .then(
        (result) => {
          // The task's report, when there is one, is for the pool's own bookkeeping.
          const value = resultValue(result);
          const outcome = transferablesIn(value);
          reply({ id: message.id, ok: true, value: outcome.value }, outcome.transferList);
        },
        (error: unknown) => {
          const envelope =
            typeof error === 'object' && error !== null
              ? (error as Record<string, unknown>)[TASK_ERROR_KEY]
              : undefined;
          reply({ id: message.id, ok: false, error: envelope ?? toErrorEnvelope(error) });
        },
      );
  }

  /** Python's `pool.close()` then `join()`: takes no more tasks; resolves when the running ones end. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
  }

  stats(): PoolStats {
    return {
      threads: this.#pool.threads.length,
      queueSize: this.#pool.queueSize,
      completed: this.#pool.completed,
      closed: this.#closed,
    };
  }

  toString(): string {
    return `Pool(${this.#filename}, threads=${this.#pool.threads.length})`;
  }

  /** The last proxy is gone: the pool's threads end (their connections, and references, with them). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    for (const port of this.#ports) port.close();
    this.#ports.clear();
    forEachProxy(this.#initializerArgs, (proxy) => proxy[Symbol.dispose]());
    await this.#pool.destroy();
  }
}
