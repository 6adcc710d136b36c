/**
 * Python's slices (`seq[start:stop:step]`) over a length: the same index adjustment as
 * CPython's `PySlice_AdjustIndices`, so that `getSlice(-3)`, `getSlice(null, null, -1)` and
 * `setSlice(5, 2, ['x'])` select what Python's `seq[-3:]`, `seq[::-1]` and `seq[5:2] = ['x']`
 * do.
 */
import type { ManagerError } from '@managers/core';
import { SyncErrorCode, syncError } from '../errors';

/** A slice resolved against a length: the selected indices are `start + k * step`, k < count. */
export interface ResolvedSlice {
  readonly start: number;
  readonly stop: number;
  readonly step: number;
  readonly count: number;
}

function bound(value: unknown, what: string, name: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: slice ${name} must be an integer, null or undefined, got ${typeof value === 'string' ? `'${value}'` : String(value)}`,
      { option: name },
    );
  }
  return value;
}

/** Resolves `start:stop:step` against `length` (Python's `slice.indices(length)` plus the count). */
export function resolveSlice(
  length: number,
  start: unknown,
  stop: unknown,
  step: unknown,
  what: string,
): ResolvedSlice {
  const by = bound(step, what, 'step') ?? 1;
  if (by === 0) {
    throw syncError(SyncErrorCode.InvalidOption, `${what}: slice step cannot be zero`, {
      option: 'step',
    });
  }
  const adjust = (value: number | null, fallback: number): number => {
    if (value === null) return fallback;
    if (value < 0) {
      const from = value + length;
      return from < 0 ? (by < 0 ? -1 : 0) : from;
    }
    return value >= length ? (by < 0 ? length - 1 : length) : value;
  };
  const first = adjust(bound(start, what, 'start'), by < 0 ? length - 1 : 0);
  const last = adjust(bound(stop, what, 'stop'), by < 0 ? -1 : length);
  let count = 0;
  if (by < 0 ? last < first : first < last) {
    count = Math.floor((Math.abs(last - first) - 1) / Math.abs(by)) + 1;
  }
  return { start: first, stop: last, step: by, count };
}

/** The indices a resolved slice selects, in slice order. */
export function sliceIndices(slice: ResolvedSlice): number[] {
  return Array.from({ length: slice.count }, (_, k) => slice.start + k * slice.step);
}

/** Python's ValueError for an extended slice given a sequence of another size. */
export function sliceSizeError(
  what: string,
  given: number,
  size: number,
  extended: boolean,
  note = '',
): ManagerError {
  return syncError(
    SyncErrorCode.SliceSize,
    `${what}: attempt to assign sequence of size ${given} to ${extended ? 'extended ' : ''}slice of size ${size}${note}`,
    { given, size },
  );
}

/** Checks that `values` is an array (what a proxy sends for any iterable). */
export function checkSequence(values: unknown, what: string): unknown[] {
  if (!Array.isArray(values)) {
    throw syncError(
      SyncErrorCode.InvalidOption,
      `${what}: values must be an array (or an iterable, through the proxy), got ${values === null ? 'null' : typeof values}`,
      { option: 'values' },
    );
  }
  return values;
}
