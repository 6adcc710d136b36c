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
import type { MessagePort } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
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
  SYNC_REQUESTED,
  SYNC_SPIN_ALLOWED,
  SYNC_SPIN_MS,
} from './sync-channel';

const encoder = new TextEncoder();

/** This thread's open endpoints (the server thread's), woken when the thread exits. */
const endpoints = new Set<SyncEndpoint>();
/** The endpoints whose caller is in a loop of synchronous calls: watched between messages. */
const hot = new Set<SyncEndpoint>();
let watchScheduled = false;
/** When a connection that is not hot last sent a message (performance.now(), see `watch`). */
let othersSpokeAt = -Infinity;
/** How long after another connection's message no watch is run (ms). */
const OTHERS_QUIET_MS = 1;

/**
 * Called for every message the server receives, with its connection's endpoint (if any): a
 * message of a connection that is not a synchronous caller in a loop (hot, or about to be)
 * means the server is not there for such callers only.
 */
export function noteMessage(endpoint: SyncEndpoint | undefined): void {
  // (Only on a server with synchronous callers: the others pay nothing.)
  if (endpoints.size === 0) return;
  const now = performance.now();
  if (endpoint === undefined || !(hot.has(endpoint) || endpoint.inLoop(now))) othersSpokeAt = now;
}

/**
 * Takes the next synchronous call of a hot caller without sleeping in between. A server thread
 * that goes back to its event loop is woken by the next message through the kernel (an
 * eventfd, then epoll): that wake-up costs more than the whole call. So after answering a
 * caller whose calls come back to back, the thread checks each hot caller's request count
 * until SYNC_SPIN_MS after that caller's last reply, and takes the message from the port
 * itself (`receiveMessageOnPort`: the same queue, in the same order, as the event loop).
 *
 * A watch runs in a `setImmediate` and takes one message at most. Then it returns, so that,
 * as after a message event, the microtasks and ticks that message started run (an `await`
 * in a hosted method, the outbox flush) before the next message is read; and the event loop
 * turns, handling every other connection's messages, before the next watch. None is run
 * within OTHERS_QUIET_MS of another connection's message: then the thread is not there for
 * synchronous callers alone, and spinning would take a CPU from the threads it serves.
 */
function watch(): void {
  let took = false;
  try {
    if (performance.now() - othersSpokeAt < OTHERS_QUIET_MS) {
      // Not watched again until a reply: a caller still in its loop is hot again by its next
      // call, and meanwhile the messages of the others count as the others'.
      hot.clear();
      return;
    }
    while (hot.size !== 0) {
      const now = performance.now();
      for (const endpoint of hot) {
        const result = endpoint.poll(now);
        if (result === 'cold') hot.delete(endpoint);
        else if (result === 'taken') {
          took = true;
          return;
        }
      }
    }
  } finally {
    // Replies sent during the watch did not schedule another (see `scheduleWatch`).
    watchScheduled = false;
    if (took) scheduleWatch();
  }
}

/** Watches the hot callers at the event loop's next turn (once: a watch in progress covers them all). */
function scheduleWatch(): void {
  if (watchScheduled || hot.size === 0) return;
  watchScheduled = true;
  setImmediate(watch);
}
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
  /** Takes the connection's next message off its port and acts on it; false when there is none. */
  readonly #take: (() => boolean) | undefined;
  /** When the last reply was sent (performance.now()). */
  #repliedAt = -Infinity;
  /** How many synchronous calls arrived (the client counts those it posted, SYNC_REQUESTED). */
  #arrived = 0;

  /**
   * @param take How the server takes this connection's next message itself, when it watches
   *   for the next synchronous call (see {@link watch}); none: it never watches.
   */
  constructor(port: MessagePort, buffer: SharedArrayBuffer, take?: () => boolean) {
    this.#port = port;
    this.#take = SYNC_SPIN_ALLOWED ? take : undefined;
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
    this.#arrived = (this.#arrived + 1) | 0;
    // A caller in a loop of synchronous calls: its next one is watched for (see `watch`).
    if (this.#take !== undefined && this.inLoop(performance.now())) hot.add(this);
  }

  /**
   * True when a call of this caller's at `now` came soon after its previous reply: within
   * twice SYNC_SPIN_MS, since this thread's own wake-up is in that time until it watches.
   */
  inLoop(now: number): boolean {
    return now - this.#repliedAt <= 2 * SYNC_SPIN_MS;
  }

  /**
   * One look at the request count while watched: `taken` when a new call was there (taken and
   * acted on), `cold` when SYNC_SPIN_MS passed since the last reply (or the endpoint closed).
   */
  poll(now: number): 'taken' | 'waiting' | 'cold' {
    if (this.#closed) return 'cold';
    const requested = Atomics.load(this.#words, SYNC_REQUESTED);
    if (requested !== this.#arrived) {
      // The client counts a call after posting it: one counted and not arrived is in the
      // port's queue, behind whatever the client posted before. One message is taken (see
      // `watch`); the next watch takes the next.
      if (this.#take!()) return 'taken';
      // Not there: calls the server did not take as synchronous (malformed ones). Count again.
      this.#arrived = requested;
    }
    return now - this.#repliedAt > SYNC_SPIN_MS ? 'cold' : 'waiting';
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
    if (this.#take !== undefined) {
      this.#repliedAt = performance.now();
      if (hot.has(this)) scheduleWatch();
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
    hot.delete(this);
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
