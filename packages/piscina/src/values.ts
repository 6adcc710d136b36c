import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { HANDLE_ENVELOPE_KEY, isProxy, PROXY_ENVELOPE_KEY, toBaseProxy } from '@managers/proxy';
import type { BaseProxy } from '@managers/proxy';

/** The key of the envelope a task's error travels in (its name, message, code, stack and cause). */
export const TASK_ERROR_KEY = '@managers/task-error';

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

/**
 * Unwraps a value given with `Piscina.move()` (or any object of Piscina's transferable
 * protocol) into its value and transfer list, so that the codec can walk the value itself.
 * Other values come back as they are, with an empty list.
 */
export function unwrapTransferable(value: unknown): {
  value: unknown;
  transferList: TransferListItem[];
} {
  if (!isPiscinaTransferable(value)) return { value, transferList: [] };
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

function tag(value: object): string {
  return Object.prototype.toString.call(value);
}

/**
 * Walks the containers the codec walks (arrays, Maps, Sets, plain objects) and calls `visit`
 * on every other object found in them.
 */
function walk(value: unknown, visit: (item: object) => boolean): void {
  const seen = new Set<object>();
  const step = (item: unknown): void => {
    if (typeof item !== 'object' || item === null || seen.has(item)) return;
    seen.add(item);
    if (visit(item)) return;
    if (Array.isArray(item)) return item.forEach(step);
    const kind = tag(item);
    if (kind === '[object Map]')
      return (item as Map<unknown, unknown>).forEach((v, k) => (step(k), step(v)));
    if (kind === '[object Set]') return (item as Set<unknown>).forEach(step);
    if (kind === '[object Object]')
      for (const key of Object.keys(item)) step((item as Record<string, unknown>)[key]);
  };
  step(value);
}

/** The proxies inside `value`, found where `encode()` finds them (each BaseProxy once). */
export function proxiesIn(value: unknown): BaseProxy[] {
  const found = new Set<BaseProxy>();
  walk(value, (item) => {
    if (!isProxy(item)) return false;
    found.add(toBaseProxy(item));
    return true;
  });
  return [...found];
}

/**
 * The handoff ports inside an encoded value: the ports of its proxy and handle envelopes.
 * When the value is never posted, closing them makes the server drop the references taken
 * for it (a port that is never started and is dropped is not closed by GC).
 */
export function handoffPortsIn(encoded: unknown): MessagePort[] {
  const ports = new Set<MessagePort>();
  walk(encoded, (item) => {
    const envelope = item as Record<string, unknown>;
    if (envelope[PROXY_ENVELOPE_KEY] !== 1 && envelope[HANDLE_ENVELOPE_KEY] !== 1) return false;
    if (envelope.port !== undefined) ports.add(envelope.port as MessagePort);
    return true;
  });
  return [...ports];
}
