import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createManagerError, ErrorCode, ObjectTable, type TraceEvent } from '@managers/refcount';
import { forEachProxy } from '@managers/proxy';
import {
  PROTOCOL_VERSION,
  batchSchema,
  describeIssues,
  isWellFormedCall,
  requestSchema,
  type CallRequest,
  type Request,
} from '../protocol';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../message-size';
import { TypeInfoCache, type Registration } from '../registration';
import { noteMessage, SyncEndpoint } from '../sync-server';
import { LEND_LOG_BYTES, LendLogReader, type DirectedTo } from '../lend-log';
import type { Channel } from '../transport/channel';
import type { NetworkAddress } from '../transport/address';
import { newConnectionKey } from '../threads';
import { CycleCollector } from './collector';
import { MAX_HELD_MESSAGES, type ServerConnection } from './connection';
import type { RegisteredType, ServerContext } from './context';
import { Dispatcher } from './dispatch';
import { DirectedHandoffs } from './directed';
import { Exports } from './exports';
import { Handoffs } from './handoffs';
import { Identities } from './identities';
import { Leases } from './leases';
import { LocalConnection } from './local';

/**
 * The views a client reads refcounts through: the table's (`numberOfObjects()`, `entries()`, a
 * manager's matchers, on id 0) and an object's (`#inspect` on its id: a proxy's matchers).
 */
const REFCOUNT_VIEWS = new Set(['#count', '#debug', '#inspect', '#refs']);

/** Options of {@link Server}. */
export interface ServerOptions {
  readonly managerId: string;
  readonly name: string;
  readonly registry: ReadonlyMap<string, Registration>;
  readonly traceBufferSize: number;
  /** The largest reply value, in bytes (estimated; default 64 MiB): a larger one is an error reply. */
  readonly maxMessageSize?: number;
  readonly onTrace?: (event: TraceEvent) => void;
}

/**
 * The manager server: hosts objects in an {@link ObjectTable}, serves every client connection
 * (one MessagePort each), and drops a connection's references when it closes (R4). This class
 * is the intake (messages in, validated, routed by type); its parts are the identities of
 * connections, the dispatcher of creates and calls, the handoffs, the server-side connection
 * and the cycle collector. Runs inside the server worker; it does no I/O of its own.
 */
export class Server {
  readonly table: ObjectTable;
  readonly managerId: string;
  readonly #identities: Identities;
  readonly #dispatcher: Dispatcher;
  readonly #handoffs: Handoffs;
  readonly #leases: Leases;
  readonly #local: LocalConnection;
  readonly #collector: CycleCollector;
  readonly #exports: Exports;
  readonly #directed: DirectedHandoffs;
  readonly #name: string;
  #closing = false;
  /** The connections that registered a lend log. */
  readonly #lendLogs = new Set<ServerConnection>();
  /** Where the server listens for other processes, once it does (`start({ address })`). */
  listenAddress: NetworkAddress | undefined;

