import { inspect } from 'node:util';
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import {
  createManagerError,
  ErrorCode,
  ObjectTable,
  reprOf,
  SERVER_HOLDER,
  type EntryInfo,
  type TraceEvent,
} from '@managers/refcount';
import {
  BaseProxy,
  createAutoProxy,
  decodeValue,
  encodeValue,
  forEachProxy,
  transferAll,
  PROXY_ENVELOPE_KEY,
  type CallOptions,
  type ProxyConnection,
  type ProxyEnvelope,
  type Token,
} from '@managers/proxy';
import { toErrorEnvelope } from './error-envelope';
import {
  batchSchema,
  describeIssues,
  FALLBACK_METHODS,
  isWellFormedCall,
  requestSchema,
  type CallRequest,
  type CreateRequest,
  type Reply,
  type Request,
  type WireToken,
} from './protocol';
import { invokeCallable, TypeInfoCache, type Registration } from './registration';
import { SyncEndpoint } from './sync-server';

/** One client connection as the server sees it: a port and the holder its references belong to. */
class ServerConnection {
  /** Replies queued in this tick, posted together. */
  outbox: Reply[] = [];
  transfer: TransferListItem[] = [];
  /** Per queued reply: ids increfed for proxies inside it, undone if the reply cannot be posted. */
  increfs: (number[] | undefined)[] = [];
  /** Per queued reply: what it answers (typeid, id, method), for an error made at flush time. */
  details: (Record<string, unknown> | undefined)[] = [];
  scheduled = false;
  /** Flushes this connection's outbox (made once, queued as a microtask). */
  flushTask: () => void = () => undefined;
  closed = false;
  /** For a connection made by a handoff: the key of the connection that made it. */
  madeBy: string | undefined;
  /**
   * For a spare (registered ahead of time, no references yet): the messages its other end
   * sent before the handoff that gives it its references was read. The handoff travels on the
   * sender's connection and the receiver's messages on this port: the server may see the
   * latter first, and must not act on them (a `hello` or `adopt` would move nothing) until
   * the references are there. Undefined once the handoff came.
   */
  deferred: unknown[] | undefined;
  /** Set on a surplus handoff port: the connection key its references move to. */
  adoptInto: string | undefined;
  /** Where replies to this connection's synchronous calls go (sync-server.ts), once registered. */
  sync: SyncEndpoint | undefined;

  constructor(
    readonly key: string,
    public holder: string,
    readonly port: MessagePort,
  ) {}
}

interface RegisteredType {
  readonly registration: Registration;
  readonly types: TypeInfoCache;
}

/** Options of {@link Server}. */
export interface ServerOptions {
  readonly managerId: string;
  readonly name: string;
  readonly registry: ReadonlyMap<string, Registration>;
  readonly traceBufferSize: number;
  readonly onTrace?: (event: TraceEvent) => void;
}

/**
 * The manager server: hosts objects in an {@link ObjectTable}, serves every client
 * connection (one MessagePort each), dispatches calls, and drops a connection's references
 * when its port closes (R4). Runs inside the server worker; it does no I/O of its own.
 */
export class Server {
  readonly table: ObjectTable;
  readonly managerId: string;
  readonly #registry = new Map<string, RegisteredType>();
  readonly #connections = new Map<string, ServerConnection>();
  readonly #labels = new Map<string, number>();
  /** Surplus handoff connections waiting for the connection they adopt into to arrive. */
  readonly #parked = new Map<string, ServerConnection[]>();
  readonly #local: LocalConnection;
  #closing = false;

