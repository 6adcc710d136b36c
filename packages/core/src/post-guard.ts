import { MessagePort } from 'node:worker_threads';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { NOT_CLONEABLE_KEY } from '@managers/proxy';

/** Marks the `MessagePort.prototype.postMessage` this module installed (once per realm). */
const guardSymbol = Symbol.for('@managers/core/post-guard');
/** Where the thread's connections with releases not posted yet are kept (see {@link pendingReleases}). */
const pendingSymbol = Symbol.for('@managers/core/pending-releases');

/** A connection whose releases wait for their flush (client-connection.ts). */
export interface PendingReleases {
  /** Posts the releases now. */
  flushReleasesNow(): void;
}

/**
 * The connections of this thread whose releases are not posted yet. One set per thread, kept
 * on `MessagePort.prototype` (which every copy of this module in the thread shares, as it
 * shares the guard below), so that the guard installed by one copy sees the connections of all.
 */
export function pendingReleases(): Set<PendingReleases> {
  const prototype = MessagePort.prototype as unknown as Record<symbol, Set<PendingReleases>>;
  let pending = prototype[pendingSymbol];
  if (pending === undefined) {
    pending = new Set();
    Object.defineProperty(prototype, pendingSymbol, { value: pending });
  }
  return pending;
}

/**
 * Makes posting a proxy *as it is* fail with an error a user can act on. A proxy in raw
 * `workerData` (`new Worker(file, { workerData: { proxy } })`), `port.postMessage(proxy)`,
 * `worker.postMessage(proxy)` or `parentPort.postMessage(proxy)` cannot be structured-cloned,
 * and Node's own error says only `DataCloneError: #<Object> could not be cloned.` All of
 * these go through `MessagePort.prototype.postMessage` (a Worker posts its `workerData` on its
 * internal port), so this wraps that method: when it throws a DataCloneError and the value
 * holds a proxy, the error becomes an `ERR_PROXY_NOT_ENCODED` ManagerError (with Node's error
 * as its `cause`) telling to use `createWorker`, `postMessage` or `encode`.
 *
 * It also posts this thread's pending releases first (a connection leaves a release alone for
 * the end of the event loop's turn): anything the thread posts after releasing a proxy (a
 * reply, a "done") leaves after the release, so a thread that hears of it and asks the server
 * sees the release, as it would have in Python, where `del proxy` waits for the decref.
 */
export function installPostGuard(): void {
  const prototype = MessagePort.prototype as unknown as Record<PropertyKey, unknown>;
  const original = prototype.postMessage as (...args: unknown[]) => void;
  if ((original as unknown as Record<symbol, unknown>)[guardSymbol] === true) return;
  const pending = pendingReleases();
  const postMessage = function postMessage(this: MessagePort, ...args: unknown[]): void {
    // A connection leaves the set before it posts, so its own post finds it gone.
    if (pending.size !== 0) for (const connection of [...pending]) connection.flushReleasesNow();
    try {
      return Reflect.apply(original, this, args);
    } catch (error) {
      throw explainCloneError(error, args[0]);
    }
  };
  Object.defineProperty(postMessage, guardSymbol, { value: true });
  Object.defineProperty(MessagePort.prototype, 'postMessage', {
    value: postMessage,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** The error to throw for `error`, raised while posting `value`. */
function explainCloneError(error: unknown, value: unknown): unknown {
  if ((error as { name?: unknown } | null)?.name !== 'DataCloneError') return error;
  let found: string | undefined;
  try {
    found = findProxy(value, new Set(), 0);
  } catch {
    return error;
  }
  if (found === undefined) return error;
  return createManagerError(
    ErrorCode.ProxyNotEncoded,
    `${found} was posted as it is (in raw workerData or a raw postMessage), which cannot carry a proxy: ` +
      'use createWorker(file, { workerData }), postMessage(target, value) or encode(value) from @managers/core, ' +
      'which hand the proxy off to the receiving thread (decode() it there); for a Piscina pool, ManagedPool ' +
      '(or runTask(pool, task)) from @managers/piscina',
    { cause: error, details: { proxy: found } },
  );
}

/**
 * The description of a proxy inside `value`, if any. A proxy is recognised by the own property
 * every BaseProxy carries (an AutoProxy answers `in` for its target), not by `instanceof`: this
 * wrapper is installed once per thread, and under jest each test file has its own copy of the
 * proxy classes.
 */
function findProxy(value: unknown, seen: Set<object>, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null || depth > 64 || seen.has(value)) return;
  seen.add(value);
  if (NOT_CLONEABLE_KEY in value) return String(value);
  const items: Iterable<unknown> =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set || Array.isArray(value)
        ? value
        : Object.values(value);
  for (const item of items) {
    const found = findProxy(item, seen, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
