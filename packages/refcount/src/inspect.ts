import type { DebugEntry } from './table';
import type { TraceEvent } from './trace';

/**
 * Objects that the jest matchers can look into implement this method: an object table,
 * a manager, or a proxy (which answers for its manager). It may return a promise.
 */
export const inspectSymbol: unique symbol = Symbol.for('@managers/inspect');

/** What `[inspectSymbol]()` returns: the live entries and the recent trace. */
export interface InspectSnapshot {
  readonly name: string;
  readonly entries: readonly DebugEntry[];
  readonly trace: readonly TraceEvent[];
}

/** Something the matchers can inspect. */
export interface Inspectable {
  [inspectSymbol](): InspectSnapshot | Promise<InspectSnapshot>;
}

/**
 * Proxies carry their object's id under this symbol, so matchers and tools that take an id
 * also take a proxy.
 */
export const objectIdSymbol: unique symbol = Symbol.for('@managers/object-id');
