import { proxyTargetSymbol } from '@managers/proxy';

/** What a borrowed proxy's lease does before the proxy is used, kept, or sent on. */
export interface LeaseHandle {
  /** Posts the `borrow` of the lease (once), before anything that uses its ids. */
  ensureBorrowed(): void;
  /** Takes a reference of this thread's own to `id` (a borrowed proxy that outlives its task). */
  keep(id: number): void;
}

/** Borrowed proxies' BaseProxy targets → their lease (one entry per proxy: a task makes many). */
const leases = new WeakMap<object, LeaseHandle>();

/**
 * The BaseProxy behind `proxy` (an AutoProxy's target), or `proxy` itself. Read through the
 * cross-copy symbol, with no `instanceof`: a proxy of another copy of @managers/proxy (a dual
 * ESM/CommonJS install) is simply not in this registry, rather than an error.
 */
function registryKey(proxy: object): object {
  const target = (proxy as { [proxyTargetSymbol]?: unknown })[proxyTargetSymbol];
  return typeof target === 'object' && target !== null ? target : proxy;
}

/** Records that `proxy` was borrowed under `lease`. */
export function setLease(proxy: object, lease: LeaseHandle): void {
  leases.set(registryKey(proxy), lease);
}

/** The lease of a borrowed proxy, or undefined for a proxy that owns its reference. */
export function leaseOf(proxy: object): LeaseHandle | undefined {
  return leases.get(registryKey(proxy));
}
