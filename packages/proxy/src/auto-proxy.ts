import { createManagerError, ErrorCode } from '@managers/refcount';
import { BaseProxy } from './base-proxy';
import { toBaseProxy } from './functions';
import { callOptionsSymbol } from './symbols';
import type { CallOptions, ProxyConnection, Token } from './token';
import { checkCallOptions } from './call-options';

/** Names never exposed through an AutoProxy: awaiting a proxy must not see a thenable, and
 * `String(proxy)` must stay local. */
const NEVER_EXPOSED = new Set([
  'then',
  'constructor',
  'toString',
  'valueOf',
  'toJSON',
  'toLocaleString',
]);

/**
 * Names that libraries probe on any object to learn what it is (jest's matchers, React, Node's
 * inspect, promises, Immutable): they read as `undefined` on an AutoProxy, never as a method
 * that is not exposed.
 */
const PROBED = new Set([
  'catch',
  'finally',
  'asymmetricMatch',
  '$$typeof',
  'nodeType',
  'tagName',
  '_isMockFunction',
  'inspect',
  'prototype',
  'length',
  'name',
  '__proto__',
  '@@__IMMUTABLE_ITERABLE__@@',
  '@@__IMMUTABLE_RECORD__@@',
]);

/** True for a name libraries probe on any object (jest, React, util.inspect…): never a method. */
export function isProbedName(name: string): boolean {
  return PROBED.has(name);
}

/**
 * What an AutoProxy gives for a method name it does not expose: a function rejecting with
 * `ERR_NOT_EXPOSED` (as the server would), so that `proxy.secret()` says what is wrong instead
 * of `TypeError: proxy.secret is not a function`.
 */
function notExposed(target: BaseProxy, method: string): () => Promise<never> {
  return () => Promise.reject(notExposedError(target.token, method));
}

/** The `ERR_NOT_EXPOSED` error of a proxy's call of `method` (async and synchronous proxies). */
export function notExposedError(token: Token, method: string): Error {
  return createManagerError(
    ErrorCode.NotExposed,
    `method '${method}' of typeid '${token.typeid}' is not exposed (exposed: ${token.exposed.join(', ') || 'none'})`,
    { details: { typeid: token.typeid, id: token.id, method } },
  );
}

/** The target behind every AutoProxy: a BaseProxy named `AutoProxy[typeid]`. */
class AutoProxyTarget extends BaseProxy {
  /** This proxy's method functions, made on first use (so `proxy.scale === proxy.scale`). */
  methodCache: Map<PropertyKey, unknown> | undefined;

  override get proxyTypeName(): string {
    return `AutoProxy[${this.token.typeid}]`;
  }
}

/**
 * One handler per distinct exposed list, shared by every AutoProxy with that list (tokens
 * arrive as fresh arrays, so the key is their joined names).
 */
const handlers = new Map<string, ProxyHandler<BaseProxy>>();
/**
 * A bound on the shared handlers: a program has a handful of exposed lists, so past this many
 * the lists are not the program's own (forged tokens) and their handlers are not kept.
 */
const MAX_SHARED_HANDLERS = 256;

/** The exposed list of the last handler looked up, and that handler (most proxies a thread makes in a row share a list). */
let lastExposed: readonly string[] = [];
let lastHandler: ProxyHandler<BaseProxy> | undefined;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function sharedHandler(exposed: readonly string[]): ProxyHandler<BaseProxy> {
  if (lastHandler !== undefined && sameNames(exposed, lastExposed)) return lastHandler;
  const key = exposed.join('\0');
  let handler = handlers.get(key);
  if (handler === undefined) {
    handler = makeHandler(exposedSet(exposed), undefined);
    if (handlers.size < MAX_SHARED_HANDLERS) handlers.set(key, handler);
  }
  lastExposed = exposed;
  lastHandler = handler;
  return handler;
}

function exposedSet(exposed: readonly string[]): ReadonlySet<string> {
  return new Set(exposed.filter((name) => !NEVER_EXPOSED.has(name)));
}

function makeHandler(
  exposed: ReadonlySet<string>,
  options: CallOptions | undefined,
): ProxyHandler<BaseProxy> {
  return {
    get(target, property) {
      if (typeof property === 'symbol') {
        // The codec's and the library's own checks (is it a proxy, its target): no method
        // lookup and no cache for them, which most proxies, made for one task, never need.
        if (property === callOptionsSymbol) return options;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
      }
      // Views made by withCallOptions bind their options: they keep no cache.
      const cache =
        options === undefined ? ((target as AutoProxyTarget).methodCache ??= new Map()) : undefined;
      const cached = cache?.get(property);
      if (cached !== undefined) return cached;
      if (typeof property === 'string' && exposed.has(property)) {
        const method = (...args: unknown[]) => target.callMethod(property, args, options);
        cache?.set(property, method);
        return method;
      }
      if (property === 'then') return undefined;
      if (property === callOptionsSymbol) return options;
      // Private fields need `this` to be the target, never the JS Proxy.
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value === 'function') {
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        cache?.set(property, bound);
        return bound;
      }
      if (
        value === undefined &&
        typeof property === 'string' &&
        !PROBED.has(property) &&
        !NEVER_EXPOSED.has(property) &&
        !(property in target)
      ) {
        const method = notExposed(target, property);
        cache?.set(property, method);
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
 * Builds an AutoProxy: a JS `Proxy` whose exposed methods each return a Promise of the
 * remote result. Other properties are those of {@link BaseProxy}; any other method name is a
 * function rejecting with `ERR_NOT_EXPOSED` (`then` and symbols stay `undefined`, so a proxy
 * is never a thenable).
 */
export function createAutoProxy(token: Token, connection: ProxyConnection): BaseProxy {
  const target = new AutoProxyTarget(token, connection);
  return new Proxy(target, sharedHandler(token.exposed));
}

/**
 * A view of `proxy` whose method calls all use `options` (a timeout, an AbortSignal).
 * The view shares the proxy's reference: releasing either releases both.
 */
export function withCallOptions<P extends object>(proxy: P, options: CallOptions): P {
  const target = toBaseProxy(proxy);
  checkCallOptions(options ?? {}, 'withCallOptions(proxy, options)');
  return new Proxy(target, makeHandler(exposedSet(target.token.exposed), options)) as unknown as P;
}
