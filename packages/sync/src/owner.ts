/**
 * The context of an owner-aware call (client side).
 *
 * Every owner-aware call (acquire, release, wait, get, put, …) sends a {@link CallContext}
 * first: a wait id, so that the thread can cancel that one call. The owner is not in it: the
 * server takes it from the connection the call arrives on (one identity per connection, which
 * no client can choose), and learns that a thread ended when its connection closes.
 */
import { threadId } from 'node:worker_threads';

/**
 * The key that marks a call context. A plain proxy (an AutoProxy, in a thread that did not
 * load this package) sends the caller's own first argument where the context goes: the
 * server takes only an object carrying this key as a context, so that `put({ job: 1 })` is
 * refused rather than misread. A string key on a plain object, as structured cloning keeps
 * it (it drops a symbol key and a class's prototype).
 */
export const CALL_CONTEXT = '@managers/sync/call-context';

/** What an owner-aware call sends as its first argument. */
export interface CallContext {
  readonly [CALL_CONTEXT]: 1;
  /** An id of this call, for `cancel(wait)`; the server scopes it to the caller's connection. */
  readonly wait: string;
}

interface WaitState {
  next: number;
}

/** On globalThis under a Symbol.for key: two copies of this module in a thread share it. */
const stateKey = Symbol.for('@managers/sync/wait-ids');
const state: WaitState = ((globalThis as Record<symbol, unknown>)[stateKey] ??= {
  next: 1,
}) as WaitState;

/** The context of one owner-aware call. */
export function callContext(): CallContext {
  return { [CALL_CONTEXT]: 1, wait: `${threadId}#${state.next++}` };
}
