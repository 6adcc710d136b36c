import { inspect } from 'node:util';
import {
  createManagerError,
  ErrorCode,
  inspectSymbol,
  managerIdSymbol,
  objectIdSymbol,
  withCallerStack,
  type InspectSnapshot,
} from '@managers/refcount';
import type { CallOptions, ProxyConnection, Token } from './token';
import { proxySymbol, proxyTargetSymbol } from './symbols';
import { checkCallOptions } from './call-options';

interface HeldReference {
  readonly connection: ProxyConnection;
  readonly id: number;
}

/**
 * The fallback of R5: a proxy collected without being released gives its reference back.
 * The held value names only the connection and the id, never the proxy itself.
 */
const finalizer = new FinalizationRegistry<HeldReference>((held) => {
  if (!held.connection.closed) held.connection.release(held.id);
});

let watch: (proxy: BaseProxy) => boolean;
let connectionOfProxy: (proxy: object) => ProxyConnection | undefined;

/**
 * The connection `proxy` calls through: for a proxy of this copy of the package (a BaseProxy,
 * or an AutoProxy or view of one), the one it was made with; undefined for anything else (a
 * proxy of another copy, any other value). Its target is read through the cross-copy symbol,
 * with no `instanceof`. Package-internal (used by @managers/core to find a borrowed proxy's
 * lease).
 */
export function connectionOf(proxy: unknown): ProxyConnection | undefined {
  if (typeof proxy !== 'object' || proxy === null) return undefined;
  const target = (proxy as { [proxyTargetSymbol]?: unknown })[proxyTargetSymbol];
  return connectionOfProxy(typeof target === 'object' && target !== null ? target : proxy);
}

/**
 * Makes a proxy whose connection said it owns no reference (`ownsReferences: false`, a
 * borrowed proxy) give one back when it is collected unreleased, as every other proxy does:
 * for a borrowed proxy that takes a reference of its own. Returns false, doing nothing, for a
 * proxy watched already (it owns its one reference) or released. Package-internal (used by
 * @managers/core's `keepBorrowed`).
 */
export function watchCollection(proxy: BaseProxy): boolean {
  return watch(proxy);
}

/**
 * The own property that makes a proxy fail structured clone: a function, which cannot be
 * cloned. Without it a proxy of a custom class would be posted as an empty object and arrive
 * dead; with it, posting a proxy as it is (raw `workerData` or `port.postMessage`) throws, and
 * @managers/core turns that error into one that says to use its `postMessage`/`createWorker`/
 * `encode`. (An AutoProxy, a JS Proxy, fails structured clone by itself.)
 */
export const NOT_CLONEABLE_KEY = '@managers/proxy: post me with encode() from @managers/core';
function notCloneable(): void {}

/**
 * The client-side handle of one reference to a hosted object (Python's `BaseProxy`).
 *
 * Each live proxy owns exactly one reference, counted by the server (R1). Release it with
 * `using`, `proxy[Symbol.dispose]()` or `release(proxy)`; a proxy that is garbage collected
 * unreleased gives its reference back through a FinalizationRegistry. Subclass it to write a
 * custom proxy type whose methods call {@link BaseProxy.callMethod}.
 */
export class BaseProxy implements Disposable, AsyncDisposable {
  readonly #token: Token;
  readonly #connection: ProxyConnection;
  #released = false;
  /** Registered with the finalizer (a proxy that owns a reference). */
  #watched = false;

  static {
    watch = (proxy) => {
      if (proxy.#watched || proxy.#released) return false;
      proxy.#watched = true;
      finalizer.register(proxy, { connection: proxy.#connection, id: proxy.#token.id }, proxy);
      return true;
    };
    connectionOfProxy = (proxy) => (#connection in proxy ? proxy.#connection : undefined);
  }

  /**
   * Adopts the reference the server already took for this proxy (R2): constructing a proxy
   * sends nothing. Only the runtime constructs proxies.
   */
  constructor(token: Token, connection: ProxyConnection) {
    this.#token = token;
    this.#connection = connection;
    // A plain assignment, not defineProperty: every proxy then takes the same fast shape
    // transition (a task makes proxies by the thousand).
    (this as unknown as Record<string, unknown>)[NOT_CLONEABLE_KEY] = notCloneable;
    // A borrowed proxy owns no reference until it is kept (then watchCollection() is called).
    if (connection.ownsReferences !== false) watch(this);
  }

  /** The token of the hosted object: manager, id, typeid, exposed methods. */
  get token(): Token {
    return this.#token;
  }

  /** True once this proxy was released (explicitly or because its manager closed). */
  get released(): boolean {
    return this.#released || this.#connection.closed;
  }

  /**
   * Calls `method` on the hosted object (Python's `_callmethod`). Rejects with
   * `ERR_PROXY_RELEASED` after release, `ERR_NOT_EXPOSED` for a method not exposed, and with
   * the hosted method's own error when it throws.
   */
  callMethod(
    method: string,
    args: readonly unknown[] = [],
    options?: CallOptions,
  ): Promise<unknown> {
    if (options !== undefined) {
      try {
        checkCallOptions(
          options,
          () => `${describe(this.#token)}.callMethod('${method}', args, options)`,
        );
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#released) {
      return Promise.reject(
        createManagerError(
          ErrorCode.ProxyReleased,
          `cannot call '${method}' on ${describe(this.#token)}: the proxy was released`,
          { details: { typeid: this.#token.typeid, id: this.#token.id, method } },
        ),
      );
    }
    return this.#connection
      .call(this, this.#token, method, args, options)
      .then(undefined, withCallerStack);
  }

  /** Gives this proxy's reference back now. Idempotent. */
  [Symbol.dispose](): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#watched) finalizer.unregister(this);
    if (!this.#connection.closed) this.#connection.release(this.#token.id);
  }

  /** Like `[Symbol.dispose]`, and resolves once the release message has been posted. */
  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    await this.#connection.flushReleases();
  }

  /** The object's id, for tools and matchers that take a proxy where an id is expected. */
  get [objectIdSymbol](): number {
    return this.#token.id;
  }

  /** The manager this proxy's object lives in (for the matchers). */
  get [managerIdSymbol](): string {
    return this.#token.manager;
  }

  /** Marks `this` as a proxy across realms. */
  get [proxySymbol](): true {
    return true;
  }

  /** The BaseProxy itself (an AutoProxy forwards this to its target). */
  get [proxyTargetSymbol](): BaseProxy {
    return this;
  }

  /** For the jest matchers: the table of this proxy's manager. */
  [inspectSymbol](): Promise<InspectSnapshot> {
    return this.callMethod('#inspect') as Promise<InspectSnapshot>;
  }

  /** `<AutoProxy[Magnifier] object, typeid 'Magnifier', id 3>` (Python's proxy repr, with the id). */
  toString(): string {
    return `<${this.proxyTypeName} object, typeid '${this.#token.typeid}', id ${this.#token.id}${
      this.released ? ', released' : ''
    }>`;
  }

  /** The name shown by `toString` and `util.inspect`: the class name, or `AutoProxy[typeid]`. */
  get proxyTypeName(): string {
    return this.constructor.name;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  get [Symbol.toStringTag](): string {
    return this.proxyTypeName;
  }
}

/** `'Magnifier id 3'`, for error messages. */
function describe(token: Token): string {
  return `${token.typeid} id ${token.id}`;
}
