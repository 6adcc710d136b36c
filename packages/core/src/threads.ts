import { randomFillSync } from 'node:crypto';
import { isMainThread, threadId } from 'node:worker_threads';
import type { ClientConnection } from './client-connection';

/**
 * This thread's connections, one per manager (keyed by manager id). Kept on globalThis under a
 * `Symbol.for` key so that two copies of this module in one thread (source and dist, or jest's
 * module registry) still share one connection per manager.
 */
const registryKey = Symbol.for('@managers/core/connections');
type Registry = { connections: Map<string, ClientConnection> };
const registry: Registry = ((globalThis as Record<symbol, unknown>)[registryKey] ??= {
  connections: new Map<string, ClientConnection>(),
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

/**
 * A connection key: 128 random bits. A key is a capability (whoever knows it can claim the
 * references of a handoff, or name a connection), so it is never predictable and never shown.
 */
export function newConnectionKey(): string {
  // One call to the random source per 256 keys: a call costs as much as a whole handoff.
  if (keyOffset === KEY_POOL.length) {
    randomFillSync(KEY_POOL);
    keyOffset = 0;
  }
  const key = KEY_POOL.toString('base64url', keyOffset, keyOffset + 16);
  keyOffset += 16;
  return key;
}

const KEY_POOL = Buffer.alloc(16 * 256);
let keyOffset = KEY_POOL.length;

/** The managers this thread has an open connection to. */
export function connectedManagers(): string[] {
  return [...registry.connections.values()].filter((c) => !c.closed).map((c) => c.managerId);
}
