/**
 * The calling thread's identity, as hosted sync objects see it (client side).
 *
 * Every owner-aware call (acquire, release, wait, get, put, …) carries an {@link OwnerContext}:
 * the thread's owner id, a fresh wait id (to cancel that one call) and, on the first call of
 * the thread to a manager, a MessagePort: the server keeps it, and when this thread ends
 * (normally, `terminate()` or a crash) the port closes and the server releases what the
 * thread held and drops its waiters. The thread's end of the port is unref'd: it never keeps
 * the thread alive.
 */
import { randomUUID } from 'node:crypto';
import { MessageChannel, threadId, type MessagePort } from 'node:worker_threads';

/** What an owner-aware call sends as its first argument. */
export interface OwnerContext {
  /** The thread's owner id: `threadId` plus a random nonce. */
  readonly owner: string;
  /** A unique id of this call, for `cancel(wait)`. */
  readonly wait: string;
  /** Sent once per thread and manager: closes when the thread ends. */
  readonly port?: MessagePort;
}

interface OwnerState {
  readonly id: string;
  next: number;
  /** This thread's end of the liveness channel, per manager id. */
  readonly ports: Map<string, MessagePort>;
}

/** On globalThis under a Symbol.for key: two copies of this module in a thread share it. */
const stateKey = Symbol.for('@managers/sync/owner');
const state: OwnerState = ((globalThis as Record<symbol, unknown>)[stateKey] ??= {
  id: `thread-${threadId}:${randomUUID().slice(0, 8)}`,
  next: 1,
  ports: new Map<string, MessagePort>(),
}) as OwnerState;

/** This thread's owner id. */
export function ownerId(): string {
  return state.id;
}

/** The context of one owner-aware call to the manager `managerId`. */
export function ownerContext(managerId: string): OwnerContext {
  const wait = `${state.id}#${state.next++}`;
  if (state.ports.has(managerId)) return { owner: state.id, wait };
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  state.ports.set(managerId, port1);
  return { owner: state.id, wait, port: port2 };
}
