import type { TransferListItem } from '@managers/proxy';
import { forEachProxy, type BaseProxy } from '@managers/proxy';

/** The key of the envelope a task's error travels in (its name, message, code, stack and cause). */
export const TASK_ERROR_KEY = '@managers/task-error';
/**
 * The key under which a task's result (or error) reports what its thread did with the task's
 * loans: the leases it borrowed (it gives them back itself), its threadId and the managers it
 * is connected to (so the pool stops sending ports to it).
 */
export const TASK_REPORT_KEY = '@managers/task-report';

/**
 * The key of the wrapper a hosted pool puts around a task while a pool initializer is set:
 * `{ [POOL_INIT_KEY]: { name, args }, task }` (`args` encoded by the sending thread). The task
 * loader runs the initializer once per thread before that thread's first task.
 */
export const POOL_INIT_KEY = '@managers/pool-init';

/** What a task's thread reports with its result or error. */
export interface TaskReport {
  /** Leases the task's thread borrowed and gives back itself. */
  readonly borrowed: readonly string[];
  /** Leases it borrowed and left to the lender to end (every call answered). */
  readonly returned?: readonly string[];
  readonly thread: number;
  readonly managers: readonly string[];
}

/** The report inside a task result or error, if there is one. */
export function reportOf(value: unknown): TaskReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const report = (value as Record<string, unknown>)[TASK_REPORT_KEY];
  if (typeof report !== 'object' || report === null) return undefined;
  const { borrowed, returned, thread, managers } = report as Partial<TaskReport>;
  if (!Array.isArray(borrowed) || typeof thread !== 'number' || !Array.isArray(managers))
    return undefined;
  if (returned !== undefined && !Array.isArray(returned)) return undefined;
  return report as TaskReport;
}

/** A task result's value: the result itself, or the value its report's wrapper carries. */
export function resultValue(result: unknown, report = reportOf(result)): unknown {
  return report === undefined ? result : (result as { value: unknown }).value;
}

/** Piscina's transferable protocol (`Piscina.move()` and custom transferables). */
export const transferableSymbol = Symbol.for('Piscina.transferable');
/** Piscina's transferable protocol: the value that travels. */
export const valueSymbol = Symbol.for('Piscina.valueOf');

interface PiscinaTransferable {
  readonly [transferableSymbol]: unknown;
  readonly [valueSymbol]: unknown;
}

function isPiscinaTransferable(value: unknown): value is PiscinaTransferable {
  return (
    typeof value === 'object' &&
    value !== null &&
    transferableSymbol in value &&
    valueSymbol in value
  );
}

/** The transfer list of a value that is not a Piscina transferable (shared: never written to). */
const NO_TRANSFER = Object.freeze([]) as unknown as TransferListItem[];

/**
 * Unwraps a value given with `Piscina.move()` (or any object of Piscina's transferable
 * protocol) into its value and transfer list, so that the codec can walk the value itself.
 * Other values come back as they are, with an empty list.
 */
export function unwrapTransferable(value: unknown): {
  value: unknown;
  transferList: TransferListItem[];
} {
  if (!isPiscinaTransferable(value)) return { value, transferList: NO_TRANSFER };
  const items = value[transferableSymbol];
  return {
    value: value[valueSymbol],
    transferList: (Array.isArray(items) ? items : [items]) as TransferListItem[],
  };
}

/** `items` without duplicates (postMessage refuses a transfer list that names an item twice). */
export function uniqueTransferList(items: readonly TransferListItem[]): TransferListItem[] {
  return [...new Set(items)];
}

/** The proxies inside `value`, found where `encode()` finds them (each BaseProxy once). */
export function proxiesIn(value: unknown): BaseProxy[] {
  const found: BaseProxy[] = [];
  // Two proxies of one BaseProxy (an AutoProxy and its withCallOptions view) count once: a
  // search of the list for the few of most tasks, a Set past them.
  let seen: Set<BaseProxy> | undefined;
  forEachProxy(value, (proxy) => {
    if (seen === undefined && found.length < 16) {
      if (!found.includes(proxy)) found.push(proxy);
      return;
    }
    seen ??= new Set(found);
    if (seen.has(proxy)) return;
    seen.add(proxy);
    found.push(proxy);
  });
  return found;
}
