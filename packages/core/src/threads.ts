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
 * A connection key: 132 random bits (22 base64url characters). A key is a capability (whoever
 * knows it can claim the references of a handoff, or name a connection), so it is never
 * predictable and never shown.
 */
export function newConnectionKey(): string {
  // One call to the random source and one encoding per 256 keys: each costs as much as a whole
  // handoff. 18 bytes are 24 characters, so each key is cut from whole characters: 22 of them,
  // 6 random bits each.
  if (keyOffset === KEYS_PER_POOL) {
    randomFillSync(KEY_POOL);
    keyChars = KEY_POOL.toString('base64url');
    keyOffset = 0;
  }
  const start = keyOffset++ * 24;
  return keyChars.substring(start, start + 22);
}

const KEYS_PER_POOL = 256;
const KEY_POOL = Buffer.alloc(18 * KEYS_PER_POOL);
let keyChars = '';
let keyOffset = KEYS_PER_POOL;

/** The managers this thread has an open connection to. */
export function connectedManagers(): string[] {
  return [...registry.connections.values()].filter((c) => !c.closed).map((c) => c.managerId);
}
