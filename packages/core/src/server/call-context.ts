import { createManagerError, ErrorCode } from '@managers/refcount';
import type { ServerConnection } from './connection';

/**
 * The thread (connection) a hosted method is serving, as the server knows it: an identity
 * no client can choose or forge.
 */
export interface Caller {
  /** Opaque and unique for the server's life (never a client-chosen string). */
  readonly id: string;
  /** The label the thread gave itself (`main`, `thread-4`): for display only. */
  readonly label: string;
  /** True once the caller's connection closed (its thread ended, crashed or was terminated). */
  readonly closed: boolean;
  /**
   * Calls `listener` once when the caller's connection closes (at once if it is closed);
   * returns a function that removes it.
   */
  onClose(listener: () => void): () => void;
}

/** What a hosted method can learn about the call it is serving. See {@link currentCall}. */
export interface CallContext {
  /** Who is calling. */
  readonly caller: Caller;
  /**
   * Registers `undo` to run if this call's result does not reach the caller: its thread died
   * while the reply was in flight, the call had timed out or been aborted on its side, the
   * result could not be sent, or the method failed. A method that hands out something it
   * consumes (a queue's item) puts it back this way, so nothing is lost.
   */
  onUndelivered(undo: () => void): void;
  /**
   * Registers `done` to run once the caller confirmed it has this call's result (the reply is
   * then acknowledged like one with an `onUndelivered` undo). Never runs if the result is not
   * delivered. A method that hands out something it consumes frees what it kept for the undo
   * here (a queue item's server-side proxies).
   */
  onDelivered(done: () => void): void;
}

interface Active {
  connection: ServerConnection | undefined;
  rid: number;
  readonly callers: WeakMap<ServerConnection, Caller>;
  nextCallerId: number;
}

/**
 * The call being dispatched; set only during the synchronous part of a hosted method. On
 * globalThis under a `Symbol.for` key: a registry module that loads another copy of this
 * package still sees the server's calls.
 */
const activeKey = Symbol.for('@managers/core/active-call');
const active: Active = ((globalThis as Record<symbol, unknown>)[activeKey] ??= {
  connection: undefined,
  rid: 0,
  callers: new WeakMap(),
  nextCallerId: 1,
}) as Active;

/** Runs `fn` as the hosted method serving `rid` on `connection`. */
export function runAsCall<T>(connection: ServerConnection, rid: number, fn: () => T): T {
  const previousConnection = active.connection;
  const previousRid = active.rid;
  active.connection = connection;
  active.rid = rid;
  try {
    return fn();
  } finally {
    active.connection = previousConnection;
    active.rid = previousRid;
  }
}

/** The caller object of `connection` (one per connection). */
export function callerOf(connection: ServerConnection): Caller {
  let caller = active.callers.get(connection);
  if (caller === undefined) {
    const id = `caller-${active.nextCallerId++}`;
    caller = {
      id,
      get label() {
        return connection.label || 'connection';
      },
      get closed() {
        return connection.closed;
      },
      onClose(listener: () => void): () => void {
        if (connection.closed) {
          listener();
          return () => undefined;
        }
        const hooks = (connection.closeHooks ??= new Set());
        const hook = () => listener();
        hooks.add(hook);
        return () => connection.closeHooks?.delete(hook);
      },
    };
    active.callers.set(connection, caller);
  }
  return caller;
}

/**
 * The call a hosted method is serving, read at the start of the method (before any `await`:
 * afterwards another call may be running). `undefined` outside a call from a client: in a
 * constructor run by `start()`'s initializer, or in a call made by a server-side proxy.
 *
 * ```ts
 * get() {
 *   const call = currentCall();
 *   const item = this.#items.shift();
 *   call?.onUndelivered(() => this.#items.unshift(item));
 *   return item;
 * }
 * ```
 */
export function currentCall(): CallContext | undefined {
  const connection = active.connection;
  if (connection === undefined) return undefined;
  const rid = active.rid;
  return {
    caller: callerOf(connection),
    onUndelivered(undo: () => void): void {
      if (typeof undo !== 'function') {
        throw createManagerError(
          ErrorCode.InvalidOption,
          'onUndelivered(undo): undo must be a function',
          { details: { option: 'undo' } },
        );
      }
      connection.onUndelivered(rid, undo);
    },
    onDelivered(done: () => void): void {
      if (typeof done !== 'function') {
        throw createManagerError(
          ErrorCode.InvalidOption,
          'onDelivered(done): done must be a function',
          { details: { option: 'done' } },
        );
      }
      connection.onDelivered(rid, done);
    },
  };
}
