import { createManagerError, ErrorCode } from '@managers/refcount';
import { BaseProxy } from './base-proxy';
import { proxySymbol, proxyTargetSymbol } from './symbols';
import type { CallOptions, Token } from './token';

/** True when `value` is a @managers proxy (an AutoProxy or a custom BaseProxy), from any realm. */
export function isProxy(value: unknown): value is BaseProxy {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [proxySymbol]?: unknown })[proxySymbol] === true
  );
}

/** The BaseProxy behind `proxy` (an AutoProxy's target, or the proxy itself). */
export function toBaseProxy(proxy: unknown, what = 'proxy'): BaseProxy {
  const target = isProxy(proxy)
    ? (proxy as { [proxyTargetSymbol]?: unknown })[proxyTargetSymbol]
    : undefined;
  if (!(target instanceof BaseProxy)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${what} must be a @managers proxy, got ${describeValue(proxy)}`,
    );
  }
  return target;
}

/** Releases `proxy`'s reference now (same as `proxy[Symbol.dispose]()`). Idempotent. */
export function release(proxy: object): void {
  toBaseProxy(proxy)[Symbol.dispose]();
}

/** The token of `proxy`: manager, id, typeid, exposed methods. */
export function tokenOf(proxy: object): Token {
  return toBaseProxy(proxy).token;
}

/** Calls a method by name, with per-call options (Python's `_callmethod`). */
export function callMethod(
  proxy: object,
  method: string,
  args: readonly unknown[] = [],
  options?: CallOptions,
): Promise<unknown> {
  try {
    // (BaseProxy.callMethod checks the options.)
    return toBaseProxy(proxy).callMethod(method, args, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A copy of the hosted object, by structured clone (Python's `_getvalue()`): what its
 * `[hostedValueSymbol]()` returns when it defines one (a List's items, a Value's value), else
 * the object itself (its own enumerable fields; a class instance arrives as a plain object).
 */
export function getValue<T = unknown>(proxy: object, options?: CallOptions): Promise<T> {
  return callMethod(proxy, '#getvalue', [], options) as Promise<T>;
}

/** The hosted object's text as the server's `debugInfo` shows it (Python's `str(proxy)`). */
export function remoteRepr(proxy: object, options?: CallOptions): Promise<string> {
  return callMethod(proxy, '#repr', [], options) as Promise<string>;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} ${String(value)}`;
}