  constructor(options: ServerOptions) {
    this.managerId = options.managerId;
    this.#name = options.name;
    this.table = new ObjectTable({
      name: options.name,
      traceBufferSize: options.traceBufferSize,
      onTrace: options.onTrace,
      // R6: the server-side proxies a disposed object held are released in turn.
      onDispose: (object) =>
        forEachProxy(object, (proxy) => {
          if (proxy.token.manager === this.managerId) proxy[Symbol.dispose]();
        }),
    });
    const registry = new Map<string, RegisteredType>();
    for (const registration of options.registry.values()) {
      registry.set(registration.typeid, {
        registration,
        types: new TypeInfoCache(registration),
      });
    }
    this.#local = new LocalConnection(this.managerId, this.table, (id) => this.#collector.note(id));
    this.#collector = new CycleCollector(this.table, this.managerId, (proxies) =>
      this.#local.releaseAll(proxies, 'cycle collected'),
    );
    const context: ServerContext = {
      managerId: this.managerId,
      table: this.table,
      registry,
      local: this.#local,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      exportReferences: (connection, ids, lease) => ({
        key: this.#exports.export(connection, ids, lease).key,
        address: this.listenAddress,
      }),
    };
    this.#dispatcher = new Dispatcher(context);
    this.#identities = new Identities(this.table, (connection, ids) =>
      this.#dispatcher.undoIncrefs(connection, ids),
    );
    // What the handoff roles ask of the server (each role's host interface names its part).
    const host = {
      accept: (
        channel: Channel,
        key: string,
        options: { owner: boolean; state: 'spare' | 'handoff'; madeBy?: ServerConnection },
      ) => this.#accept(channel, key, options),
      replay: (connection: ServerConnection) => this.#replay(connection),
      close: (connection: ServerConnection) => this.#close(connection),
      refuse: (connection: ServerConnection, reason: string, key?: string) =>
        this.#refuse(connection, reason, key),
      registered: (key: string) => this.#handoffs.registered(key),
      // A key an export or a directed handoff used: a claim of it is refused at once.
      isSpent: (key: string) => this.#exports.isSpent(key) || this.#directed.isSpent(key),
      tell: (connection: ServerConnection, message: Record<string, unknown>) =>
        this.#tell(connection, message),
    };
    this.#handoffs = new Handoffs(this.table, this.#identities, host);
    this.#directed = new DirectedHandoffs(this.table, this.#identities, host);
    this.#exports = new Exports(this.table, this.#identities, host);
    this.#leases = new Leases(this.table, {
      replay: host.replay,
      refuse: host.refuse,
      released: (ids) => {
        for (const id of ids) this.#collector.note(id);
      },
    });
  }

  /** Serves the owner's first connection (the thread that started the manager). */
  accept(port: Channel, key: string): void {
    this.#accept(port, key, { owner: true, state: 'handoff' });
  }

  /**
   * Serves an authenticated socket of another process. It is as untrusted as a raw port: its
   * holder name is the server's choice, and it may use only what it holds. The first message
   * it gets says which manager this is (`welcome`).
   */
  acceptRemote(
    channel: Channel,
    welcome: { typeids: readonly string[]; heartbeatTimeout: number; maxMessageSize: number },
  ): void {
    const connection = this.#accept(channel, newConnectionKey(), {
      owner: false,
      state: 'handoff',
    });
    if (connection === undefined) return;
    channel.postMessage({
      t: 'welcome',
      version: PROTOCOL_VERSION,
      managerId: this.managerId,
      name: this.#name,
      typeids: welcome.typeids,
      heartbeatTimeout: welcome.heartbeatTimeout,
      maxMessageSize: welcome.maxMessageSize,
      address: this.listenAddress,
    });
  }

  /** Runs the cycle collector now (tests; it also runs by itself after releases). */
  collectCycles(): number {
    return this.#collector.collect();
  }

  /** Disposes every hosted object (awaiting async disposers) and closes every connection. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    this.#collector.stop();
    this.#local.shutdown();
    await this.table.clear('manager shutdown');
    for (const connection of this.#identities.all()) {
      // Every client learns why at once (a socket client has no other way to know).
      try {
        connection.flush();
        connection.port.postMessage({ t: 'closing', reason: 'the manager was shut down' });
      } catch {
        // gone already
      }
      this.#close(connection);
    }
  }

  #accept(
    port: Channel,
    key: string,
    options: { owner: boolean; state: 'spare' | 'handoff'; madeBy?: ServerConnection },
  ): ServerConnection | undefined {
    if (this.#closing) {
      port.close();
      return undefined;
    }
    const connection = this.#identities.add(port, key, options);
    port.on('message', (message: unknown) => this.#onPortMessage(connection, message));
    port.on('close', () => this.#onClose(connection));
    port.start();
    return connection;
  }

  /** A message from the connection's port: the lends logged before and after it take their places. */
  #onPortMessage(connection: ServerConnection, message: unknown): void {
    noteMessage(connection.sync);
    const place = connection.received;
    if (connection.lendLog === undefined) {
      connection.received = place + 1;
      // Taken at once, even while the connection waits (a claim, a spare not yet funded): the
      // lends written there then take their places among the messages held meanwhile.
      if (isLendLogRequest(message)) return this.#registerLendLog(connection, message);
      return this.#onMessage(connection, message);
    }
    if (leavesLendsUnread(message)) {
      // Neither lowers what this connection holds nor asks about it: the lends placed before
      // it may stay unread, so that their lender can still withdraw those nobody used (a pool
      // caller's calls and `unlend`s would otherwise take every lend of the tasks in flight).
      // They are read, still before anything that could depend on them, by the next message
      // that is not one of these, a borrow or claim of their key, or the close.
      // The head's withdrawn lends still free their space, so that the log does not fill
      // (and the directed handoffs placed before this message, which nothing withdraws).
      this.#readLendLog(connection, place, 'reclaim');
      connection.received = place + 1;
      connection.busy = true;
      try {
        return this.#onMessage(connection, message);
      } finally {
        connection.busy = false;
        // A borrow or claim waiting for an entry placed after this message: read now.
        if (this.#someoneWaits()) this.#readLendLog(connection, place + 1);
      }
    }
    // The lends placed before this message. `received` moves on only after them: a read of
    // this log from within (a lend that wakes a borrower that reads every log) reads no further.
    this.#readLendLog(connection, place);
    connection.received = place + 1;
    // While this message is acted on, a borrow elsewhere does not read this log: the lends
    // placed after it wait for it to be done (the read in `finally`).
    connection.busy = true;
    try {
      this.#onMessage(connection, message);
    } finally {
      connection.busy = false;
      this.#readLendLog(connection, place + 1);
    }
  }

  /** Takes the connection's next message off its port and acts on it (sync-server.ts's watch). */
  #takeMessage(connection: ServerConnection): boolean {
    if (connection.closed) return false;
    let received: { message: unknown } | undefined;
    try {
      received = receiveMessageOnPort(connection.port as unknown as MessagePort);
    } catch {
      // A message that cannot be deserialized here: the event loop would have dropped it (a
      // 'messageerror' nobody listens to), and so is it here. Taken, though: look again.
      return true;
    }
    if (received === undefined) return false;
    this.#onPortMessage(connection, received.message);
    return true;
  }

  #registerLendLog(connection: ServerConnection, message: unknown): void {
    if (connection.closed) return;
    const parsed = requestSchema.safeParse(message);
    if (!parsed.success) return this.#badMessage(connection, message, describeIssues(parsed.error));
    const { buffer } = parsed.data as { buffer: SharedArrayBuffer };
    if (buffer.byteLength !== LEND_LOG_BYTES) {
      return this.#badMessage(
        connection,
        message,
        `lendlog.buffer must be a SharedArrayBuffer of ${LEND_LOG_BYTES} bytes`,
      );
    }
    connection.lendLog = new LendLogReader(buffer);
    this.#lendLogs.add(connection);
    // A borrow of a lease already written there may be waiting (it can reach the server
    // before this registration: they travel on different ports). Otherwise the lends stay
    // unread, and can still be withdrawn.
    if (this.#someoneWaits()) this.#readLendLog(connection, connection.received);
  }

  #onMessage(connection: ServerConnection, message: unknown): void {
    if (connection.closed) return;
    if (connection.held !== undefined) return this.#hold(connection, message);
    if (
      typeof message === 'object' &&
      message !== null &&
      (message as { t?: unknown }).t === 'batch'
    ) {
      const items = (message as { m?: unknown }).m;
      if (!Array.isArray(items)) {
        const batch = batchSchema.safeParse(message);
        return this.#badMessage(
          connection,
          message,
          batch.success ? 'batch.m must be an array' : describeIssues(batch.error),
        );
      }
      for (let index = 0; index < items.length; index++) {
        // A claim in the batch may pause the connection: the rest waits with it, in order.
        if (connection.held !== undefined) {
          for (let rest = index; rest < items.length; rest++) this.#hold(connection, items[rest]);
          return;
        }
        this.#handle(connection, items[index]);
      }
      return;
    }
    this.#handle(connection, message);
  }

  /**
   * Answers a refcount view (a table-wide query, or an object's `#inspect`) once the messages
   * other connections sent before it are read. Node reads a thread's ports in the order they
   * were opened, not in the order their messages came: a release that a worker posted before it
   * told this client so (a connection posts its releases before anything else its thread posts)
   * may wait on its port while this view is read. The answer waits for the end of this turn of
   * the event loop and one more, which read every port that has a message; this connection's
   * later messages wait with it (held, as during a claim), so the answer shows none of them.
   * The lends other connections logged before the messages read from them are taken then too
   * (their lenders' calls may have left them unread), so the view shows their leases.
   */
  #viewAfterOthers(connection: ServerConnection, message: CallRequest): void {
    connection.pause(message.method);
    setImmediate(() =>
      setImmediate(() => {
        if (connection.closed) return;
        this.#readLendLogs(false);
        this.#dispatcher.call(connection, message);
        if (connection.resume()) this.#replay(connection);
      }),
    );
  }

  /** Keeps a message for later (a spare not yet funded, a claim waiting), up to a bound. */
  #hold(connection: ServerConnection, message: unknown): void {
    // Closed (over the bound, by an earlier message of the same batch): the rest is dropped.
    if (connection.held === undefined || connection.closed) return;
    if (connection.held.length >= MAX_HELD_MESSAGES) {
      this.#refuse(
        connection,
        `more than ${MAX_HELD_MESSAGES} messages arrived before this connection's handoff: closing it`,
      );
      return this.#close(connection);
    }
    connection.held.push(message);
  }

  /** Acts on what a connection held, in order, until it is paused again. */
  #replay(connection: ServerConnection): void {
    const held = connection.held ?? [];
    connection.held = undefined;
    const busy = connection.busy;
    connection.busy = true;
    try {
      for (let index = 0; index < held.length; index++) {
        if (connection.closed) return;
        if (connection.held !== undefined) {
          (connection.held as unknown[]).push(...held.slice(index));
          return;
        }
        this.#onMessage(connection, held[index]);
      }
    } finally {
      connection.busy = busy;
    }
    // Lends placed after everything it received, logged while it waited.
    if (!busy) this.#readLendLog(connection, connection.received);
  }

  #handle(connection: ServerConnection, message: unknown): void {
    if (connection.closed) return;
    if (isWellFormedCall(message)) {
      if (REFCOUNT_VIEWS.has(message.method)) return this.#viewAfterOthers(connection, message);
      return this.#dispatcher.call(connection, message);
    }
    const parsed = requestSchema.safeParse(message);
    if (!parsed.success) return this.#badMessage(connection, message, describeIssues(parsed.error));
    const request: Request = parsed.data;
    switch (request.t) {
      case 'call':
        return this.#dispatcher.call(connection, request);
      case 'create':
        return this.#dispatcher.create(connection, request);
      case 'release':
        for (const id of request.ids) this.#release(connection, id);
        return;
      case 'spare':
        return this.#handoffs.spare(connection, request.key, request.port);
      case 'handoff':
        return this.#handoffs.fund(connection, request.key, request.ids, request.tag);
      case 'direct':
        return this.#directed.direct(connection, request.key, request.ids, request.to, request.tag);
      case 'recall':
        return this.#directed.recall(connection, request.key);
      case 'claim':
        // A directed handoff may be in its sender's log, not read yet (a sender that posted
        // nothing since): read there, it goes to the claimer at once.
        if (
          this.#identities.byKey(request.key) === undefined &&
          this.#directed.claimWhileReading(connection, request.key, request.ids, () =>
            this.#readLendLogs(),
          )
        )
          return;
        return this.#handoffs.claim(connection, request.key, request.ids);
      case 'export':
        try {
          return this.#exports.exportKeyed(connection, request.key, request.ids);
        } catch (error) {
          return this.#refuse(
            connection,
            `export refused: ${(error as Error).message}`,
            request.key,
          );
        }
      case 'ack':
        return connection.acknowledge(request.ok, request.lost);
      case 'sync':
        connection.sync?.close();
        connection.sync = new SyncEndpoint(request.port, request.buffer, () =>
          this.#takeMessage(connection),
        );
        return;
      case 'lend':
        return this.#leases.lend(connection, request.key, request.ids);
      case 'lendlog':
        // The first one is registered when it arrives (#onPortMessage), never here.
        return this.#badMessage(
          connection,
          message,
          connection.lendLog === undefined
            ? 'lendlog must be a message of its own'
            : 'a second lendlog (one per connection)',
        );
      case 'unlend':
        return this.#leases.unlend(connection, request.key, request.returned === true);
      case 'borrow':
        // Its lease may be in a lender's log, not read yet (a lender that posted nothing since).
        if (!this.#leases.has(request.key)) this.#readLendLogs();
        return this.#leases.borrow(connection, request.key);
      case 'unborrow':
        return this.#leases.unborrow(connection, request.key);
      case 'reclaim':
        // Done on arrival (#onPortMessage): nothing is left to do.
        return;
      case 'keep':
        return this.#leases.keep(connection, request.key, request.id);
      case 'hello':
        if (!this.#identities.hello(connection, request.label))
          return this.table.traceReject(
            `a second hello from ${connection.holder} (one per connection)`,
            0,
            connection.holder,
          );
        // A spare's receiver made it its connection: its sender may want to know.
        return this.#handoffs.taken(connection, connection);
    }
  }

  #badMessage(connection: ServerConnection, message: unknown, problem: string): void {
    const rid = (message as { rid?: unknown } | null)?.rid;
    const text = `bad message from ${connection.holder}: ${problem}`;
    this.table.traceReject(text, 0, connection.holder);
    if (typeof rid === 'number' && Number.isInteger(rid) && rid >= 0) {
      connection.replyError(rid, createManagerError(ErrorCode.BadMessage, text));
    }
  }

  #release(connection: ServerConnection, id: number): void {
    if (connection.ignoresRelease(id)) {
      // A proxy made from a refused claim: it owned nothing.
      return this.table.traceReject(
        `release of id ${id} by ${connection.holder} for a proxy of a refused claim: nothing to release`,
        id,
        connection.holder,
      );
    }
    if (this.table.countOf(id, connection.holder) === 0) {
      this.table.traceReject(
        `release of id ${id} by ${connection.holder}, which holds no reference to it`,
        id,
        connection.holder,
      );
      return;
    }
    this.table.decref(id, connection.holder, 'proxy released');
    this.#collector.note(id);
  }

  #refuse(connection: ServerConnection, reason: string, key?: string): void {
    this.table.traceReject(reason, 0, connection.holder);
    this.#tell(
      connection,
      key === undefined ? { t: 'refused', reason } : { t: 'refused', reason, key },
    );
  }

  /** Posts a notice to a client, after the replies queued for it. */
  #tell(connection: ServerConnection, message: Record<string, unknown>): void {
    if (connection.closed) return;
    connection.flush();
    try {
      connection.port.postMessage(message);
    } catch {
      // The port is gone: the connection's close follows.
    }
  }

  /**
   * Acts on the lends and directed handoffs a connection logged after at most `upTo` of its
   * port messages, in order, as one batch of `lend` and `direct` messages in their place (held
   * like any while the connection waits), then on the keys of the withdrawn lends it skipped.
   * The log is read first and acted on after, so acting on an entry (which may resume a waiting
   * borrower or claimer, or refuse one, whose held messages may read logs) never reads this log
   * again mid-way. A `'reclaim'` takes no lend (lend-log.ts `reclaim`): it frees the withdrawn
   * entries at the head and takes the directed handoffs there. `'closing'`: the connection is
   * closing already, and a log that breaks the format does not close it again.
   */
  #readLendLog(
    connection: ServerConnection,
    upTo: number,
    how: 'drain' | 'reclaim' | 'closing' = 'drain',
  ): void {
    const log = connection.lendLog;
    if (log === undefined || !log.pending()) return;
    let logged: Record<string, unknown>[] | undefined;
    let withdrawn: string[] | undefined;
    const take = (key: string, ids: number[], directed?: DirectedTo) =>
      (logged ??= []).push(loggedMessage(key, ids, directed));
    const skip = (key: string) => (withdrawn ??= []).push(key);
    const problem = how === 'reclaim' ? log.reclaim(upTo, take, skip) : log.drain(upTo, take, skip);
    if (logged?.length === 1) this.#onMessage(connection, logged[0]);
    else if (logged !== undefined) this.#onMessage(connection, { t: 'batch', m: logged });
    if (withdrawn !== undefined) for (const key of withdrawn) this.#leases.withdrawn(key);
    if (problem !== undefined && how !== 'closing') {
      // Only a thread that wrote past the format gets here: its later lends would be lost.
      this.#lendLogs.delete(connection);
      this.#refuse(connection, `${problem}: closing the connection`);
      this.#close(connection);
    }
  }

  /** True when a borrow or a claim waits for its lease or handoff (which a lend log may hold). */
  #someoneWaits(): boolean {
    return this.#leases.waiting + this.#handoffs.waiting > 0;
  }

  /**
   * Reads the lend logs of the connections not being read right now (a borrow names a key no
   * lend brought yet): a busy one reads its own when its current message is done. With
   * `pausedToo` false, not those of connections paused for a claim either (a refcount view:
   * their lends would only wait with their held messages, no longer withdrawable).
   */
  #readLendLogs(pausedToo = true): void {
    for (const connection of this.#lendLogs)
      if (!connection.closed && !connection.busy && (pausedToo || connection.held === undefined))
        this.#readLendLog(connection, connection.received);
  }

  #onClose(connection: ServerConnection): void {
    if (connection.closed) return;
    // Its last lends count (a borrow may wait for one), even those placed after messages lost
    // with the port; the lender's close then ends the leases nobody borrowed.
    this.#lendLogs.delete(connection);
    this.#readLendLog(connection, Infinity, 'closing');
    // Directed handoffs to this connection may wait unread in their senders' logs: read now,
    // they are tied to its life and dropped with it (R4), not kept on the export lease.
    this.#readLendLogs();
    const why = (connection.port as { closeReason?: string }).closeReason;
    if (why !== undefined) this.table.traceReject(`socket closed: ${why}`, 0, connection.holder);
    // Replies whose delivery is unconfirmed are given back first (a queue's item returns
    // before its consumer's references go).
    connection.markClosed();
    this.#identities.remove(connection);
    this.#handoffs.closed(connection);
    this.#leases.closed(connection);
    const held = [...this.table.heldBy(connection.holder).keys()];
    this.table.releaseHolder(connection.holder, `connection closed: ${connection.holder}`);
    for (const id of held) this.#collector.note(id);
  }

  #close(connection: ServerConnection): void {
    if (connection.closed) return;
    connection.flush();
    connection.port.close();
    this.#onClose(connection);
  }
}

