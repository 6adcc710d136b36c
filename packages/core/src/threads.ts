import { isMainThread, threadId } from 'node:worker_threads';
import type { ClientConnection } from './client-connection';

/**
 * This thread's connections, one per manager (keyed by manager id). Kept on globalThis under a
 * `Symbol.for` key so that two copies of this module in one thread (source and dist, or jest's
 * module registry) still share one connection per manager.
 */
const registryKey = Symbol.for('@managers/core/connections');
type Registry = { connections: Map<string, ClientConnection>; nextKey: number };
const registry: Registry = ((globalThis as Record<symbol, unknown>)[registryKey] ??= {
  connections: new Map<string, ClientConnection>(),
  nextKey: 1,
}) as Registry;

/** The connection this thread has to `managerId`, if any. */
export function connectionFor(managerId: string): ClientConnection | undefined {
  const connection = registry.connections.get(managerId);
  return connection !== undefined && !connection.closed ? connection : undefined;
}

/** Records `connection` as this thread's connection to its manager. */
export function setConnection(connection: ClientConnection): void {
  registry.connections.set(connection.managerId, connection);
}

/** Forgets `connection` (it closed). */
export function forgetConnection(connection: ClientConnection): void {
  if (registry.connections.get(connection.managerId) === connection)
    registry.connections.delete(connection.managerId);
}

/** How this thread names itself to servers: `main` or `thread-<threadId>`. */
export function threadLabel(): string {
  return isMainThread ? 'main' : `thread-${threadId}`;
}

/** A connection key unique in the process: this thread's label and a counter. */
export function newConnectionKey(): string {
  return `${threadLabel()}>${registry.nextKey++}`;
}
