import { inspect } from 'node:util';
import type { TransferListItem } from '@managers/proxy';
import {
  createManagerError,
  ErrorCode,
  reprOf,
  SERVER_HOLDER,
  type EntryInfo,
  type InspectSnapshot,
} from '@managers/refcount';
import {
  createAutoProxy,
  decodeValue,
  encodeValue,
  transferAll,
  PROXY_ENVELOPE_KEY,
  type BaseProxy,
  type ProxyEnvelope,
  type Token,
} from '@managers/proxy';
import {
  FALLBACK_METHODS,
  type CallRequest,
  type CreateRequest,
  type WireToken,
} from '../protocol';
import { isLargerThan, messageTooLarge } from '../message-size';
import { serverReferences } from '../references';
import { invokeCallable } from '../registration';
import { mayUse, mayUseEntry } from './authority';
import { runAsCall } from './call-context';
import type { ServerConnection } from './connection';
import type { RegisteredType, ServerContext } from './context';
import { ServerErrors } from './errors';
import { hostedValueOf } from './hosted-value';

/**
 * Creates objects and dispatches calls. Every call names an object through a reference the
 * calling connection holds (least authority): an id it does not hold is answered as if it did
 * not exist, and so is a proxy argument it does not hold.
 */
export class Dispatcher {
  constructor(private readonly context: ServerContext) {}

  create(connection: ServerConnection, request: CreateRequest): void {
    const { rid, typeid } = request;
    const registered = this.context.registry.get(typeid);
    if (registered === undefined) {
      return connection.replyError(
        rid,
        ServerErrors.unknownTypeid(typeid, [...this.context.registry.keys()]),
        { typeid },
      );
    }
    let made: unknown;
    try {
      const args = this.#decodeArgs(connection, request.args, `create ${typeid}`);
      made = runAsCall(connection, rid, () => invokeCallable(registered.registration, args));
    } catch (error) {
      return connection.replyError(rid, error, { typeid });
    }
    this.#hostAndReply(connection, rid, registered, made, `create ${typeid}`, { typeid });
  }

