/**
 * The client side of synchronous calls (see sync-proxy.ts).
 *
 * A synchronous call travels on the thread's ordinary connection port, after everything that
 * connection had queued (so it is ordered with the thread's async calls and releases), with a
 * flag asking the server to answer through this connection's sync channel: a MessagePort and a
 * SharedArrayBuffer registered once, on first use. The server posts the reply on that port,
 * then bumps a counter word and notifies it; the caller sleeps in `Atomics.wait` on the counter
 * and reads the reply with `receiveMessageOnPort`. Replies to async calls still go to the
 * connection port and are handled when the thread's event loop runs again.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import { availableParallelism } from 'node:os';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { encodeValue, forEachEnvelope, type CallOptions, type Token } from '@managers/proxy';
import type { ClientConnection } from './client-connection';
import type { Reply } from './protocol';

/**
 * Word of a channel's buffer: how many replies the server gave, on the sync port or inline.
 * A reply whose value is a primitive (a number, a short string, a boolean, null, undefined)
 * is written inline, in the buffer itself: no message, no clone, one Atomics.notify.
 */
export const SYNC_POSTED = 0;
/** Word of a channel's buffer: 1 once the server end is closed (shutdown, server exiting). */
export const SYNC_CLOSED = 1;
/** Word: the request id (modulo 2³²) of the reply written inline. */
export const SYNC_INLINE_RID = 2;
/** Word: what the inline value is (see {@link InlineKind}). */
export const SYNC_INLINE_KIND = 3;
/** Word: the byte length of an inline string. */
export const SYNC_INLINE_LENGTH = 4;
/**
 * Word: how many synchronous calls the client posted. A server that answered a call of this
 * channel moments ago watches it for a while instead of going back to sleep (sync-server.ts).
 */
export const SYNC_REQUESTED = 5;
/** Byte offset of an inline number (a float64). */
export const SYNC_INLINE_NUMBER_BYTE = 24;
/** Byte offset of an inline string's UTF-8 bytes. */
export const SYNC_INLINE_STRING_BYTE = 32;
/** Longest inline string, in UTF-8 bytes; longer ones go on the port. */
export const SYNC_INLINE_STRING_MAX = 1024;
/** Bytes in a channel's buffer. */
export const SYNC_BUFFER_BYTES = SYNC_INLINE_STRING_BYTE + SYNC_INLINE_STRING_MAX;

/** The kinds of inline values. */
export const InlineKind = {
  Undefined: 1,
  Null: 2,
  True: 3,
  False: 4,
  Number: 5,
  String: 6,
} as const;
/** Word of a manager's liveness buffer: 1 once its server worker is gone. */
export const LIVENESS_DEAD = 0;

/**
 * How long one `Atomics.wait` lasts at most before the caller looks at its manager's liveness
 * word again. A server that exits running JavaScript (shutdown, `process.exit()`, an uncaught
 * error) wakes its blocked callers at once; one that dies without running any (`terminate()`,
 * out of memory) is seen by the thread that started it, which sets the liveness word: blocked
 * callers notice within this slice.
 */
export const SYNC_SLICE_MS = 50;

/**
 * How long a caller checks the reply word in a busy loop before it sleeps in `Atomics.wait`
 * (ms). On a machine with cores to spare, a reply often comes within microseconds, and a
 * thread that went to sleep pays a wake-up that can cost more than the whole round trip (a
 * futex wake, on a virtual machine an interrupt to a halted vCPU). A caller spins only while
 * its channel's replies come within this time (the previous call's did), and never on a
 * single-CPU machine, so a slow method or a busy machine costs no spinning.
 */
export const SYNC_SPIN_MS = 0.05;
/** Whether spinning can help at all: the replying thread needs a CPU of its own. */
export const SYNC_SPIN_ALLOWED = availableParallelism() > 1;

/** Per-thread state, on globalThis so that two copies of this module in one thread agree. */
interface ThreadSyncState {
  /** Each manager's liveness word, by manager id, as far as this thread knows it. */
  readonly liveness: Map<string, Int32Array>;
  /** The ids of the managers whose server runs in this thread. */
  readonly served: Set<string>;
  readonly channels: WeakMap<ClientConnection, SyncChannel>;
}
const stateKey = Symbol.for('@managers/core/sync');
const state: ThreadSyncState = ((globalThis as Record<symbol, unknown>)[stateKey] ??= {
  liveness: new Map<string, Int32Array>(),
  served: new Set<string>(),
  channels: new WeakMap<ClientConnection, SyncChannel>(),
}) as ThreadSyncState;

/** Makes the liveness buffer of a new manager (the owner thread keeps it and gives it to the server). */
export function createLiveness(managerId: string): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(4);
  state.liveness.set(managerId, new Int32Array(buffer));
  return buffer;
}

