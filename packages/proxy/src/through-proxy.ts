import { BaseProxy } from './base-proxy';
import { toBaseProxy } from './functions';
import type { ProxyConnection, Token } from './token';

/** A ProxyConnection that goes through another proxy: its calls and its release are that proxy's. */
class ThroughProxy implements ProxyConnection {
  constructor(readonly inner: BaseProxy) {}
  get managerId(): string {
    return this.inner.token.manager;
  }
  get closed(): boolean {
    return this.inner.released;
  }
  call(
    _proxy: object,
    _token: unknown,
    method: string,
    args: readonly unknown[],
    options?: object,
  ): Promise<unknown> {
    return this.inner.callMethod(method, args, options);
  }
  release(): void {
    this.inner[Symbol.dispose]();
  }
  flushReleases(): Promise<void> {
    return this.inner[Symbol.asyncDispose]();
  }
}

/**
 * `proxy` as an instance of the custom proxy class `ProxyClass` (a proxy received with
 * `decode()` in a thread whose connection does not know that class is a plain AutoProxy). The
 * result goes through `proxy` and takes its reference over: release one or the other, not both.
 * A proxy that is an instance already is returned as it is.
 */
export function proxyOfClass<P extends BaseProxy>(
  proxy: object,
  ProxyClass: new (token: Token, connection: ProxyConnection) => P,
): P {
  const base = toBaseProxy(proxy);
  if (base instanceof ProxyClass) return base;
  return new ProxyClass(base.token, new ThroughProxy(base));
}