  constructor(options: ServerOptions) {
    this.managerId = options.managerId;
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
    for (const registration of options.registry.values()) {
      this.#registry.set(registration.typeid, {
        registration,
        types: new TypeInfoCache(registration),
      });
    }
    this.#local = new LocalConnection(this);
  }

  /** Serves a new connection whose holder starts as the handoff holder of `key`. */
  accept(port: MessagePort, key: string): void {
    if (this.#closing) {
      port.close();
      return;
    }
    const connection = new ServerConnection(key, handoffHolder(key), port);
    connection.flushTask = () => this.#flush(connection);
    this.#connections.set(key, connection);
    port.on('message', (message: unknown) => this.#onMessage(connection, message));
    port.on('close', () => this.#onClose(connection));
    port.start();
    const parked = this.#parked.get(key);
    if (parked !== undefined) {
      this.#parked.delete(key);
      for (const surplus of parked) this.#adopt(surplus, key);
    }
  }

  /** Disposes every hosted object (awaiting async disposers) and closes every connection. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    await this.table.clear('manager shutdown');
    for (const connection of [...this.#connections.values()]) this.#close(connection);
  }

  #onMessage(connection: ServerConnection, message: unknown): void {
    if (connection.deferred !== undefined) {
      connection.deferred.push(message);
      return;
    }
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
      for (const item of items) this.#handle(connection, item);
      return;
    }
    this.#handle(connection, message);
  }

  #handle(connection: ServerConnection, message: unknown): void {
    if (connection.closed) return;
    if (isWellFormedCall(message)) return this.#call(connection, message);
    const parsed = requestSchema.safeParse(message);
    if (!parsed.success) return this.#badMessage(connection, message, describeIssues(parsed.error));
    const request: Request = parsed.data;
    switch (request.t) {
      case 'call':
        return this.#call(connection, request);
      case 'create':
        return this.#create(connection, request);
      case 'release':
        for (const id of request.ids) this.#release(connection, id);
        return;
      case 'handoff':
        return this.#handoff(connection, request.key, request.ids, request.port);
      case 'adopt':
        return this.#adopt(connection, request.into);
      case 'hello':
        return this.#hello(connection, request.label);
      case 'sync':
        connection.sync?.close();
        connection.sync = new SyncEndpoint(request.port, request.buffer);
        return;
    }
  }

  #badMessage(connection: ServerConnection, message: unknown, problem: string): void {
    const rid = (message as { rid?: unknown } | null)?.rid;
    const text = `bad message from ${connection.holder}: ${problem}`;
    this.table.traceReject(text, 0, connection.holder);
    if (typeof rid === 'number' && Number.isInteger(rid) && rid >= 0) {
      this.#replyError(connection, rid, createManagerError(ErrorCode.BadMessage, text));
    }
  }

  #create(connection: ServerConnection, request: CreateRequest): void {
    const { rid, typeid } = request;
    const registered = this.#registry.get(typeid);
    if (registered === undefined) {
      return this.#replyError(connection, rid, unknownTypeid(typeid, [...this.#registry.keys()]), {
        typeid,
      });
    }
    let args: unknown[];
    let made: unknown;
    try {
      args = this.#decodeArgs(request.args, `create ${typeid}`);
      made = invokeCallable(registered.registration, args);
    } catch (error) {
      return this.#replyError(connection, rid, error, { typeid });
    }
    this.#hostAndReply(connection, rid, registered, made, `create ${typeid}`, { typeid });
  }

  /**
   * Hosts `made` (awaiting it when it is a promise: an async callable or method) with one
   * reference for the caller's connection, and replies with its token (R2).
   */
  #hostAndReply(
    connection: ServerConnection,
    rid: number,
    registered: RegisteredType,
    made: unknown,
    cause: string,
    details: Record<string, unknown>,
  ): void {
    const finish = (object: unknown) => {
      // The caller's connection may have closed while an async callable ran: no one would own
      // the reference, so the object is not hosted for it.
      if (connection.closed) return;
      try {
        const id = this.#host(registered, object, connection.holder, cause);
        this.#queue(connection, { rid, p: this.#wireToken(id) });
      } catch (error) {
        this.#replyError(connection, rid, error, details);
      }
    };
    if (made instanceof Promise)
      made.then(finish, (error: unknown) => this.#replyError(connection, rid, error, details));
    else finish(made);
  }

  #call(connection: ServerConnection, request: CallRequest): void {
    const { rid, id, method } = request;
    if (request.s === 1) connection.sync?.expect(rid);
    if (method.startsWith('#')) return this.#fallback(connection, request);
    const entry = this.table.get(id);
    if (entry === undefined)
      return this.#replyError(connection, rid, unknownId(id, method), { id, method });
    const details = { typeid: entry.typeid, id, method };
    if (!entry.type.exposed.includes(method)) {
      return this.#replyError(
        connection,
        rid,
        createManagerError(
          ErrorCode.NotExposed,
          `method '${method}' of typeid '${entry.typeid}' is not exposed (exposed: ${entry.type.exposed.join(', ') || 'none'})`,
          { details },
        ),
        details,
      );
    }
    const target = entry.typeid;
    const returnsProxy = entry.type.methodToTypeid[method];
    let result: unknown;
    try {
      const fn = (entry.object as Record<string, unknown>)[method];
      if (typeof fn !== 'function') {
        throw createManagerError(
          ErrorCode.NotExposed,
          `'${method}' of typeid '${target}' is exposed but is not a function (it is ${typeof fn})`,
          { details },
        );
      }
      const args = this.#decodeArgs(request.args, `${target}.${method}()`);
      result = (fn as (...a: unknown[]) => unknown).apply(entry.object, args);
    } catch (error) {
      return this.#replyError(connection, rid, error, details);
    }
    const finish =
      returnsProxy === undefined
        ? this.#registry.get(target)?.registration.transferResults.has(method)
          ? (value: unknown) => this.#replyValue(connection, rid, transferAll(value), details)
          : (value: unknown) => this.#replyValue(connection, rid, value, details)
        : (value: unknown) =>
            this.#replyProxy(
              connection,
              rid,
              returnsProxy,
              value,
              `${target}.${method}()`,
              details,
            );
    if (isPromiseLike(result)) {
      result.then(finish, (error: unknown) => this.#replyError(connection, rid, error, details));
    } else {
      finish(result);
    }
  }

  #fallback(connection: ServerConnection, request: CallRequest): void {
    const { rid, id, method } = request;
    if (!FALLBACK_METHODS.has(method)) {
      return this.#replyError(
        connection,
        rid,
        createManagerError(
          ErrorCode.NotExposed,
          `'${method}' is not a method: names starting with '#' are reserved`,
          {
            details: { id, method },
          },
        ),
      );
    }
    if (method === '#inspect' || method === '#debug') {
      const snapshot = {
        name: this.table.name,
        entries: this.table.entries(),
        trace: this.table.trace(),
      };
      return this.#queue(connection, { rid, v: method === '#debug' ? snapshot.entries : snapshot });
    }
    if (method === '#count')
      return this.#queue(connection, { rid, v: this.table.numberOfObjects() });
    const entry = this.table.get(id);
    if (entry === undefined)
      return this.#replyError(connection, rid, unknownId(id, method), { id, method });
    const details = { typeid: entry.typeid, id, method };
    if (method === '#repr') return this.#queue(connection, { rid, v: reprOf(entry.object) });
    return this.#replyValue(connection, rid, entry.object, details);
  }

  /** Hosts `object` (or finds it, R7) with one reference for `holder`; returns its id. */
  #host(registered: RegisteredType, object: unknown, holder: string, cause: string): number {
    if ((typeof object !== 'object' && typeof object !== 'function') || object === null) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `typeid '${registered.registration.typeid}': the value to host must be an object, got ${inspect(object)}`,
        { details: { typeid: registered.registration.typeid } },
      );
    }
    return this.table.register(object, registered.types.for(object), holder, cause);
  }

  #wireToken(id: number): WireToken {
    const entry = this.table.get(id) as EntryInfo;
    const token: WireToken = {
      id,
      typeid: entry.typeid,
      exposed: entry.type.exposed,
      methodToTypeid: entry.type.methodToTypeid,
    };
    const proxytype = this.#registry.get(entry.typeid)?.registration.proxytype;
    if (proxytype !== undefined) token.proxytype = proxytype.name;
    return token;
  }

  #replyProxy(
    connection: ServerConnection,
    rid: number,
    typeid: string,
    value: unknown,
    cause: string,
    details: Record<string, unknown>,
  ): void {
    const registered = this.#registry.get(typeid);
    if (registered === undefined)
      return this.#replyError(
        connection,
        rid,
        unknownTypeid(typeid, [...this.#registry.keys()]),
        details,
      );
    let made: unknown;
    try {
      made =
        registered.registration.callable === null
          ? value
          : invokeCallable(registered.registration, [value]);
    } catch (error) {
      return this.#replyError(connection, rid, error, details);
    }
    this.#hostAndReply(connection, rid, registered, made, cause, details);
  }

  #replyValue(
    connection: ServerConnection,
    rid: number,
    value: unknown,
    details: Record<string, unknown>,
  ): void {
    if (typeof value !== 'object' || value === null) {
      return this.#queue(connection, { rid, v: value }, undefined, undefined, details);
    }
    const transfer: TransferListItem[] = [];
    const increfs: number[] = [];
    let encoded: unknown;
    try {
      encoded = encodeValue(
        value,
        (proxy) => this.#encodeServerProxy(proxy, connection, increfs, details),
        transfer,
      );
    } catch (error) {
      this.#undoIncrefs(connection, increfs);
      return this.#replyError(connection, rid, error, details);
    }
    this.#queue(
      connection,
      { rid, v: encoded },
      transfer,
      increfs.length ? increfs : undefined,
      details,
    );
  }

  /** A proxy held by a hosted object goes back to a client: the client's connection gets its own reference. */
  #encodeServerProxy(
    proxy: BaseProxy,
    connection: ServerConnection,
    increfs: number[],
    details: Record<string, unknown>,
  ): ProxyEnvelope {
    const token = proxy.token;
    if (token.manager !== this.managerId || proxy.released) {
      throw createManagerError(
        ErrorCode.Unserializable,
        `cannot return ${String(proxy)} from ${String(details.typeid)}.${String(details.method)}(): ${
          proxy.released ? 'it was released' : 'it belongs to another manager'
        }`,
        { details },
      );
    }
    this.table.incref(
      token.id,
      connection.holder,
      `returned by ${String(details.typeid)}.${String(details.method)}()`,
    );
    increfs.push(token.id);
    return { [PROXY_ENVELOPE_KEY]: 1, token };
  }

  #undoIncrefs(connection: ServerConnection, increfs: readonly number[]): void {
    for (const id of increfs) {
      if (this.table.has(id)) this.table.decref(id, connection.holder, 'reply not sent');
    }
  }

  /**
   * Arguments may carry proxies of this manager (`map.set('k', listProxy)`): each becomes a
   * server-side proxy whose reference is owned by the server holder. The sending client's own
   * proxy is still alive (its release, if any, comes later on the same port), so the id exists.
   */
  #decodeArgs(args: unknown[], cause: string): unknown[] {
    return decodeValue(args, (envelope) => this.#serverProxy(envelope, cause)) as unknown[];
  }

  #serverProxy(envelope: ProxyEnvelope, cause: string): BaseProxy {
    const token = envelope.token;
    if (token.manager !== this.managerId) {
      throw createManagerError(
        ErrorCode.Unserializable,
        `a proxy of another manager (${token.typeid} id ${token.id}) cannot be passed to ${cause}`,
        { details: { typeid: token.typeid, id: token.id } },
      );
    }
    this.table.incref(token.id, SERVER_HOLDER, `passed to ${cause}`);
    return createAutoProxy(token, this.#local);
  }

  #release(connection: ServerConnection, id: number): void {
    if (!this.table.has(id)) {
      this.table.traceReject(
        `release of unknown id ${id} by ${connection.holder}`,
        id,
        connection.holder,
      );
      return;
    }
    try {
      this.table.decref(id, connection.holder, 'proxy released');
    } catch (error) {
      this.table.traceReject(`release refused: ${(error as Error).message}`, id, connection.holder);
    }
  }

  /**
   * Takes a reference per id for proxies in flight, owned by the connection `key`. With a port,
   * that connection is new (a spare registered ahead of time has no ids). Without one, `key`
   * must name an unused spare this same connection registered earlier: both requests came in
   * order on this port, so the spare is known by now.
   */
  #handoff(
    connection: ServerConnection,
    key: string,
    ids: number[],
    port: MessagePort | undefined,
  ): void {
    if (port === undefined) {
      const spare = this.#connections.get(key);
      if (spare === undefined || spare.madeBy !== connection.key || spare.deferred === undefined) {
        return this.table.traceReject(
          `handoff to connection ${key}, which is not an unused spare of ${connection.holder}`,
          0,
          connection.holder,
        );
      }
    } else if (this.#connections.has(key)) {
      port.close();
      return this.table.traceReject(
        `handoff with a connection key already in use: ${key}`,
        0,
        connection.holder,
      );
    }
    const holder = handoffHolder(key);
    for (const id of ids) {
      if (this.table.has(id))
        this.table.incref(id, holder, `handoff from ${connection.holder}`, 1, 'handoff');
      else
        this.table.traceReject(`handoff of unknown id ${id} from ${connection.holder}`, id, holder);
    }
    if (port === undefined) {
      // The spare has its references now: act on what its other end already sent.
      const spare = this.#connections.get(key)!;
      const early = spare.deferred!;
      spare.deferred = undefined;
      for (const message of early) this.#onMessage(spare, message);
    } else {
      this.accept(port, key);
      const made = this.#connections.get(key);
      if (made !== undefined) {
        made.madeBy = connection.key;
        if (ids.length === 0) made.deferred = [];
      }
    }
  }

  #adopt(surplus: ServerConnection, into: string): void {
    const target = this.#connections.get(into);
    if (target === undefined || target === surplus) {
      surplus.adoptInto = into;
      const parked = this.#parked.get(into) ?? [];
      parked.push(surplus);
      this.#parked.set(into, parked);
      return;
    }
    this.table.adopt(surplus.holder, target.holder, 'handoff adopted');
    surplus.port.postMessage({ t: 'adopted' });
    this.#close(surplus);
  }

  #hello(connection: ServerConnection, label: string): void {
    const seen = (this.#labels.get(label) ?? 0) + 1;
    this.#labels.set(label, seen);
    const holder = seen === 1 ? label : `${label}#${seen}`;
    this.table.adopt(connection.holder, holder, `connection of ${holder}`);
    connection.holder = holder;
  }

  #onClose(connection: ServerConnection): void {
    if (connection.closed) return;
    connection.closed = true;
    connection.sync?.close();
    this.#connections.delete(connection.key);
    if (connection.adoptInto !== undefined) {
      const parked = this.#parked.get(connection.adoptInto);
      if (parked !== undefined) {
        const rest = parked.filter((item) => item !== connection);
        if (rest.length) this.#parked.set(connection.adoptInto, rest);
        else this.#parked.delete(connection.adoptInto);
      }
    }
    this.table.releaseHolder(connection.holder, `connection closed: ${connection.holder}`);
  }

  #close(connection: ServerConnection): void {
    this.#flush(connection);
    connection.port.close();
    this.#onClose(connection);
  }

  #replyError(
    connection: ServerConnection,
    rid: number,
    error: unknown,
    details?: Record<string, unknown>,
  ): void {
    this.#queue(connection, { rid, e: toErrorEnvelope(error, details) });
  }

  #queue(
    connection: ServerConnection,
    reply: Reply,
    transfer?: readonly TransferListItem[],
    increfs?: number[],
    details?: Record<string, unknown>,
  ): void {
    if (connection.closed) {
      if (increfs) this.#undoIncrefs(connection, increfs);
      return;
    }
    if (connection.sync?.claims(reply.rid)) {
      return connection.sync.send(reply, transfer, details, () => {
        if (increfs) this.#undoIncrefs(connection, increfs);
      });
    }
    connection.outbox.push(reply);
    connection.increfs.push(increfs);
    connection.details.push(details);
    if (transfer?.length) connection.transfer.push(...transfer);
    if (!connection.scheduled) {
      connection.scheduled = true;
      queueMicrotask(connection.flushTask);
    }
  }

  /**
   * Posts the replies queued in this tick as one message. If structured clone refuses the
   * batch, each reply is posted alone and the ones that cannot be cloned become
   * `ERR_UNSERIALIZABLE` errors (their proxy references are given back): one bad value never
   * costs another call its reply.
   */
  #flush(connection: ServerConnection): void {
    connection.scheduled = false;
    const replies = connection.outbox;
    const increfs = connection.increfs;
    const transfer = connection.transfer;
    const replyDetails = connection.details;
    if (replies.length === 0) return;
    connection.outbox = [];
    connection.increfs = [];
    connection.details = [];
    if (transfer.length) connection.transfer = [];
    if (connection.closed) return;
    try {
      if (replies.length === 1) connection.port.postMessage(replies[0], transfer);
      else connection.port.postMessage(replies, transfer);
      return;
    } catch {
      // fall through: find the replies that cannot be cloned
    }
    replies.forEach((reply, index) => {
      try {
        connection.port.postMessage(
          reply,
          transfer.filter((item) => containsTransferable(reply, item)),
        );
      } catch (error) {
        const taken = increfs[index];
        if (taken) this.#undoIncrefs(connection, taken);
        const details = { ...(reply.e?.details ?? replyDetails[index] ?? {}) };
        connection.port.postMessage({
          rid: reply.rid,
          e: toErrorEnvelope(
            createManagerError(
              ErrorCode.Unserializable,
              `the result could not be sent: ${(error as Error).message}`,
              {
                cause: error,
              },
            ),
            details,
          ),
        });
      }
    });
  }

  /**
   * Calls on server-side proxies (proxies stored inside hosted objects) run in place, in the
   * server's own thread, and resolve with a copy of the result, as a client would get.
   */
  async callLocal(token: Token, method: string, args: readonly unknown[]): Promise<unknown> {
    const entry = this.table.get(token.id);
    if (entry === undefined) throw unknownId(token.id, method);
    if (method === '#getvalue') return structuredClone(entry.object);
    if (method === '#repr') return reprOf(entry.object);
    const fn = (entry.object as Record<string, unknown>)[method];
    if (!entry.type.exposed.includes(method) || typeof fn !== 'function') {
      throw createManagerError(
        ErrorCode.NotExposed,
        `method '${method}' of typeid '${entry.typeid}' is not exposed`,
        {
          details: { typeid: entry.typeid, id: token.id, method },
        },
      );
    }
    return structuredClone(
      await (fn as (...a: unknown[]) => unknown).apply(entry.object, [...args]),
    );
  }

  /** Releases one server-held reference (a server-side proxy was released or collected). */
  releaseLocal(id: number): void {
    if (this.#closing || !this.table.has(id)) return;
    try {
      this.table.decref(id, SERVER_HOLDER, 'server-side proxy released');
    } catch (error) {
      this.table.traceReject(
        `server-side release refused: ${(error as Error).message}`,
        id,
        SERVER_HOLDER,
      );
    }
  }
}

