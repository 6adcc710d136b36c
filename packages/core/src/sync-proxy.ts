import { createManagerError, ErrorCode } from '@managers/refcount';
import {
  isProxy,
  proxySymbol,
  toBaseProxy,
  callOptionsSymbol,
  checkCallOptions,
  isProbedName,
  notExposedError,
  type BaseProxy,
  type CallOptions,
  type Token,
} from '@managers/proxy';
import { callSync, isServerThread } from './sync-channel';
import { leaseOf } from './lease-registry';
import { connectionFor } from './threads';

/** Brands a synchronous proxy (across module copies). */
export const syncProxySymbol: unique symbol = Symbol.for('@managers/sync-proxy');

/**
 * A custom proxy class (a subclass of `BaseProxy`) gives its synchronous form by implementing
 * this method: `syncProxy(proxy)` calls it with a {@link SyncCaller} and returns what it
 * returns. Without it, the synchronous form has the token's exposed methods, as an AutoProxy.
 */
export const syncFormSymbol: unique symbol = Symbol.for('@managers/sync-form');

/** What a custom proxy class's synchronous form calls through (see {@link syncFormSymbol}). */
export interface SyncCaller {
  /** The proxy whose reference the synchronous form shares. */
  readonly proxy: BaseProxy;
  /**
   * Calls `method` and blocks until the reply: returns the result or throws its error. A
   * `methodToTypeid` method returns a synchronous proxy. `options` add to the form's own.
   */
  call(method: string, args?: readonly unknown[], options?: CallOptions): unknown;
}

type SyncResult<R> = R extends BaseProxy ? SyncRemote<R> : R;

/**
 * The type of a synchronous proxy made from a proxy of type `P` (an AutoProxy's
 * `Remote<T>` or `ProxyOf<…>`): every method returning `Promise<R>` returns `R` instead (a proxy
 * `R` becomes `SyncRemote<R>`); other members (`token`, `released`, `Symbol.dispose`) are the
 * proxy's own.
 */
export type SyncRemote<P> = {
  readonly [K in keyof P]: K extends string
    ? P[K] extends (...args: infer A) => Promise<infer R>
      ? (...args: A) => SyncResult<R>
      : P[K]
    : P[K];
};

/** What `syncProxy(proxy)` returns: a custom class's synchronous form, or `SyncRemote<P>`. */
export type SyncProxyOf<P> = P extends { [syncFormSymbol](caller: SyncCaller): infer F }
  ? F
  : SyncRemote<P>;

const NEVER_EXPOSED = new Set([
  'then',
  'constructor',
  'toString',
  'valueOf',
  'toJSON',
  'toLocaleString',
]);

/** Calls through the thread's connection to the proxy's manager, blocking. */
function makeCaller(target: BaseProxy, options: CallOptions | undefined): SyncCaller {
  const token: Token = target.token;
  return {
    proxy: target,
    call(method: string, args: readonly unknown[] = [], more?: CallOptions): unknown {
      if (more !== undefined)
        checkCallOptions(more, () => `${token.typeid}.callMethod('${method}', args, options)`);
      if (target.released) {
        throw createManagerError(
          ErrorCode.ProxyReleased,
          `cannot call '${method}' on ${token.typeid} id ${token.id}: the proxy was released`,
          { details: { typeid: token.typeid, id: token.id, method } },
        );
      }
      const connection = connectionFor(token.manager);
      if (connection === undefined) {
        throw createManagerError(
          ErrorCode.ManagerClosed,
          `cannot call ${token.typeid}.${method}(): this thread has no open connection to manager ${token.manager}`,
          { details: { manager: token.manager, typeid: token.typeid, id: token.id, method } },
        );
      }
      // A proxy lent to this thread for a task: the server must know of the borrow first.
      leaseOf(target)?.ensureBorrowed();
      const result = callSync(
        connection,
        token,
        method,
        args,
        more === undefined ? options : { ...options, ...more },
      );
      return token.methodToTypeid[method] !== undefined && isProxy(result)
        ? syncProxy(result, options)
        : result;
    },
  };
}

