import { inspect } from 'node:util';
import { threadId } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import Piscina from 'piscina';
import {
  borrow,
  connectedManagers,
  encode,
  keepBorrowed,
  toErrorEnvelope,
  type Borrowed,
} from '@managers/core';
import { toBaseProxy, type BaseProxy } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import {
  proxiesIn,
  TASK_ERROR_KEY,
  reportOf,
  TASK_REPORT_KEY,
  type TaskReport,
  transferableSymbol,
  uniqueTransferList,
  unwrapTransferable,
  valueSymbol,
} from './values';

/** Options of {@link defineTask}. */
export interface TaskOptions {
  /**
   * Release, when the task ends, the proxies the task received and the proxies it returned
   * (after they were handed off to the caller). Default true. Proxies marked with
   * {@link retain} are kept either way. With false, every proxy the task receives is kept
   * (as with `retain()`) until you release it, or the thread ends.
   */
  readonly release?: boolean;
}

const retained = new WeakSet<BaseProxy>();

/** The managers this thread last reported being connected to (see the end of a task). */
let reportedManagers: string | undefined;

/** Marks the functions {@link defineTask} returns (from any copy of this module). */
const taskSymbol = Symbol.for('@managers/piscina/task');

/** True for a function made by {@link defineTask}. */
export function isManagedTask(value: unknown): boolean {
  return typeof value === 'function' && (value as { [taskSymbol]?: unknown })[taskSymbol] === true;
}

/**
 * Keeps `proxy` past the end of the current task: `defineTask` will not release it. For a
 * proxy a task stores for later tasks of the same pool thread (it is then released by you,
 * or when the thread ends). Returns `proxy`.
 */
export function retain<P extends object>(proxy: P): P {
  const target = toBaseProxy(proxy);
  if (!retained.has(target)) {
    retained.add(target);
    // A proxy lent for the task owns no reference: take one of this thread's own.
    keepBorrowed(proxy);
  }
  return proxy;
}

/** The result of a task, in Piscina's transferable protocol (what `Piscina.move()` marks). */
class EncodedResult {
  readonly #value: unknown;
  readonly #transferList: TransferListItem[];

  constructor(value: unknown, transferList: TransferListItem[]) {
    this.#value = value;
    this.#transferList = transferList;
  }

  get [transferableSymbol](): TransferListItem[] {
    return this.#transferList;
  }

  get [valueSymbol](): unknown {
    return this.#value;
  }
}

/**
 * Wraps a task function for a pool thread (`export default defineTask(fn)` in the task file
 * of a `ManagedPool`). Around each call of `fn`:
 *
 * 1. `decode(task)`: proxies in the task become working proxies owning the references the
 *    caller took for them. The first task of a thread makes that thread's connection to the
 *    manager; later tasks' references are adopted into it.
 * 2. `fn(task)`, awaited.
 * 3. `encode(result)`: proxies in the result (received ones, or ones the task created) are
 *    handed off to the caller; they and marked buffers go back in Piscina's transfer list.
 * 4. Unless `release: false`, every proxy received in the task and every proxy returned is
 *    released (the returned ones were handed off in step 3, so the caller keeps its own
 *    reference), except those marked with {@link retain}. The release is posted before the
 *    result leaves, also when `fn` throws.
 *
 * An error thrown by `fn` reaches the caller of `ManagedPool.run()` with its `name`,
 * `message`, `code`, `cause` chain and `remoteStack` (as errors of hosted methods do).
 */
