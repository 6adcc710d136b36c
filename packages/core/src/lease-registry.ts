import { isProxy, toBaseProxy } from '@managers/proxy';

/** What a borrowed proxy's lease does before the proxy is used, kept, or sent on. */
export interface LeaseHandle {
  /** Posts the `borrow` of the lease (once), before anything that uses its ids. */
  ensureBorrowed(): void;
  /** Takes a reference of this thread's own to `id` (a borrowed proxy that outlives its task). */
  keep(id: number): void;
}

/** Borrowed proxies' BaseProxy targets → their lease (one entry per proxy: a task makes many). */
const leases = new WeakMap<object, LeaseHandle>();

/** Records that `proxy` was borrowed under `lease`. */
export function setLease(proxy: object, lease: LeaseHandle): void {
  leases.set(isProxy(proxy) ? toBaseProxy(proxy) : proxy, lease);
}

/** The lease of a borrowed proxy, or undefined for a proxy that owns its reference. */
export function leaseOf(proxy: object): LeaseHandle | undefined {
  return leases.get(isProxy(proxy) ? toBaseProxy(proxy) : proxy);
}