/**
 * True for a message the lends logged before it need not be read for: a call of a hosted
 * object's method, a create, a `lend` (posted when the log is full), an `unlend` or a
 * `reclaim`, or a batch of only these. (Releases, handoffs,
 * claims and the server's own `#` methods, the refcount views among them, read them first.)
 */
function leavesLendsUnread(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const { t, m } = message as { t?: unknown; m?: unknown };
  if (t === 'batch') {
    if (!Array.isArray(m) || m.length === 0) return false;
    for (const item of m) if (!leavesLendsUnreadOne(item)) return false;
    return true;
  }
  return leavesLendsUnreadOne(message);
}

function leavesLendsUnreadOne(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const { t, method } = message as { t?: unknown; method?: unknown };
  if (t === 'call') return typeof method === 'string' && !method.startsWith('#');
  return t === 'create' || t === 'unlend' || t === 'lend' || t === 'reclaim';
}

/** The message a lend log's entry stands for: a `lend`, or a `direct` with its receiver. */
function loggedMessage(
  key: string,
  ids: number[],
  directed: DirectedTo | undefined,
): Record<string, unknown> {
  return directed === undefined
    ? { t: 'lend', key, ids }
    : { t: 'direct', key, ids, to: directed.to, tag: directed.tag };
}

/** True for a `lendlog` registration (checked in full when it is taken). */
function isLendLogRequest(message: unknown): boolean {
  return (
    typeof message === 'object' && message !== null && (message as { t?: unknown }).t === 'lendlog'
  );
}

export { currentCall } from './call-context';
export type { CallContext, Caller } from './call-context';