export function defineTask<A = any, R = unknown>(
  fn: (task: A) => R | Promise<R>,
  options: TaskOptions = {},
): (task: unknown) => Promise<unknown> {
  if (typeof fn !== 'function') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `defineTask(fn): fn must be the task function, got ${inspect(fn, { depth: 0 })}`,
      { details: { option: 'fn' } },
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `defineTask(fn, options): options must be an object such as { release: false }, got ${inspect(options)}`,
      { details: { option: 'options' } },
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== 'release') {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `defineTask(fn, options): unknown option '${key}' (the option is release)`,
        { details: { option: 'options', unknown: key } },
      );
    }
  }
  if (options.release !== undefined && typeof options.release !== 'boolean') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `defineTask(fn, options): options.release must be a boolean, got ${inspect(options.release)}`,
      { details: { option: 'release' } },
    );
  }
  const autoRelease = options.release ?? true;
  const managedTask = async function managedTask(raw: unknown): Promise<unknown> {
    let borrowed: Borrowed<A> | undefined;
    let owned: BaseProxy[] = [];
    let outcome: { value: unknown; transferList: TransferListItem[] } | undefined;
    let failure: unknown;
    try {
      borrowed = borrow<A>(raw);
      const task = borrowed.value;
      if (typeof task === 'object' && task !== null) {
        if (autoRelease) owned = proxiesIn(task);
        // Not released at the end: each proxy takes a reference of this thread's own (as
        // retain() does), or it would stop working when the caller's loan ends.
        else for (const proxy of proxiesIn(task)) keepBorrowed(proxy);
      }
      const result = unwrapTransferable(await fn(task));
      const encoded = encode(result.value);
      if (autoRelease && typeof result.value === 'object' && result.value !== null)
        owned.push(...proxiesIn(result.value));
      outcome = {
        value: encoded.value,
        transferList:
          result.transferList.length === 0
            ? encoded.transferList
            : uniqueTransferList([...result.transferList, ...encoded.transferList]),
      };
    } catch (error) {
      failure = error;
    }
    if (owned.length > 0) releaseAll(owned);
    // Borrowed leases go back after everything the task posted (its calls, the handoffs of
    // its result, the keeps of retained proxies), on the same connection; a lease used only
    // by calls, all answered, goes back through the caller (handBack): one message fewer.
    const leases = borrowed?.handBack();
    const managers = connectedManagers();
    const managersKey = managers.length === 1 ? managers[0]! : managers.join(' ');
    const report = (): TaskReport => ({
      borrowed: leases?.borrowed ?? [],
      ...(leases === undefined || leases.returned.length === 0
        ? {}
        : { returned: leases.returned }),
      thread: threadId,
      managers,
    });
    if (outcome === undefined) {
      // Piscina posts errors by structured clone, which keeps only name, message and stack:
      // send an envelope instead, rebuilt by the pool with its code and cause chain.
      reportedManagers = managersKey;
      throw { [TASK_ERROR_KEY]: toErrorEnvelope(failure), [TASK_REPORT_KEY]: report() };
    }
    // A result goes back bare when there is nothing new to report: no lease to end, and the
    // managers this thread is connected to were reported already (a pool thread serves one
    // pool, which remembers them). A value that would read as a report is always wrapped.
    const news =
      (leases !== undefined && (leases.borrowed.length > 0 || leases.returned.length > 0)) ||
      managersKey !== reportedManagers ||
      reportOf(outcome.value) !== undefined;
    reportedManagers = managersKey;
    const reported = news ? { [TASK_REPORT_KEY]: report(), value: outcome.value } : outcome.value;
    if (outcome.transferList.length === 0) return reported;
    return Piscina.move(new EncodedResult(reported, outcome.transferList) as never);
  };
  Object.defineProperty(managedTask, taskSymbol, { value: true });
  return managedTask;
}

/**
 * Releases `proxies` (but the retained ones). Nothing to await: a borrowed proxy's release is
 * local, and a release that is a message leaves before the result does, since every post of
 * this thread (Piscina's, of the result) first posts its pending releases (the post guard of
 * @managers/core).
 */
function releaseAll(proxies: readonly BaseProxy[]): void {
  for (const proxy of new Set(proxies))
    if (!retained.has(proxy) && !proxy.released) proxy[Symbol.dispose]();
}