/** Records `buffer` as the liveness word of `managerId` in this thread. */
export function setLiveness(managerId: string, buffer: SharedArrayBuffer): void {
  if (!state.liveness.has(managerId)) state.liveness.set(managerId, new Int32Array(buffer));
}

/** Marks a manager's server as gone and wakes whoever waits on the word itself. */
export function markDead(buffer: SharedArrayBuffer): void {
  const words = new Int32Array(buffer);
  Atomics.store(words, LIVENESS_DEAD, 1);
  Atomics.notify(words, LIVENESS_DEAD);
}

/** Records that this thread runs the server of `managerId` (a sync call from here would deadlock). */
export function markServerThread(managerId: string): void {
  state.served.add(managerId);
}

/** True when this thread runs the server of `managerId`. */
export function isServerThread(managerId: string): boolean {
  return state.served.has(managerId);
}

/** This thread's sync channel on `connection`, made (and registered with the server) on first use. */
function channelOf(connection: ClientConnection): SyncChannel {
  let channel = state.channels.get(connection);
  if (channel === undefined) {
    channel = new SyncChannel(connection);
    state.channels.set(connection, channel);
  }
  return channel;
}

function describe(token: Token, method: string): string {
  return `${token.typeid}.${method}()`;
}

/**
 * Calls `method` on the object of `token` and blocks this thread until the reply; returns the
 * decoded value or throws the call's error (`ERR_TIMEOUT` after `options.timeout` ms,
 * `ERR_MANAGER_CLOSED` when the server goes away meanwhile).
 */
export function callSync(
  connection: ClientConnection,
  token: Token,
  method: string,
  args: readonly unknown[],
  options: CallOptions | undefined,
): unknown {
  const details = { typeid: token.typeid, id: token.id, method };
  if (options?.signal?.aborted) {
    throw createManagerError(
      ErrorCode.Aborted,
      `${describe(token, method)} was aborted before it was sent`,
      { cause: options.signal.reason, details },
    );
  }
  const channel = channelOf(connection);
  const transfer: TransferListItem[] = [];
  const encoded = encodeValue(
    args,
    (proxy) => connection.encodeProxy(proxy, describe(token, method)),
    transfer,
  );
  const rid = connection.newRid();
  connection.postNow({ t: 'call', rid, id: token.id, method, args: encoded, s: 1 }, transfer);
  channel.requested();
  return channel.wait(rid, options?.timeout ?? connection.timeout, token, method);
}

/** One connection's sync channel (client end). */
class SyncChannel {
  readonly #connection: ClientConnection;
  readonly #port: MessagePort;
  readonly #words: Int32Array;
  readonly #number: Float64Array;
  readonly #buffer: SharedArrayBuffer;
  /** Replies read so far, from the port or inline (the server counts those it gave). */
  #read = 0;
  #liveness: Int32Array | undefined;
  /** Whether the next call spins before sleeping: the previous reply came within SYNC_SPIN_MS. */
  #spin = SYNC_SPIN_ALLOWED;
  /** True once a call timed out: the event loop reads late replies too (see #readWhenIdle). */
  #readingWhenIdle = false;

  constructor(connection: ClientConnection) {
    connection.requireLocal('a synchronous call (syncProxy)');
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(SYNC_BUFFER_BYTES);
    // Registered before the first call, on the same port: the server knows the channel when
    // that call arrives. Posted at once (postNow), so a failure throws here.
    connection.postNow({ t: 'sync', port: port2, buffer }, [port2]);
    // Read with receiveMessageOnPort (and, after a timeout, by the event loop between calls:
    // #readWhenIdle); never keeps the thread alive.
    port1.unref();
    this.#connection = connection;
    this.#port = port1;
    this.#words = new Int32Array(buffer);
    this.#number = new Float64Array(buffer, SYNC_INLINE_NUMBER_BYTE, 1);
    this.#buffer = buffer;
    this.#liveness = state.liveness.get(connection.managerId);
  }

