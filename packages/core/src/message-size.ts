import { createManagerError, ErrorCode, type ManagerError } from '@managers/refcount';
import { isMarkedForTransfer, isProxy } from '@managers/proxy';

/** The default of the `maxMessageSize` start() option: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** What a primitive, a key or an object's own overhead counts for. */
const SMALL = 8;

function tag(value: object): string {
  return Object.prototype.toString.call(value);
}

function isShared(value: object): boolean {
  return tag(value) === '[object SharedArrayBuffer]';
}

/**
 * True when the structured clone of `values` would likely take more than `limit` bytes.
 * A cheap estimate, not a measure: strings count 2 bytes per character, buffers and typed
 * arrays their byteLength, anything else a few bytes; only objects are walked (a call with
 * flat primitive arguments costs a loop over them), each once, and the walk stops as soon
 * as the limit is passed. Proxies count as their envelope (they are never walked); buffers
 * marked with `transfer()` and shared memory count nothing (they are not copied).
 */
export function isLargerThan(values: readonly unknown[], limit: number): boolean {
  let size = 0;
  let stack: object[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') size += value.length * 2;
    else if (typeof value === 'object' && value !== null) (stack ??= []).push(value);
    else size += SMALL;
  }
  if (size > limit) return true;
  if (stack === undefined) return false;
  const seen = new Set<object>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') size += value.length * 2;
    else if (typeof value === 'object' && value !== null) stack!.push(value);
    else size += SMALL;
  };
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    size += SMALL;
    if (isProxy(value)) size += 64;
    else if (value instanceof ArrayBuffer || tag(value) === '[object ArrayBuffer]') {
      if (!isMarkedForTransfer(value)) size += (value as ArrayBuffer).byteLength;
    } else if (ArrayBuffer.isView(value)) {
      // Moved (transfer()) or shared memory is not copied.
      if (
        !isMarkedForTransfer(value) &&
        !isMarkedForTransfer(value.buffer) &&
        !isShared(value.buffer)
      )
        size += value.byteLength;
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length && size <= limit; i++) add(value[i]);
    } else if (value instanceof Map) {
      for (const [key, item] of value) {
        add(key);
        add(item);
        if (size > limit) break;
      }
    } else if (value instanceof Set) {
      for (const item of value) {
        add(item);
        if (size > limit) break;
      }
    } else if (value instanceof Error) {
      add(value.message);
      add(value.stack);
    } else if (!isShared(value)) {
      for (const key of Object.keys(value)) {
        size += key.length * 2;
        add((value as Record<string, unknown>)[key]);
        if (size > limit) break;
      }
    }
    if (size > limit) return true;
  }
  return false;
}

/**
 * The error of a message over the limit. `what` names it with its verb: "the arguments of
 * Toolbox.echo() are", "the result of Toolbox.echo() is".
 */
export function messageTooLarge(
  what: string,
  limit: number,
  details: Record<string, unknown> = {},
): ManagerError {
  return createManagerError(
    ErrorCode.MessageTooLarge,
    `${what} larger than maxMessageSize (${limit} bytes), not sent: raise the start() option maxMessageSize, or send less at once`,
    { details: { ...details, maxMessageSize: limit } },
  );
}