function makeHandler(
  exposed: ReadonlySet<string>,
  caller: SyncCaller,
  options: CallOptions | undefined,
): ProxyHandler<BaseProxy> {
  const methods = new Map<PropertyKey, unknown>();
  return {
    get(target, property) {
      const cached = methods.get(property);
      if (cached !== undefined) return cached;
      if (typeof property === 'string' && exposed.has(property)) {
        const method = (...args: unknown[]) => caller.call(property, args);
        methods.set(property, method);
        return method;
      }
      if (property === 'callMethod') {
        const method = (name: string, args?: readonly unknown[], options?: CallOptions) =>
          caller.call(name, args, options);
        methods.set(property, method);
        return method;
      }
      if (property === syncProxySymbol) return true;
      if (property === callOptionsSymbol) return options;
      if (property === 'then') return undefined;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value === 'function') {
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        methods.set(property, bound);
        return bound;
      }
      if (
        value === undefined &&
        typeof property === 'string' &&
        !NEVER_EXPOSED.has(property) &&
        !isProbedName(property) &&
        !(property in target)
      ) {
        // As an AutoProxy does (but throwing: the call is synchronous), instead of
        // `TypeError: proxy.secret is not a function`.
        const method = () => {
          throw notExposedError(target.token, property);
        };
        methods.set(property, method);
        return method;
      }
      return value;
    },
    has(target, property) {
      return (
        (typeof property === 'string' && exposed.has(property)) || Reflect.has(target, property)
      );
    },
    set() {
      return false;
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    },
  };
}

/**
 * The synchronous form of `proxy`: its methods block the calling thread until the server
 * replies (`Atomics.wait`), then return the result or throw the call's error, with the same
 * `code`, `cause` and `remoteStack` as the async form. Use it where code cannot await (a
 * synchronous API being implemented, a hot synchronous loop).
 *
 * - **Same reference.** The synchronous proxy shares `proxy`'s reference: it takes no new one.
 *   Releasing either (`release()`, `Symbol.dispose`) releases both, once.
 * - **Order.** A synchronous call leaves after the thread's queued async calls and releases,
 *   on the same connection: the server runs them in program order.
 * - **Proxies.** A `methodToTypeid` method returns a synchronous proxy (owning its own
 *   reference, as the async form's result would).
 * - **Options.** `options` (or those of a `withCallOptions` view given as `proxy`) apply to
 *   every call: `timeout` throws `ERR_TIMEOUT`; an already aborted `signal` throws
 *   `ERR_ABORTED` (a signal cannot interrupt a blocked thread). (`withCallOptions()` applied
 *   to a synchronous proxy gives an async view: wrap the other way round.)
 * - **Failures.** A server that goes away wakes the caller with `ERR_MANAGER_CLOSED`: at once
 *   when its thread exits running JavaScript (shutdown, `process.exit()`, an uncaught error),
 *   within 50 ms when it is terminated or runs out of memory (seen by the thread that started
 *   it, which must not itself be blocked). In the manager's own server thread (a hosted object
 *   holding a proxy) it throws `ERR_WOULD_DEADLOCK`: the server could never answer.
 *
 * A custom proxy class gives its own synchronous form through {@link syncFormSymbol} (the
 * `@managers/sync` proxies do: `syncProxy(lock).acquire({ timeout })` blocks).
 */
export function syncProxy<P extends object>(proxy: P, options?: CallOptions): SyncProxyOf<P> {
  const target = toBaseProxy(proxy);
  checkCallOptions(options, 'syncProxy(proxy, options)');
  const manager = target.token.manager;
  if (isServerThread(manager)) {
    throw createManagerError(
      ErrorCode.WouldDeadlock,
      `${String(target)}: a synchronous call from the server thread of its own manager would deadlock (the server cannot answer while blocked); await the proxy's async methods instead`,
      { details: { manager, typeid: target.token.typeid, id: target.token.id } },
    );
  }
  const viewOptions = (proxy as { [callOptionsSymbol]?: CallOptions })[callOptionsSymbol];
  const merged =
    viewOptions === undefined
      ? options
      : options === undefined
        ? viewOptions
        : { ...viewOptions, ...options };
  if ((proxy as { [syncProxySymbol]?: unknown })[syncProxySymbol] === true && options === undefined)
    return proxy as SyncProxyOf<P>;
  const caller = makeCaller(target, merged);
  const form = (target as { [syncFormSymbol]?: (caller: SyncCaller) => unknown })[syncFormSymbol];
  if (typeof form === 'function') return form.call(target, caller) as SyncProxyOf<P>;
  const exposed = new Set(target.token.exposed.filter((name) => !NEVER_EXPOSED.has(name)));
  return new Proxy(target, makeHandler(exposed, caller, merged)) as unknown as SyncProxyOf<P>;
}

/** True when `value` is a synchronous proxy made by {@link syncProxy} (an AutoProxy's form). */
export function isSyncProxy(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [proxySymbol]?: unknown })[proxySymbol] === true &&
    (value as { [syncProxySymbol]?: unknown })[syncProxySymbol] === true
  );
}
