import { connectionOf } from '@managers/proxy';

/** What a borrowed proxy's lease does before the proxy is used, kept, or sent on. */
export interface LeaseHandle {
  /** Posts the `borrow` of the lease (once), before anything that uses its ids. */
  ensureBorrowed(): void;
  /** Takes a reference of this thread's own to `id` (a borrowed proxy that outlives its task). */
  keep(id: number): void;
}

/** Brands a lease's connection (LeaseHandle), which is the connection its proxies call through. */
export const leaseSymbol = Symbol('@managers/core/lease');

/**
 * The lease of a borrowed proxy (the connection it was made with, when that is a lease), or
 * undefined for a proxy that owns its reference. No table: a task makes proxies by the
 * thousand, and a WeakMap entry per proxy costs the garbage collector more than the proxy.
 */
export function leaseOf(proxy: unknown): LeaseHandle | undefined {
  const connection = connectionOf(proxy) as Partial<Record<symbol, unknown>> | undefined;
  return connection?.[leaseSymbol] === true ? (connection as unknown as LeaseHandle) : undefined;
}
