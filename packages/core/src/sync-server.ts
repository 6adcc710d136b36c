/**
 * The server side of synchronous calls (see sync-channel.ts for the client side).
 *
 * A connection registers one {@link SyncEndpoint} (a port and a shared counter). Calls flagged
 * `s: 1` are answered there: the reply is posted on the port, then the counter is bumped and
 * notified, which wakes the caller blocked in `Atomics.wait`. Every endpoint of this thread is
 * known, so that a server thread that exits while running JavaScript (shutdown,
 * `process.exit()` in a hosted method, an uncaught error) wakes all of its blocked callers
 * with `ERR_MANAGER_CLOSED` on its way out.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { ServerErrors } from './server/errors';
import type { Reply } from './protocol';
import {
  InlineKind,
  LIVENESS_DEAD,
  markServerThread,
  SYNC_CLOSED,
  SYNC_INLINE_KIND,
  SYNC_INLINE_LENGTH,
  SYNC_INLINE_NUMBER_BYTE,
  SYNC_INLINE_RID,
  SYNC_INLINE_STRING_BYTE,
  SYNC_INLINE_STRING_MAX,
  SYNC_POSTED,
} from './sync-channel';

const encoder = new TextEncoder();

/** This thread's open endpoints (the server thread's), woken when the thread exits. */
const endpoints = new Set<SyncEndpoint>();
/** The liveness word of the manager served here, given to every endpoint on registration. */
let serverLiveness: SharedArrayBuffer | undefined;

/**
 * Installed once by the server worker: marks this thread as the server of `managerId` (a
 * synchronous call from here would deadlock) and, when the thread exits running JavaScript,
 * marks the manager dead and wakes every blocked caller. An uncaught error counts only when
 * nothing handles it (`uncaughtExceptionMonitor` runs before the thread dies of it; the
 * `'exit'` event that follows does the same again, harmlessly).
 */
export function installSyncExitHooks(managerId: string, liveness: SharedArrayBuffer): void {
  markServerThread(managerId);
  serverLiveness = liveness;
  const wakeAll = () => {
    const words = new Int32Array(liveness);
    Atomics.store(words, LIVENESS_DEAD, 1);
    Atomics.notify(words, LIVENESS_DEAD);
    for (const endpoint of endpoints) endpoint.close();
  };
  process.on('exit', wakeAll);
  process.on('uncaughtExceptionMonitor', () => {
    if (process.listenerCount('uncaughtException') === 0) wakeAll();
  });
}

/** One connection's sync channel, server end. */
export class SyncEndpoint {
  readonly #port: MessagePort;
  readonly #words: Int32Array;
  readonly #number: Float64Array;
  readonly #bytes: Uint8Array;
  /** Request ids of the synchronous calls in progress. */
  readonly #pending = new Set<number>();
  #closed = false;

  constructor(port: MessagePort, buffer: SharedArrayBuffer) {
    this.#port = port;
    this.#words = new Int32Array(buffer);
    this.#number = new Float64Array(buffer, SYNC_INLINE_NUMBER_BYTE, 1);
    this.#bytes = new Uint8Array(buffer, SYNC_INLINE_STRING_BYTE, SYNC_INLINE_STRING_MAX);
    endpoints.add(this);
    // The caller learns its manager's liveness word before any reply.
    if (serverLiveness !== undefined) this.#post({ t: 'live', buffer: serverLiveness });
  }

  /** Notes that the reply to `rid` goes through this channel. */
  expect(rid: number): void {
    this.#pending.add(rid);
  }

  /** True when the reply to `rid` goes through this channel (then {@link send} it). */
  claims(rid: number): boolean {
    return this.#pending.delete(rid);
  }

  /** Sends the reply to a synchronous call; `undo` gives back references it carried if it cannot be. */
  send(
    reply: Reply,
    transfer: readonly TransferListItem[] | undefined,
    details: Record<string, unknown> | undefined,
    undo: () => void,
  ): void {
    if (this.#closed) {
      undo();
      return;
    }
    // Inline only when no other synchronous call of this channel is in progress (one that
    // timed out on the client): a later inline write could overwrite this one being read.
    if (
      this.#pending.size === 0 &&
      reply.e === undefined &&
      reply.p === undefined &&
      this.#writeInline(reply.rid, reply.v)
    ) {
      this.#bump();
      return;
    }
    try {
      this.#port.postMessage(reply, transfer ?? []);
    } catch (error) {
      undo();
      this.#port.postMessage(
        ServerErrors.unsendable(reply.rid, error, { ...(reply.e?.details ?? details ?? {}) }),
      );
    }
    this.#bump();
  }

  /** Wakes the caller, if any, with `ERR_MANAGER_CLOSED`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    endpoints.delete(this);
    Atomics.store(this.#words, SYNC_CLOSED, 1);
    Atomics.notify(this.#words, SYNC_POSTED);
    this.#port.close();
  }

  /** Writes a primitive value in the buffer (see SYNC_POSTED); false when it does not fit. */
  #writeInline(rid: number, value: unknown): boolean {
    let kind: number;
    switch (typeof value) {
      case 'undefined':
        kind = InlineKind.Undefined;
        break;
      case 'boolean':
        kind = value ? InlineKind.True : InlineKind.False;
        break;
      case 'number':
        kind = InlineKind.Number;
        this.#number[0] = value;
        break;
      case 'string': {
        // At most 3 bytes per UTF-16 unit: check before encoding.
        if (value.length * 3 > SYNC_INLINE_STRING_MAX) return false;
        kind = InlineKind.String;
        const { written } = encoder.encodeInto(value, this.#bytes);
        Atomics.store(this.#words, SYNC_INLINE_LENGTH, written);
        break;
      }
      case 'object':
        if (value !== null) return false;
        kind = InlineKind.Null;
        break;
      default:
        return false;
    }
    Atomics.store(this.#words, SYNC_INLINE_KIND, kind);
    Atomics.store(this.#words, SYNC_INLINE_RID, rid | 0);
    return true;
  }

  #post(message: unknown): void {
    this.#port.postMessage(message);
    this.#bump();
  }

  #bump(): void {
    Atomics.add(this.#words, SYNC_POSTED, 1);
    Atomics.notify(this.#words, SYNC_POSTED);
  }
}