/** The connection of server-side proxies: calls and releases go straight into the server. */
class LocalConnection implements ProxyConnection {
  readonly managerId: string;
  constructor(readonly server: Server) {
    this.managerId = server.managerId;
  }
  get closed(): boolean {
    return false;
  }
  call(
    _proxy: object,
    token: Token,
    method: string,
    args: readonly unknown[],
    _options?: CallOptions,
  ): Promise<unknown> {
    return this.server.callLocal(token, method, args);
  }
  release(id: number): void {
    this.server.releaseLocal(id);
  }
  flushReleases(): Promise<void> {
    return Promise.resolve();
  }
}

function handoffHolder(key: string): string {
  return `handoff:${key}`;
}

function unknownTypeid(typeid: string, known: string[]) {
  return createManagerError(
    ErrorCode.UnknownTypeid,
    `unknown typeid '${typeid}' (registered: ${known.join(', ') || 'none'})`,
    { details: { typeid } },
  );
}

function unknownId(id: number, method: string) {
  return createManagerError(
    ErrorCode.UnknownId,
    `cannot call '${method}' on id ${id}: no such object (it was released or never created)`,
    { details: { id, method } },
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function containsTransferable(reply: Reply, item: TransferListItem): boolean {
  let found = false;
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (found || typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (value === item || (ArrayBuffer.isView(value) && value.buffer === item)) {
      found = true;
      return;
    }
    if (Array.isArray(value)) value.forEach(walk);
    else if (Object.prototype.toString.call(value) === '[object Object]')
      Object.values(value).forEach(walk);
  };
  walk(reply.v);
  return found;
}