  /** Counts a call posted (after the post: a server watching the count finds it on its port). */
  requested(): void {
    Atomics.add(this.#words, SYNC_REQUESTED, 1);
  }

  /** Blocks until the reply to `rid` is read (earlier replies, to calls that timed out, are dropped). */
  wait(rid: number, timeout: number, token: Token, method: string): unknown {
    const started = performance.now();
    try {
      return this.#receive(rid, started, timeout, token, method);
    } finally {
      this.#spin = SYNC_SPIN_ALLOWED && performance.now() - started <= SYNC_SPIN_MS;
    }
  }

  #receive(rid: number, started: number, timeout: number, token: Token, method: string): unknown {
    const deadline = timeout > 0 ? started + timeout : Infinity;
    const sliced = timeout > 0;
    let spun = !this.#spin;
    for (;;) {
      const posted = Atomics.load(this.#words, SYNC_POSTED);
      if (posted !== this.#read) {
        // Every reply counted by `posted` is readable by now: the server writes an inline one,
        // or queues a message, before it counts it. Only the latest inline reply survives; the
        // caller has one call outstanding, so the others answered calls that timed out.
        this.#read = posted;
        // (Until the server's first message, which names the liveness word, has been read,
        // the port is read first.)
        if (
          this.#liveness !== undefined &&
          Atomics.load(this.#words, SYNC_INLINE_RID) === (rid | 0)
        ) {
          // Taken: an inline reply to a later call must not be mistaken for this one.
          Atomics.store(this.#words, SYNC_INLINE_RID, 0);
          return this.#inline();
        }
        for (;;) {
          const received = receiveMessageOnPort(this.#port);
          if (received === undefined) break;
          const message = received.message as Reply & { t?: string; buffer?: SharedArrayBuffer };
          if (message.t === 'live') {
            setLiveness(this.#connection.managerId, message.buffer!);
            this.#liveness = state.liveness.get(this.#connection.managerId);
          } else if (message.rid === rid) return this.#connection.decodeReply(message);
          else this.#dropStale(message);
        }
        if (Atomics.load(this.#words, SYNC_INLINE_RID) === (rid | 0)) {
          Atomics.store(this.#words, SYNC_INLINE_RID, 0);
          return this.#inline();
        }
        continue;
      }
      if (
        Atomics.load(this.#words, SYNC_CLOSED) === 1 ||
        (this.#liveness !== undefined && Atomics.load(this.#liveness, LIVENESS_DEAD) === 1)
      ) {
        this.#port.close();
        state.channels.delete(this.#connection);
        throw createManagerError(
          ErrorCode.ManagerClosed,
          `manager ${this.#connection.managerId} is closed: its server went away during ${describe(token, method)}`,
          { details: { manager: this.#connection.managerId, typeid: token.typeid, method } },
        );
      }
      const left = sliced ? deadline - performance.now() : SYNC_SLICE_MS;
      if (left <= 0) {
        this.#readWhenIdle();
        throw createManagerError(
          ErrorCode.Timeout,
          `${describe(token, method)} timed out after ${timeout} ms`,
          { details: { typeid: token.typeid, id: token.id, method, timeout } },
        );
      }
      if (!spun) {
        // Once per call, before the first sleep (see SYNC_SPIN_MS).
        spun = true;
        const until = performance.now() + Math.min(left, SYNC_SPIN_MS);
        while (Atomics.load(this.#words, SYNC_POSTED) === posted && performance.now() < until);
        continue;
      }
      Atomics.wait(this.#words, SYNC_POSTED, posted, Math.min(left, SYNC_SLICE_MS));
    }
  }

  #inline(): unknown {
    switch (Atomics.load(this.#words, SYNC_INLINE_KIND)) {
      case InlineKind.Null:
        return null;
      case InlineKind.True:
        return true;
      case InlineKind.False:
        return false;
      case InlineKind.Number:
        return this.#number[0];
      case InlineKind.String:
        return Buffer.from(
          this.#buffer,
          SYNC_INLINE_STRING_BYTE,
          Atomics.load(this.#words, SYNC_INLINE_LENGTH),
        ).toString('utf8');
      default:
        return undefined;
    }
  }

  /**
   * After a timeout, the late reply may come while no call waits: without a reader until this
   * thread's next synchronous call, the references it carries (a proxy a method returned) would
   * stay taken. From the first timeout on, the port is also read by the event loop, which runs
   * only between synchronous calls, so what it reads is a late reply (or the liveness word).
   */
  #readWhenIdle(): void {
    if (this.#readingWhenIdle) return;
    this.#readingWhenIdle = true;
    this.#port.on('message', (message: Reply & { t?: string; buffer?: SharedArrayBuffer }) => {
      if (message.t === 'live') {
        setLiveness(this.#connection.managerId, message.buffer!);
        this.#liveness = state.liveness.get(this.#connection.managerId);
      } else {
        this.#dropStale(message);
      }
    });
    // A listener refs the port: it must still never keep the thread alive.
    this.#port.unref();
  }

  /** A reply nobody waits for any more (its call timed out): give back references taken for it. */
  #dropStale(reply: Reply): void {
    if (reply.p !== undefined) this.#connection.release(reply.p.id);
    if (reply.v !== undefined)
      forEachEnvelope(reply.v, (envelope) => this.#connection.release(envelope.token.id));
  }
}