  call(connection: ServerConnection, request: CallRequest): void {
    const { rid, id, method } = request;
    if (request.s === 1) connection.sync?.expect(rid);
    if (method.charCodeAt(0) === 35 /* '#' */) return this.#fallback(connection, request);
    const table = this.context.table;
    const entry = table.get(id);
    if (entry === undefined || !mayUseEntry(entry, connection))
      return connection.replyError(rid, ServerErrors.notHeld(id, method), { id, method });
    const details = { typeid: entry.typeid, id, method };
    if (!entry.type.exposed.includes(method)) {
      return connection.replyError(
        rid,
        ServerErrors.notExposed(entry.typeid, id, method, entry.type.exposed),
        details,
      );
    }
    const target = entry.typeid;
    const methodToTypeid = entry.type.methodToTypeid;
    const returnsProxy = Object.prototype.hasOwnProperty.call(methodToTypeid, method)
      ? methodToTypeid[method]
      : undefined;
    let result: unknown;
    try {
      const fn = (entry.object as Record<string, unknown>)[method];
      if (typeof fn !== 'function') throw ServerErrors.notAFunction(target, id, method, typeof fn);
      const args = this.#decodeArgs(connection, request.args, `${target}.${method}()`);
      result = runAsCall(connection, rid, () =>
        (fn as (...a: unknown[]) => unknown).apply(entry.object, args),
      );
    } catch (error) {
      return connection.replyError(rid, error, details);
    }
    const finish =
      returnsProxy === undefined
        ? this.context.registry.get(target)?.registration.transferResults.has(method)
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
      result.then(finish, (error: unknown) => connection.replyError(rid, error, details));
    } else {
      finish(result);
    }
  }

  /**
   * Python's fallbacks. The table-wide views (`#debug`, `#inspect`) show the owner everything;
   * any other connection sees only the objects it holds (and only its own count of them).
   */
  #fallback(connection: ServerConnection, request: CallRequest): void {
    const { rid, id, method } = request;
    const table = this.context.table;
    if (method === '#export' && id === 0) {
      try {
        return connection.queue({
          rid,
          v: this.context.exportReferences(connection, request.args[0], request.args[1]),
        });
      } catch (error) {
        return connection.replyError(rid, error);
      }
    }
    if (!FALLBACK_METHODS.has(method))
      return connection.replyError(rid, ServerErrors.reservedName(id, method));
    if (method === '#inspect' || method === '#debug') {
      const entries = connection.owner ? table.entries() : this.#ownEntries(connection);
      if (method === '#debug') return connection.queue({ rid, v: entries });
      // Only the owner sees the trace; for anyone else every event is missed.
      const trace = connection.owner ? table.trace() : [];
      const snapshot: InspectSnapshot = {
        name: table.name,
        entries,
        trace,
        traceMissed: table.traceSeq - trace.length,
        managerId: this.context.managerId,
      };
      return connection.queue({ rid, v: snapshot });
    }
    if (method === '#count') return connection.queue({ rid, v: table.numberOfObjects() });
    if (method === '#refs') {
      // The owner sees the whole graph; another connection only the edges of what it holds.
      const references = serverReferences(table, this.context.managerId);
      return connection.queue({
        rid,
        v: connection.owner
          ? references
          : references.filter((edge) => table.countOf(edge.from, connection.holder) > 0),
      });
    }
    const entry = table.get(id);
    if (entry === undefined || !mayUseEntry(entry, connection))
      return connection.replyError(rid, ServerErrors.notHeld(id, method), { id, method });
    const details = { typeid: entry.typeid, id, method };
    if (method === '#repr') return connection.queue({ rid, v: reprOf(entry.object) });
    // '#getvalue': the object's own value when it says what that is (a hook that throws
    // answers with its error).
    let value: unknown;
    try {
      value = hostedValueOf(entry.object);
    } catch (error) {
      return connection.replyError(rid, error, details);
    }
    return this.#replyValue(connection, rid, value, details);
  }

  #ownEntries(connection: ServerConnection) {
    const table = this.context.table;
    const ids = [...table.heldBy(connection.holder).keys()].sort((a, b) => a - b);
    return ids.flatMap((id) => {
      const entry = table.get(id);
      if (entry === undefined) return [];
      const count = table.countOf(id, connection.holder);
      return [
        {
          id,
          typeid: entry.typeid,
          refcount: entry.refcount,
          holders: { [connection.holder]: count },
          repr: reprOf(entry.object),
        },
      ];
    });
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
        connection.queue({ rid, p: this.wireToken(id) });
      } catch (error) {
        connection.replyError(rid, error, details);
      }
    };
    // Only a real promise is awaited: a hosted object may well have a `then` method.
    if (made instanceof Promise)
      made.then(finish, (error: unknown) => connection.replyError(rid, error, details));
    else finish(made);
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
    return this.context.table.register(object, registered.types.for(object), holder, cause);
  }

  /** The token of `id` as the server describes it (never as a client described it). */
  wireToken(id: number): WireToken {
    const entry = this.context.table.get(id) as EntryInfo;
    const token: WireToken = {
      id,
      typeid: entry.typeid,
      exposed: entry.type.exposed,
      methodToTypeid: entry.type.methodToTypeid,
    };
    const proxytype = this.context.registry.get(entry.typeid)?.registration.proxytype;
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
    const registered = this.context.registry.get(typeid);
    if (registered === undefined)
      return connection.replyError(
        rid,
        ServerErrors.unknownTypeid(typeid, [...this.context.registry.keys()]),
        details,
      );
    let made: unknown;
    try {
      made =
        registered.registration.callable === null
          ? value
          : invokeCallable(registered.registration, [value]);
    } catch (error) {
      return connection.replyError(rid, error, details);
    }
    this.#hostAndReply(connection, rid, registered, made, cause, details);
  }

  #replyValue(
    connection: ServerConnection,
    rid: number,
    value: unknown,
    details: Record<string, unknown>,
  ): void {
    const limit = this.context.maxMessageSize;
    if (typeof value !== 'object' || value === null) {
      if (typeof value === 'string' && value.length * 2 > limit)
        return connection.replyError(rid, this.#tooLarge(limit, details), details);
      return connection.queue({ rid, v: value }, undefined, undefined, details);
    }
    if (isLargerThan([value], limit))
      return connection.replyError(rid, this.#tooLarge(limit, details), details);
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
      this.undoIncrefs(connection, increfs);
      return connection.replyError(rid, error, details);
    }
    connection.queue({ rid, v: encoded }, transfer, increfs.length ? increfs : undefined, details);
  }

  #tooLarge(limit: number, details: Record<string, unknown>) {
    const what =
      details.method === undefined
        ? 'the value'
        : details.typeid === undefined
          ? `the result of ${String(details.method)}`
          : `the result of ${String(details.typeid)}.${String(details.method)}()`;
    return messageTooLarge(`${what} is`, limit, details);
  }

  /** A proxy held by a hosted object goes back to a client: the client's connection gets its own reference. */
  #encodeServerProxy(
    proxy: BaseProxy,
    connection: ServerConnection,
    increfs: number[],
    details: Record<string, unknown>,
  ): ProxyEnvelope {
    const token = proxy.token;
    if (token.manager !== this.context.managerId || proxy.released) {
      throw createManagerError(
        ErrorCode.Unserializable,
        `cannot return ${String(proxy)} from ${String(details.typeid)}.${String(details.method)}(): ${
          proxy.released ? 'it was released' : 'it belongs to another manager'
        }`,
        { details },
      );
    }
    this.context.table.incref(
      token.id,
      connection.holder,
      `returned by ${String(details.typeid)}.${String(details.method)}()`,
    );
    increfs.push(token.id);
    return { [PROXY_ENVELOPE_KEY]: 1, token };
  }

  undoIncrefs(connection: ServerConnection, increfs: readonly number[]): void {
    const table = this.context.table;
    for (const id of increfs) {
      if (table.countOf(id, connection.holder) > 0)
        table.decref(id, connection.holder, 'reply not sent');
    }
  }

  /**
   * Arguments may carry proxies of this manager (`map.set('k', listProxy)`): each becomes a
   * server-side proxy whose reference is owned by the server holder. The caller must hold a
   * reference to it (its own proxy is alive: its release, if any, comes later on the same port).
   */
  #decodeArgs(connection: ServerConnection, args: unknown[], cause: string): unknown[] {
    if (args.length === 0) return args;
    return decodeValue(args, (envelope) =>
      this.#serverProxy(connection, envelope, cause),
    ) as unknown[];
  }

  #serverProxy(connection: ServerConnection, envelope: ProxyEnvelope, cause: string): BaseProxy {
    const token = (envelope as { token?: Partial<Token> }).token;
    if (typeof token !== 'object' || token === null || typeof token.id !== 'number') {
      throw createManagerError(
        ErrorCode.BadMessage,
        `a proxy envelope passed to ${cause} has no valid token`,
      );
    }
    if (token.manager !== this.context.managerId) {
      throw createManagerError(
        ErrorCode.Unserializable,
        `a proxy of another manager (${String(token.typeid)} id ${token.id}) cannot be passed to ${cause}`,
        { details: { typeid: token.typeid, id: token.id } },
      );
    }
    const table = this.context.table;
    if (!mayUse(table, connection, token.id)) {
      throw createManagerError(
        ErrorCode.UnknownId,
        `a proxy passed to ${cause} names id ${token.id}, which this connection holds no reference to`,
        { details: { id: token.id } },
      );
    }
    table.incref(token.id, SERVER_HOLDER, `passed to ${cause}`);
    const wire = this.wireToken(token.id);
    const serverToken: Token = {
      manager: this.context.managerId,
      id: wire.id,
      typeid: wire.typeid,
      exposed: wire.exposed,
      methodToTypeid: wire.methodToTypeid,
      ...(wire.proxytype === undefined ? {} : { proxytype: wire.proxytype }),
    };
    return createAutoProxy(serverToken, this.context.local);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
