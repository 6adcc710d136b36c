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
  /**
   * How many of the table's trace events, before the first one in `trace`, it does not show:
   * events from before the ring buffer was on, dropped by the ring, or hidden from this caller.
   * Absent when unknown. A matcher that asserts an event did *not* happen needs it to be 0.
   */
  readonly traceMissed?: number;
  /** The manager whose table this is (absent for a bare ObjectTable). */
  readonly managerId?: string;
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

/** Proxies carry the id of their manager under this symbol (the matchers check it against the table's). */
export const managerIdSymbol: unique symbol = Symbol.for('@managers/manager-id');
